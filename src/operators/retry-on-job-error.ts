import { asyncScheduler, defer, noop, timer, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { InvalidArgumentError } from '../com/errors.js';
import type { BitsJob } from '../com/job.js';
import type { JobEvent } from '../observables/events.js';
import { BitsJobError, type JobAttempt } from './bits-job-error.js';
import { exponentialBackoff } from './exponential-backoff.js';
import { isTransientJobError } from './is-transient-job-error.js';
import { follow, operate } from './operate.js';

export interface RetryOnJobErrorOptions {
  /** Retries before giving up. Default 3. */
  readonly count?: number;
  /**
   * Milliseconds before each retry, or a function of the attempt (1, 2, ...) and the error. Default:
   * exponential back-off with jitter, 1 s to 60 s. What the function throws fails the stream.
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
 * `job.resume()` that throws or rejects, fail the stream with that error.
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
        const wait = typeof delay === 'number' ? delay : delay(attempt, error);
        attempts.push({ ...failure, delay: wait });
        subscriber.next(event);
        resumeAfter(wait);
      },
    };
  });
}
