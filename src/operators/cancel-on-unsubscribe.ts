import type { MonoTypeOperatorFunction } from 'rxjs';
import type { BitsJob } from '../com/job.js';
import { operate } from './operate.js';
import { checkJobMethods } from './option-checks.js';

/**
 * Cancels the job when the subscriber leaves before the stream has ended. An explicit opt-in:
 * unsubscribing from a job's Observables never cancels it otherwise. A job that already left the
 * queue has nothing to cancel, and the failure of that call is dropped (there is nobody left to tell).
 *
 * Once a value saying the job is TRANSFERRED has passed (a `transferred` event, a modification event
 * or snapshot with that state, or the state itself), leaving no longer cancels: the job's success
 * belongs to whoever completes it. That is what lets this operator sit before
 * `completeWhenTransferred`, which leaves upstream on that very event to call Complete.
 *
 * @example
 * const subscription = jobEvents$(job).pipe(cancelOnUnsubscribe(job), completeWhenTransferred(job)).subscribe();
 * subscription.unsubscribe(); // before the transfer ended: the download is cancelled
 */
export function cancelOnUnsubscribe<T>(job: Pick<BitsJob, 'cancel'>): MonoTypeOperatorFunction<T> {
  // Checked now: a wrong job would only fail on unsubscribe, thrown from finalize (an UnsubscriptionError nobody catches).
  checkJobMethods(job, 'job', ['cancel']);
  return operate<T, T>((subscriber) => {
    let keep = false;
    return {
      next: (value) => {
        if (reportsTransfer(value)) keep = true;
        subscriber.next(value);
      },
      error: (error) => {
        keep = true;
        subscriber.error(error);
      },
      complete: () => {
        keep = true;
        subscriber.complete();
      },
      finalize: () => {
        if (!keep) job.cancel().catch(() => undefined);
      },
    };
  });
}

/** Whether a value of a job's Observables says every file arrived. */
function reportsTransfer(value: unknown): boolean {
  if (value === 'transferred') return true;
  if (typeof value !== 'object' || value === null) return false;
  return ('type' in value && value.type === 'transferred') || ('state' in value && value.state === 'transferred');
}
