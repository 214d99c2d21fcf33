import { concatMap, defer, EMPTY, filter, identity, ignoreElements, map, merge, Observable, share, takeUntil, tap, type OperatorFunction } from 'rxjs';
import type { JobState } from '../com/enums.js';
import type { Guid } from '../com/guid.js';
import type { BitsJob, JobErrorInfo, JobProgress } from '../com/job.js';
import { jobEvents$ } from '../observables/job-events.js';
import { BitsJobError } from '../operators/bits-job-error.js';
import { completeWhenTransferred, type CompletedJob } from '../operators/complete-when-transferred.js';
import { operate } from '../operators/operate.js';
import { ratioOf, secondsLeft } from '../operators/progress-of.js';
import { retryOnJobError } from '../operators/retry-on-job-error.js';
import { checkWindow, SlidingRate } from '../operators/sliding-rate.js';
import type { TransferOptions } from './transfer-options.js';

/** One moment of a transfer followed to its end; the last one carries `done`. */
export interface TransferSnapshot<Done> {
  readonly jobId: Guid;
  readonly state: JobState;
  readonly bytesTransferred: number;
  /** Undefined until the service knows the size. */
  readonly bytesTotal: number | undefined;
  readonly filesTransferred: number;
  readonly filesTotal: number;
  /** 0..1, undefined while the total is unknown. */
  readonly ratio: number | undefined;
  /** Bytes per second over the last few seconds, undefined until measurable. */
  readonly rate: number | undefined;
  /** Seconds left at that rate, undefined while unknown. */
  readonly eta: number | undefined;
  /** 1, then one more after each failure (retried by us, or transient and retried by the service). */
  readonly attempt: number;
  /** The failure that ended the previous attempt, if any. */
  readonly lastError?: JobErrorInfo;
  /** On the last snapshot: what the transfer ended with. */
  readonly done?: Done;
}

export interface FollowOptions<Done> extends Pick<TransferOptions, 'retry' | 'pollInterval' | 'rateWindow'> {
  /** Starts the job once the subscription is in place. */
  readonly resume: boolean;
  /** Runs while the job is transferred, before Complete ends it (an upload's reply is read then). */
  readonly beforeComplete?: () => Promise<void>;
  /** What the last snapshot's `done` holds, from the completed job. */
  readonly done: (completed: CompletedJob) => Done;
}

/**
 * Follows a job to its end: progress snapshots (from modification events and the backstop), retries
 * of failed attempts, Complete on transfer, and a last snapshot carrying `done`.
 */
export function followJob<Done>(job: BitsJob, options: FollowOptions<Done>): Observable<TransferSnapshot<Done>> {
  const window = checkWindow(options.rateWindow ?? 5000);
  return defer(() => {
    let attempt = 1;
    let lastError: JobErrorInfo | undefined;
    let last: TransferSnapshot<Done> | undefined;
    const rate = new SlidingRate(window);
    const { beforeComplete } = options;
    const events$ = jobEvents$(job, ['transferred', 'error', 'modification'], { pollInterval: options.pollInterval ?? 500 }).pipe(
      retryOnJobError(job, options.retry),
      tap((event) => {
        // Each failure that passes (retryOnJobError errors out on the last) starts another try, ours or the service's.
        if (event.type === 'error') {
          attempt++;
          lastError = event.error;
        }
      }),
      // Only with a hook: it makes every event wait its turn.
      beforeComplete === undefined
        ? identity
        : concatMap(async (event) => {
            if (event.type === 'transferred') await beforeComplete();
            return event;
          }),
      share(),
    );
    const snapshot = (state: JobState, progress: JobProgress, done?: Done): TransferSnapshot<Done> => {
      const perSecond = rate.sample(performance.now(), progress.bytesTransferred);
      last = {
        jobId: job.id,
        state,
        ...progress,
        ratio: ratioOf(progress),
        rate: perSecond,
        eta: secondsLeft(progress, perSecond),
        attempt,
        ...(lastError === undefined ? {} : { lastError }),
        ...(done === undefined ? {} : { done }),
      };
      return last;
    };
    const done$ = events$.pipe(completeWhenTransferred(job), share());
    const progress$ = events$.pipe(
      filter((event) => event.type === 'modification'),
      map((event) => snapshot(event.state, event.progress)),
      takeUntil(done$),
    );
    const finished$ = done$.pipe(
      map((done) => {
        const bytes = done.files.reduce((sum, file) => sum + file.bytesTransferred, 0);
        const total = last?.bytesTotal ?? (done.files.every((file) => file.bytesTotal !== undefined) ? done.files.reduce((sum, f) => sum + (f.bytesTotal ?? 0), 0) : undefined);
        const progress = { bytesTransferred: Math.max(bytes, last?.bytesTransferred ?? 0), bytesTotal: total, filesTotal: last?.filesTotal ?? done.files.length, filesTransferred: done.files.length };
        return snapshot('acknowledged', progress, options.done(done));
      }),
    );
    const start$ = options.resume ? defer(() => job.resume()).pipe(ignoreElements()) : EMPTY;
    return merge(progress$, finished$, start$);
  });
}

/**
 * Releases the job when its stream ends, cancelling it first if the transfer was not done, unless
 * persisting. A permanent failure (a {@link BitsJobError}) cancels it even then: kept, it would only
 * be found by the next resumePending() to fail the same way again.
 */
export function ownJob<T extends { readonly done?: unknown }>(job: BitsJob, persist: boolean): OperatorFunction<T, T> {
  return operate<T, T>((subscriber) => {
    let completed = false;
    let failed = false;
    return {
      next: (value) => {
        if (value.done !== undefined) completed = true;
        subscriber.next(value);
      },
      error: (cause) => {
        failed = cause instanceof BitsJobError;
        subscriber.error(cause);
      },
      finalize: () => void giveBack(job, completed || (persist && !failed)),
    };
  });
}

/**
 * The subscriber left while the job was being made: a persistent job is started before it is given
 * back, as it would have been had the subscriber stayed a moment longer; otherwise it is cancelled.
 */
export async function abandonJob(job: BitsJob, persist: boolean): Promise<void> {
  // Nobody is left to tell of a failure: a job that would not start is found by resumePending, suspended.
  if (persist) await job.resume().catch(() => undefined);
  await giveBack(job, persist);
}

/** Gives the job back: cancelled first unless it is to stay in the service. */
async function giveBack(job: BitsJob, keep: boolean): Promise<void> {
  if (!keep) await job.cancel().catch(() => undefined);
  await job.release();
}
