import path from 'node:path';
import { defer, EMPTY, filter, ignoreElements, map, merge, Observable, share, takeUntil, tap, type Subscription } from 'rxjs';
import { BACKENDS, requireSupport, type Backend } from '../com/backend.js';
import type { JobPriority, JobState } from '../com/enums.js';
import { InvalidArgumentError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import type { BitsJob, FileSpec, JobErrorInfo, JobProgress } from '../com/job.js';
import { BitsManager, connect } from '../com/manager.js';
import { defaultRuntime, type ComRuntime } from '../com/runtime.js';
import { checkFileSpec, checkFiles, checkHeaders, checkPriority, checkString, MAX_DISPLAY_NAME } from '../com/validate.js';
import { checkHubOptions } from '../observables/hub.js';
import { jobEvents$ } from '../observables/job-events.js';
import { completeWhenTransferred, type CompletedJob } from '../operators/complete-when-transferred.js';
import { operate } from '../operators/operate.js';
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
  /** As connect()'s: omitted, BITS on Windows (the portable engine when BITS refuses), the portable engine elsewhere. */
  readonly backend?: Backend;
  readonly runtime?: ComRuntime;
  /** The portable engine's state directory (connect()'s `stateDir`). */
  readonly stateDir?: string;
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
  return inner.pipe(
    operate<DownloadSnapshot, DownloadSnapshot>((subscriber) => {
      let completed = false;
      return {
        next: (value) => {
          if (value.done !== undefined) completed = true;
          subscriber.next(value);
        },
        finalize: () => void release(job, completed || persist),
      };
    }),
  );
}

/**
 * The subscriber left while the job was being made: a persistent job is started before it is given
 * back, as it would have been had the subscriber stayed a moment longer; otherwise it is cancelled.
 */
async function abandon(job: BitsJob, persist: boolean): Promise<void> {
  // Nobody is left to tell of a failure: a job that would not start is found by resumePending, suspended.
  if (persist) await job.resume().catch(() => undefined);
  await release(job, persist);
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
 * `download()` itself never throws. Every argument is checked on subscribe, before anything connects:
 * a bad one errors the stream with an `InvalidArgumentError` naming it (`files[0].localPath`, also for
 * the one-file form, `retry.count`), an option the backend lacks with a `NotSupportedByBackendError`, and nothing was
 * connected or created.
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
  return new Observable<DownloadSnapshot>((subscriber) => {
    // What this throws errors the subscriber: nothing is connected yet.
    const { files, options } = checkDownload(source, destinationOrOptions, maybeOptions);
    const persist = options.persist === true;
    let unsubscribed = false;
    let inner: Subscription | undefined;
    createJob(files, options).then(
      (job) => {
        if (unsubscribed) return void abandon(job, persist);
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

/**
 * Options as checked by {@link checkDownload}, and what the files are checked against: the backend
 * the job will most likely be made on and its path style. `options.backend` itself is left as given,
 * so that connect() still chooses (and falls back) when none was named.
 */
interface CheckedOptions {
  readonly options: DownloadOptions;
  readonly backend: Backend;
  readonly pathStyle: ComRuntime['pathStyle'];
}

/** download()'s arguments, every one checked: the files as the backend and its path style take them, and the options. */
function checkDownload(source: unknown, destinationOrOptions: unknown, maybeOptions: unknown): { files: FileSpec[]; options: DownloadOptions } {
  const single = typeof source === 'string';
  const { options, backend, pathStyle } = checkOptions(single ? maybeOptions : destinationOrOptions);
  const files = single
    ? [checkFileSpec({ url: source, localPath: destinationOrOptions }, 'files[0]', pathStyle, backend)]
    : checkFiles(source, 'files', pathStyle, backend);
  if (files.length === 0) throw new InvalidArgumentError('files', 'expected one file or a non-empty list');
  return { files, options };
}

/** The backend connect() would take without asking the service, and how its paths look. */
function expectedBackend(options: DownloadOptions): Omit<CheckedOptions, 'options'> {
  const { manager } = options;
  if (manager !== undefined) return { backend: manager.backend, pathStyle: manager.runtime.pathStyle };
  const local = process.platform === 'win32' ? 'win32' : 'posix';
  if (options.backend === 'portable' && options.runtime === undefined) return { backend: 'portable', pathStyle: local };
  if (options.backend === undefined && options.runtime === undefined && process.platform !== 'win32') return { backend: 'portable', pathStyle: local };
  // Looking up the default runtime (ole32) starts nothing; on another platform it says so here.
  return { backend: options.backend ?? 'bits', pathStyle: (options.runtime ?? defaultRuntime()).pathStyle };
}

/**
 * Stands in for the job while `retryOnJobError` checks the retry options: it checks them when called
 * and calls `resume` only once subscribed, so nothing reaches this.
 */
const NO_JOB: Pick<BitsJob, 'resume'> = { resume: () => Promise.reject(new Error('only checking retry options')) };

function checkOptions(value: unknown): CheckedOptions {
  const options = (value ?? {}) as DownloadOptions;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidArgumentError('options', 'expected an object');
  const { manager } = options;
  if (manager !== undefined && !(manager instanceof BitsManager)) throw new InvalidArgumentError('manager', 'expected a BitsManager (from connect())');
  if (options.backend !== undefined && !BACKENDS.includes(options.backend)) {
    throw new InvalidArgumentError('backend', `unknown backend '${String(options.backend)}'; expected one of ${BACKENDS.join(', ')}`);
  }
  if (options.stateDir !== undefined) checkString(options.stateDir, 'stateDir', { maxLength: 4096 });
  const { backend, pathStyle } = expectedBackend(options);
  if (options.appName !== undefined) checkString(options.appName, 'appName', { maxLength: MAX_DISPLAY_NAME - jobPrefix('').length });
  if (options.priority !== undefined) checkPriority(options.priority, 'priority');
  if (options.headers !== undefined) {
    checkHeaders(options.headers, 'headers');
    requireSupport(backend, 'custom headers');
  }
  if (options.persist !== undefined && typeof options.persist !== 'boolean') throw new InvalidArgumentError('persist', 'expected true or false');
  if (options.pollInterval !== undefined) checkHubOptions({ pollInterval: options.pollInterval });
  const { rateWindow, retry } = options;
  if (rateWindow !== undefined) renamed(() => 'rateWindow', () => checkWindow(rateWindow));
  if (retry !== undefined) {
    if (typeof retry !== 'object' || retry === null) throw new InvalidArgumentError('retry', 'expected an object of retry options');
    renamed((field) => `retry.${field}`, () => retryOnJobError(NO_JOB, retry));
  }
  return { options, backend, pathStyle };
}

/** Runs a check written for another API, naming the field as download()'s options do. */
function renamed(name: (field: string) => string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    throw error instanceof InvalidArgumentError ? new InvalidArgumentError(name(error.field), error.problem) : error;
  }
}

async function createJob(files: readonly FileSpec[], options: DownloadOptions): Promise<BitsJob> {
  const manager = options.manager ?? (await connectFor(options));
  try {
    const more = files.length > 1 ? ` (+${files.length - 1})` : '';
    const name = path[manager.runtime.pathStyle].basename(files[0]!.localPath);
    return await manager.createJob({
      // Only the prefix matters (resumePending looks for it): a long file name is cut to fit.
      displayName: `${jobPrefix(options.appName ?? 'rx-bits')}${name}${more}`.slice(0, MAX_DISPLAY_NAME),
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
export function connectFor(options: Pick<DownloadOptions, 'backend' | 'runtime' | 'stateDir'>): Promise<BitsManager> {
  return connect({
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
  });
}
