import { asyncScheduler, Observable, Subscription, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { InvalidArgumentError } from '../com/errors.js';
import type { BitsJob } from '../com/job.js';
import type { JobEvent } from '../observables/events.js';
import { BitsJobError, type JobAttempt } from './bits-job-error.js';
import { exponentialBackoff } from './exponential-backoff.js';
import { isTransientJobError } from './is-transient-job-error.js';

export interface RetryOnJobErrorOptions {
  /** Retries before giving up. Default 3. */
  readonly count?: number;
  /** Milliseconds before each retry, or a function of the attempt (1, 2, ...) and the error. Default: exponential back-off with jitter, 1 s to 60 s. */
  readonly delay?: number | ((attempt: number, error: BitsJobError) => number);
  /** Which errors are worth a retry. Default {@link isTransientJobError}. */
  readonly shouldRetry?: (error: BitsJobError) => boolean;
  /**
   * Milliseconds after which a job sitting in TRANSIENT_ERROR is resumed, instead of waiting for the
   * service's own retry (MinimumRetryDelay: 600 s by default). Default: leave it to the service.
   */
  readonly nudgeTransientAfter?: number;
  /** For tests. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Keeps a job going through failures: on an `error` event that `shouldRetry` accepts, waits `delay`
 * and calls `job.resume()`, passing the event on so a UI can say "retrying". After `count` retries,
 * or on an error not worth retrying, the stream errors with a {@link BitsJobError} that lists every
 * attempt. Transient errors (which the service retries by itself) pass through, and with
 * `nudgeTransientAfter` the job is resumed sooner.
 *
 * @example
 * jobEvents$(job).pipe(
 *   retryOnJobError(job, { count: 5 }),
 *   completeWhenTransferred(job),
 * ).subscribe({ next: (done) => console.log(done.files), error: (e: BitsJobError) => console.error(e.attempts) });
 */
export function retryOnJobError<T extends JobEvent>(
  job: Pick<BitsJob, 'resume'>,
  options: RetryOnJobErrorOptions = {},
): MonoTypeOperatorFunction<T> {
  const { count = 3, delay = exponentialBackoff(), shouldRetry = isTransientJobError, nudgeTransientAfter, scheduler = asyncScheduler } = options;
  if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError('count', `expected a whole number >= 0, got ${count}`);
  if (typeof delay === 'number' && !(delay >= 0)) throw new InvalidArgumentError('delay', `expected milliseconds >= 0, got ${delay}`);
  if (nudgeTransientAfter !== undefined && !(nudgeTransientAfter >= 0)) {
    throw new InvalidArgumentError('nudgeTransientAfter', `expected milliseconds >= 0, got ${nudgeTransientAfter}`);
  }
  return (source) =>
    new Observable<T>((subscriber) => {
      const attempts: JobAttempt[] = [];
      const timers = new Subscription();
      let nudge: Subscription | undefined;
      const resumeAfter = (ms: number): Subscription =>
        timer(ms, scheduler).subscribe(() => {
          job.resume().catch((error: unknown) => subscriber.error(error));
        });
      const stopNudge = (): void => {
        nudge?.unsubscribe();
        nudge = undefined;
      };

      const subscription = source.subscribe({
        next: (event) => {
          if (event.type !== 'error') {
            if (event.type === 'transferred' || (event.type === 'modification' && event.state !== 'transientError')) stopNudge();
            subscriber.next(event);
            return;
          }
          if (event.transient) {
            subscriber.next(event);
            if (nudgeTransientAfter !== undefined && nudge === undefined) {
              nudge = resumeAfter(nudgeTransientAfter);
              timers.add(nudge);
            }
            return;
          }
          const attempt = attempts.length + 1;
          const error = new BitsJobError(event, attempts);
          if (attempt > count || !shouldRetry(error)) {
            attempts.push({ attempt, code: event.error.code, hresult: event.error.hresult, delay: undefined });
            subscriber.error(new BitsJobError(event, attempts));
            return;
          }
          const wait = typeof delay === 'number' ? delay : delay(attempt, error);
          attempts.push({ attempt, code: event.error.code, hresult: event.error.hresult, delay: wait });
          subscriber.next(event);
          timers.add(resumeAfter(wait));
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        timers.unsubscribe();
      };
    });
}
