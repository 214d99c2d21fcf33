import path from 'node:path';
import { defer, EMPTY, filter, ignoreElements, map, merge, Observable, share, takeUntil, tap, type Subscription } from 'rxjs';
import type { Backend } from '../com/backend.js';
import type { JobPriority, JobState } from '../com/enums.js';
import { InvalidArgumentError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import type { BitsJob, FileSpec, JobErrorInfo, JobProgress } from '../com/job.js';
import { connect, type BitsManager } from '../com/manager.js';
import type { ComRuntime } from '../com/runtime.js';
import { jobEvents$ } from '../observables/job-events.js';
import { completeWhenTransferred, type CompletedJob } from '../operators/complete-when-transferred.js';
import { retryOnJobError, type RetryOnJobErrorOptions } from '../operators/retry-on-job-error.js';
import { ratioOf, secondsLeft } from '../operators/progress-of.js';
import { checkWindow, SlidingRate } from '../operators/sliding-rate.js';

/** One moment of a download. */
export interface DownloadSnapshot {
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
  /** On the last snapshot: the completed job, files at their destinations. */
  readonly done?: CompletedJob;
}

export interface DownloadOptions {
  /** A manager to use; otherwise one is connected for the job (and released once the job is made). */
  readonly manager?: BitsManager;
  readonly backend?: Backend;
  readonly runtime?: ComRuntime;
  /** Prefix of the job's display name, `<appName>: <file>`, by which `resumePending` finds it. Default `rx-bits`. */
  readonly appName?: string;
  readonly priority?: JobPriority;
  /** Custom HTTP request headers (BITS only; Delivery Optimization has none). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Retry policy for failed attempts (see `retryOnJobError`). Default: 3 retries with back-off. */
  readonly retry?: RetryOnJobErrorOptions;
  /** Leave the job running in the service when the subscriber leaves (to pick it up after a restart). Default false: cancel it. */
  readonly persist?: boolean;
  /** Backstop poll interval, ms. Default 500. */
  readonly pollInterval?: number;
  /** Window of the transfer rate, ms. Default 5,000. */
  readonly rateWindow?: number;
}

/** The display-name prefix of an app's jobs. */
export function jobPrefix(appName: string): string {
  return `${appName}: `;
}

/**
 * Follows a job to its end: progress snapshots (from modification events and the backstop), retries
 * of failed attempts, Complete on transfer, and a last snapshot carrying `done`. `resume` starts the
 * job once the subscription is in place.
 */
export function followDownload(job: BitsJob, options: DownloadOptions & { readonly resume: boolean }): Observable<DownloadSnapshot> {
  const window = checkWindow(options.rateWindow ?? 5000);
  return defer(() => {
    let attempt = 1;
    let lastError: JobErrorInfo | undefined;
    let last: DownloadSnapshot | undefined;
    const rate = new SlidingRate(window);
    const events$ = jobEvents$(job, ['transferred', 'error', 'modification'], { pollInterval: options.pollInterval ?? 500 }).pipe(
      retryOnJobError(job, options.retry),
      tap((event) => {
        // Each failure that passes (retryOnJobError errors out on the last) starts another try, ours or the service's.
        if (event.type === 'error') {
          attempt++;
          lastError = event.error;
        }
      }),
      share(),
    );
    const snapshot = (state: JobState, progress: JobProgress, done?: CompletedJob): DownloadSnapshot => {
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
        return snapshot('acknowledged', { bytesTransferred: Math.max(bytes, last?.bytesTransferred ?? 0), bytesTotal: total, filesTotal: last?.filesTotal ?? done.files.length, filesTransferred: done.files.length }, done);
      }),
    );
    const start$ = options.resume ? defer(() => job.resume()).pipe(ignoreElements()) : EMPTY;
    return merge(progress$, finished$, start$);
  });
}

/** Cancels (unless persisting) and releases the job when a download stream ends without completing. */
function owned(job: BitsJob, persist: boolean, inner: Observable<DownloadSnapshot>): Observable<DownloadSnapshot> {
  return new Observable<DownloadSnapshot>((subscriber) => {
    let completed = false;
    const subscription = inner.subscribe({
      next: (value) => {
        if (value.done !== undefined) completed = true;
        subscriber.next(value);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      subscription.unsubscribe();
      void release(job, completed || persist);
    };
  });
}

/** Gives the job back: cancelled first unless it is to stay in the service. */
async function release(job: BitsJob, keep: boolean): Promise<void> {
  if (!keep) await job.cancel().catch(() => undefined);
  await job.release();
}

/**
 * Downloads one file (`url`, `localPath`) or a list of files as one BITS job, and reports progress
 * until the files are at their destinations. Creates the job (named `<appName>: <file>`), attaches,
 * resumes, retries failed attempts, completes the job when transferred, then completes the stream.
 * Unsubscribing cancels the job unless `persist` is set; then the job keeps running in the service
 * and `resumePending` picks it up after a restart.
 *
 * @example
 * download('https://example.com/setup.exe', 'C:\\Temp\\setup.exe').subscribe((s) => console.log(s.ratio));
 */
export function download(url: string, localPath: string, options?: DownloadOptions): Observable<DownloadSnapshot>;
export function download(files: readonly FileSpec[], options?: DownloadOptions): Observable<DownloadSnapshot>;
export function download(
  source: string | readonly FileSpec[],
  destinationOrOptions?: string | DownloadOptions,
  maybeOptions?: DownloadOptions,
): Observable<DownloadSnapshot> {
  const files: readonly FileSpec[] =
    typeof source === 'string'
      ? [{ url: source, localPath: typeof destinationOrOptions === 'string' ? destinationOrOptions : '' }]
      : source;
  const options: DownloadOptions = (typeof source === 'string' ? maybeOptions : (destinationOrOptions as DownloadOptions | undefined)) ?? {};
  if (!Array.isArray(files) || files.length === 0) throw new InvalidArgumentError('files', 'expected one file or a non-empty list');
  const persist = options.persist === true;
  return new Observable<DownloadSnapshot>((subscriber) => {
    let unsubscribed = false;
    let inner: Subscription | undefined;
    createJob(files, options).then(
      (job) => {
        if (unsubscribed) return void release(job, persist);
        inner = owned(job, persist, followDownload(job, { ...options, resume: true })).subscribe(subscriber);
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      unsubscribed = true;
      inner?.unsubscribe();
    };
  });
}

async function createJob(files: readonly FileSpec[], options: DownloadOptions): Promise<BitsJob> {
  const manager = options.manager ?? (await connectFor(options));
  try {
    const more = files.length > 1 ? ` (+${files.length - 1})` : '';
    return await manager.createJob({
      displayName: `${jobPrefix(options.appName ?? 'rx-bits')}${path.basename(String(files[0]!.localPath))}${more}`,
      files,
      ...(options.priority === undefined ? {} : { priority: options.priority }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
  } finally {
    // The job holds its own reference; the manager is not needed past creation.
    if (options.manager === undefined) await manager.release();
  }
}

/** A connection for the options' backend and runtime. */
export function connectFor(options: Pick<DownloadOptions, 'backend' | 'runtime'>): Promise<BitsManager> {
  return connect({ ...(options.backend === undefined ? {} : { backend: options.backend }), ...(options.runtime === undefined ? {} : { runtime: options.runtime }) });
}
