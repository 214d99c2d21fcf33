import { asyncScheduler, defer, noop, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import type { BitsFile } from '../com/bits-file.js';
import { InvalidArgumentError } from '../com/errors.js';
import type { BitsJob, JobFileInfo } from '../com/job.js';
import type { ComRuntime } from '../com/runtime.js';
import { checkObject, checkRemoteUrl } from '../com/validate.js';
import type { JobEvent } from '../observables/events.js';
import { BitsJobError, type JobAttempt } from './bits-job-error.js';
import { follow, operate } from './operate.js';
import { checkFunction, checkJobMethods, checkMilliseconds, checkScheduler } from './option-checks.js';

/** Each file's mirrors by its local path: the URLs to try, in order, after the one it has. */
export type Mirrors = Readonly<Record<string, readonly string[]>>;

export interface RetryOnMirrorsOptions {
  /**
   * Which failures move the failing file to its next mirror. The error names the file and lists the
   * attempts so far, this one last. What it throws fails the stream. Default: the remote file failed
   * (context `remoteFile`: an HTTP error such as 404, a missing file on a share).
   */
  readonly shouldMove?: (error: BitsJobError) => boolean;
  /** Milliseconds before the file is moved and the job resumed. Default 0. */
  readonly delay?: number;
  /** For tests. */
  readonly scheduler?: SchedulerLike;
}

/** What the operator needs of a job: its files (IBackgroundCopyFile2::SetRemoteName) and `resume()`. */
export interface MirroredJob extends Pick<BitsJob, 'resume'> {
  files(): Promise<ReadonlyArray<Pick<BitsFile, 'getInfo' | 'setRemoteName' | 'release'>>>;
}

const failedRemotely = (error: BitsJobError): boolean => error.context === 'remoteFile';

/**
 * Points the job's file that `failed` names (the same URL and local path) at `url`, releasing every
 * file reference; false when the job no longer has that file.
 */
async function moveFile(job: MirroredJob, failed: JobFileInfo, url: string): Promise<boolean> {
  const files = await job.files();
  try {
    for (const file of files) {
      const info = await file.getInfo();
      if (info.localPath === failed.localPath && info.url === failed.url) {
        await file.setRemoteName(url);
        return true;
      }
    }
    return false;
  } finally {
    await Promise.all(files.map((file) => file.release()));
  }
}

/**
 * How the job's service reads a remote name that is a path: a BitsJob knows its runtime; a stand-in
 * without one (tests, wrappers) is taken to run where this process does.
 */
function pathStyleOf(job: MirroredJob): ComRuntime['pathStyle'] {
  const style = (job as { readonly runtime?: Partial<ComRuntime> }).runtime?.pathStyle;
  if (style === 'win32' || style === 'posix') return style;
  return process.platform === 'win32' ? 'win32' : 'posix';
}

/**
 * The mirrors, checked when the operator is made: an object of lists of URLs, each one what
 * setRemoteName takes (its own check), so that a mirror it would refuse fails now, not after the job failed.
 */
function checkMirrors(mirrors: unknown, style: ComRuntime['pathStyle']): Mirrors {
  if (typeof mirrors !== 'object' || mirrors === null || Array.isArray(mirrors)) throw new InvalidArgumentError('mirrors', 'expected { [localPath]: [url, ...] }');
  for (const [localPath, urls] of Object.entries(mirrors)) {
    if (!Array.isArray(urls)) throw new InvalidArgumentError(`mirrors['${localPath}']`, 'expected an array of URLs');
    urls.forEach((url: unknown, index) => checkRemoteUrl(url, `mirrors['${localPath}'][${index}]`, style));
  }
  return mirrors as Mirrors;
}

/**
 * Moves a file that fails to the next of its mirrors: on an `error` event naming a file that
 * `shouldMove` accepts, calls IBackgroundCopyFile2::SetRemoteName on that file with the next URL of
 * its list and resumes the job, passing the event on so a UI can say "trying another mirror". Once a
 * file's list is exhausted, or on an error it does not move for, the stream errors with a
 * {@link BitsJobError} listing every attempt, as `retryOnJobError` does. Transient errors (the
 * service retries those) pass through. A move or resume that fails fails the stream with its error;
 * on a service without IBackgroundCopyFile2 that is an InterfaceNotSupportedError.
 *
 * @example
 * jobEvents$(job).pipe(
 *   retryOnMirrors(job, { 'C:\\Temp\\app.msi': ['https://mirror-b.example/app.msi', 'https://mirror-c.example/app.msi'] }),
 *   completeWhenTransferred(job),
 * ).subscribe({ error: (e: BitsJobError) => console.error(e.attempts) });
 */
export function retryOnMirrors<T extends JobEvent>(job: MirroredJob, mirrors: Mirrors, options: RetryOnMirrorsOptions = {}): MonoTypeOperatorFunction<T> {
  // Checked now, not at the first error.
  checkJobMethods(job, 'job', ['files', 'resume']);
  const lists = checkMirrors(mirrors, pathStyleOf(job));
  checkObject(options, 'options', 'an object of options');
  const { shouldMove = failedRemotely, delay = 0, scheduler = asyncScheduler } = options;
  checkFunction(shouldMove, 'shouldMove', '(error) => boolean');
  checkMilliseconds(delay, 'delay');
  checkScheduler(scheduler, 'scheduler');
  return operate<T, T>((subscriber) => {
    const attempts: JobAttempt[] = [];
    // How many of each file's mirrors were used, by local path.
    const used = new Map<string, number>();
    return {
      next: (event) => {
        if (event.type !== 'error' || event.transient) {
          subscriber.next(event);
          return;
        }
        const failure = { attempt: attempts.length + 1, code: event.error.code, hresult: event.error.hresult };
        const error = new BitsJobError(event, [...attempts, { ...failure, delay: undefined }]);
        const file = event.error.file;
        const next = file === undefined || !Object.hasOwn(lists, file.localPath) ? undefined : lists[file.localPath]![used.get(file.localPath) ?? 0];
        if (file === undefined || next === undefined || !shouldMove(error)) {
          subscriber.error(error);
          return;
        }
        used.set(file.localPath, (used.get(file.localPath) ?? 0) + 1);
        attempts.push({ ...failure, delay });
        subscriber.next(event);
        const moveAndResume = defer(async () => {
          // A file someone else moved or removed meanwhile: the failure stands.
          if (!(await moveFile(job, file, next))) throw error;
          // A subscriber that left meanwhile left the job as it is: moved, not resumed.
          if (!subscriber.closed) await job.resume();
        });
        follow(subscriber, timer(delay, scheduler), { next: () => follow(subscriber, moveAndResume, { next: noop, complete: noop }), complete: noop });
      },
    };
  });
}
