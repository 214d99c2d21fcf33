import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { BitsJob } from '../com/job.js';

/**
 * Cancels the job when the subscriber leaves before the stream has ended. An explicit opt-in:
 * unsubscribing from a job's Observables never cancels it otherwise. A job that already left the
 * queue has nothing to cancel, and the failure of that call is dropped (there is nobody left to tell).
 *
 * @example
 * const subscription = jobEvents$(job).pipe(cancelOnUnsubscribe(job)).subscribe();
 * subscription.unsubscribe(); // the download is cancelled
 */
export function cancelOnUnsubscribe<T>(job: Pick<BitsJob, 'cancel'>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let ended = false;
      const subscription = source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          ended = true;
          subscriber.error(error);
        },
        complete: () => {
          ended = true;
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        if (!ended) job.cancel().catch(() => undefined);
      };
    });
}
