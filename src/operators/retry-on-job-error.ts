import { asyncScheduler, defer, noop, timer, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { BitsJob } from '../com/job.js';
import { checkObject } from '../com/validate.js';
import type { JobEvent } from '../observables/events.js';
import { BitsJobError, type JobAttempt } from './bits-job-error.js';
import { exponentialBackoff } from './exponential-backoff.js';
import { isTransientJobError } from './is-transient-job-error.js';
import { follow, operate } from './operate.js';
import { checkCount, checkFunction, checkJobMethods, checkMilliseconds, checkScheduler } from './option-checks.js';

export interface RetryOnJobErrorOptions {
  /** Retries before giving up. Default 3. */
  readonly count?: number;
  /**
   * Milliseconds before each retry, or a function of the attempt (1, 2, ...) and the error. Default:
   * exponential back-off with jitter, 1 s to 60 s. At most 2,147,483,647 (setTimeout's limit). What
   * the function throws fails the stream, and so does an answer that is not such a number (an
   * `InvalidArgumentError` naming `delay`).
   */
  readonly delay?: number | ((attempt: number, error: BitsJobError) => number);
  /**
   * Which errors are worth a retry. The error lists the attempts so far, this one last. What it
   * throws fails the stream. Default {@link isTransientJobError}.
   */
  readonly shouldRetry?: (error: BitsJobError) => boolean;
  /**
   * Milliseconds after which a job sitting in TRANSIENT_ERROR is resumed, instead of waiting for the
   * service's own retry (MinimumRetryDelay: 600 s by default). Each stay in TRANSIENT_ERROR gets one
   * nudge; a stay ends when the nudge fires, or on `transferred`, a modification to another state or
   * an ERROR. Default: leave it to the service.
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
 * `nudgeTransientAfter` the job is resumed sooner. A `shouldRetry` or `delay` that throws, and a
 * `job.resume()` that throws or rejects, fail the stream with that error. Every option is checked
 * when the operator is made: a wrong one throws an `InvalidArgumentError` naming it (`delay`,
 * `shouldRetry`...).
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
  // Checked now, not at the first error (download() and upload() call this on subscribe to check their `retry`).
  checkJobMethods(job, 'job', ['resume']);
  checkObject(options, 'options', 'an object of options');
  const { count = 3, delay = exponentialBackoff(), shouldRetry = isTransientJobError, nudgeTransientAfter, scheduler = asyncScheduler } = options;
  checkCount(count, 'count');
  if (typeof delay !== 'function') checkMilliseconds(delay, 'delay', 'a function (attempt, error) => milliseconds');
  checkFunction(shouldRetry, 'shouldRetry', '(error) => boolean');
  if (nudgeTransientAfter !== undefined) checkMilliseconds(nudgeTransientAfter, 'nudgeTransientAfter');
  checkScheduler(scheduler, 'scheduler');
  return operate<T, T>((subscriber) => {
    const attempts: JobAttempt[] = [];
    // The nudge of the current stay in TRANSIENT_ERROR. Closed once the stay is over: its timer
    // fired (our own resume ends the stay), or the job moved on first.
    let nudge: Subscription | undefined;
    // A resume that throws or rejects fails the stream: the job would sit there with nobody told.
    const resume = (): void => {
      follow(subscriber, defer(() => job.resume()), { next: noop, complete: noop });
    };
    const resumeAfter = (ms: number): Subscription => follow(subscriber, timer(ms, scheduler), { next: resume, complete: noop });

    return {
      next: (event) => {
        if (event.type !== 'error') {
          if (event.type === 'transferred' || (event.type === 'modification' && event.state !== 'transientError')) nudge?.unsubscribe();
          subscriber.next(event);
          return;
        }
        if (event.transient) {
          subscriber.next(event);
          // One nudge per stay, however often the stay is reported (callback and backstop).
          if (nudgeTransientAfter !== undefined && (nudge === undefined || nudge.closed)) nudge = resumeAfter(nudgeTransientAfter);
          return;
        }
        // ERROR ends a stay in TRANSIENT_ERROR: resuming is now the retry's business, not the nudge's.
        nudge?.unsubscribe();
        const attempt = attempts.length + 1;
        const failure = { attempt, code: event.error.code, hresult: event.error.hresult };
        // Every attempt so far, this one last (no delay yet): the error the subscriber gets if this is the end.
        const error = new BitsJobError(event, [...attempts, { ...failure, delay: undefined }]);
        if (attempt > count || !shouldRetry(error)) {
          subscriber.error(error);
          return;
        }
        // What a delay function answers is checked as the number would have been (this fails the stream).
        const wait = typeof delay === 'number' ? delay : checkMilliseconds(delay(attempt, error), 'delay');
        attempts.push({ ...failure, delay: wait });
        subscriber.next(event);
        resumeAfter(wait);
      },
    };
  });
}
