import path from 'node:path';
import { Observable, type Subscription } from 'rxjs';
import type { BitsJob, FileSpec } from '../com/job.js';
import { InvalidArgumentError } from '../com/errors.js';
import { checkFileSpec, checkFiles, MAX_DISPLAY_NAME } from '../com/validate.js';
import type { CompletedJob } from '../operators/complete-when-transferred.js';
import { abandonJob, followJob, ownJob, type TransferSnapshot } from './follow-job.js';
import { checkTransferOptions, connectFor, jobPrefix, type TransferOptions } from './transfer-options.js';

/** One moment of a download; the last one carries the completed job, files at their destinations. */
export type DownloadSnapshot = TransferSnapshot<CompletedJob>;

export type DownloadOptions = TransferOptions;

/**
 * Follows a job to its end: progress snapshots (from modification events and the backstop), retries
 * of failed attempts, Complete on transfer, and a last snapshot carrying `done`. `resume` starts the
 * job once the subscription is in place.
 */
export function followDownload(job: BitsJob, options: DownloadOptions & { readonly resume: boolean }): Observable<DownloadSnapshot> {
  return followJob(job, { ...options, done: (completed) => completed });
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
    createDownloadJob(files, options).then(
      (job) => {
        if (unsubscribed) return void abandonJob(job, persist);
        inner = followDownload(job, { ...options, resume: true }).pipe(ownJob(job, persist)).subscribe(subscriber);
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      unsubscribed = true;
      inner?.unsubscribe();
    };
  });
}

/** download()'s arguments, every one checked: the files as the backend and its path style take them, and the options. */
function checkDownload(source: unknown, destinationOrOptions: unknown, maybeOptions: unknown): { files: FileSpec[]; options: DownloadOptions } {
  const single = typeof source === 'string';
  const { options, backend, pathStyle } = checkTransferOptions<DownloadOptions>(single ? maybeOptions : destinationOrOptions);
  const files = single
    ? [checkFileSpec({ url: source, localPath: destinationOrOptions }, 'files[0]', pathStyle, backend)]
    : checkFiles(source, 'files', pathStyle, backend);
  if (files.length === 0) throw new InvalidArgumentError('files', 'expected one file or a non-empty list');
  return { files, options };
}

/** Creates download()'s job (named `<appName>: <file>`, as resumePending finds it), without following it. */
export async function createDownloadJob(files: readonly FileSpec[], options: DownloadOptions): Promise<BitsJob> {
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
