import path from 'node:path';
import { Observable, type Subscription } from 'rxjs';
import { requireSupport } from '../com/backend.js';
import { checkCredentials, type Credentials } from '../com/credentials.js';
import { InvalidArgumentError, ReplyTooLargeError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import type { BitsJob } from '../com/job.js';
import { checkLocalPath, checkRemoteUrl, checkUploadUrl, MAX_DISPLAY_NAME } from '../com/validate.js';
import { abandonJob, followJob, ownJob, type TransferSnapshot } from './follow-job.js';
import { checkTransferOptions, connectFor, jobPrefix, type TransferOptions } from './transfer-options.js';

/** What an upload ended with: the server's reply, for an upload-reply job (`reply: true`). */
export interface UploadResult {
  readonly jobId: Guid;
  /** The reply's bytes; undefined for a plain upload, a server that sent none, or a reply over 1 MiB. */
  readonly reply: Buffer | undefined;
  /** Where the reply file is (upload-reply jobs): it holds the whole reply, however large. */
  readonly replyFileName: string | undefined;
  /** Set when the reply was over 1 MiB, which BITS does not hand back in memory: its size; read the file. */
  readonly replyTooLarge?: number;
}

/** One moment of an upload; the last one carries the reply. */
export type UploadSnapshot = TransferSnapshot<UploadResult>;

export interface UploadOptions extends TransferOptions {
  /** Credentials for the server and the proxy (write-only; BITS 1.5+). */
  readonly credentials?: readonly Credentials[];
  /** An upload-reply job: the server's answer comes back in `done.reply`. Default false. */
  readonly reply?: boolean;
  /** Where the reply file goes (with `reply`); BITS picks a name beside the uploaded file otherwise. */
  readonly replyFileName?: string;
}

/**
 * Uploads one file as a BITS upload job (`reply: true`: an upload-reply job, whose server answers
 * with a reply) and reports progress until the job is complete; the last snapshot carries `done` with
 * the reply. BITS uploads to a server with the BITS server extension (IIS), one file per job, over
 * http(s). Unsubscribing cancels the job unless `persist` is set.
 *
 * Like `download()`, `upload()` never throws: every argument is checked on subscribe, before anything
 * connects, and a bad one errors the stream with an `InvalidArgumentError` naming it.
 *
 * @example
 * upload('C:\\logs\\crash.dmp', 'https://example.com/upload/crash.dmp', { reply: true })
 *   .subscribe((s) => s.done && console.log(s.done.reply?.toString()));
 */
export function upload(localPath: string, url: string, options?: UploadOptions): Observable<UploadSnapshot> {
  return new Observable<UploadSnapshot>((subscriber) => {
    // What this throws errors the subscriber: nothing is connected yet.
    const checked = checkUpload(localPath, url, options);
    const persist = checked.options.persist === true;
    let unsubscribed = false;
    let inner: Subscription | undefined;
    createUploadJob(checked).then(
      (job) => {
        if (unsubscribed) return void abandonJob(job, persist);
        inner = followUpload(job, checked.options).pipe(ownJob(job, persist)).subscribe(subscriber);
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      unsubscribed = true;
      inner?.unsubscribe();
    };
  });
}

interface CheckedUpload {
  readonly localPath: string;
  readonly url: string;
  readonly options: UploadOptions;
}

function checkUpload(localPath: unknown, url: unknown, given: unknown): CheckedUpload {
  const { options, backend, pathStyle } = checkTransferOptions<UploadOptions>(given);
  requireSupport(backend, 'upload jobs');
  const file = { localPath: checkLocalPath(localPath, 'localPath', pathStyle), url: checkUploadUrl(checkRemoteUrl(url, 'url', pathStyle), 'url') };
  if (options.credentials !== undefined) {
    if (!Array.isArray(options.credentials)) throw new InvalidArgumentError('credentials', 'expected an array of { target, scheme, userName, password }');
    options.credentials.forEach((credentials: unknown, index) => checkCredentials(credentials, `credentials[${index}]`));
  }
  if (options.reply !== undefined && typeof options.reply !== 'boolean') throw new InvalidArgumentError('reply', 'expected true or false');
  if (options.replyFileName !== undefined) {
    if (options.reply !== true) throw new InvalidArgumentError('replyFileName', 'needs reply: true (only upload-reply jobs have a reply)');
    checkLocalPath(options.replyFileName, 'replyFileName', pathStyle);
  }
  return { ...file, options };
}

async function createUploadJob({ localPath, url, options }: CheckedUpload): Promise<BitsJob> {
  const manager = options.manager ?? (await connectFor(options));
  try {
    const job = await manager.createJob({
      displayName: `${jobPrefix(options.appName ?? 'rx-bits')}${path[manager.runtime.pathStyle].basename(localPath)}`.slice(0, MAX_DISPLAY_NAME),
      type: options.reply === true ? 'uploadReply' : 'upload',
      files: [{ url, localPath }],
      ...(options.priority === undefined ? {} : { priority: options.priority }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
    try {
      for (const credentials of options.credentials ?? []) await job.setCredentials(credentials);
      if (options.replyFileName !== undefined) await job.setReplyFileName(options.replyFileName);
      return job;
    } catch (error) {
      await job.cancel().catch(() => undefined);
      await job.release();
      throw error;
    }
  } finally {
    if (options.manager === undefined) await manager.release();
  }
}

/** The reply, read while the job is TRANSFERRED: Complete ends the job. */
async function readReply(job: BitsJob): Promise<Omit<UploadResult, 'jobId'>> {
  try {
    const reply = await job.getReplyData();
    return { reply, replyFileName: await job.getReplyFileName() };
  } catch (error) {
    if (!(error instanceof ReplyTooLargeError)) throw error;
    return { reply: undefined, replyFileName: await job.getReplyFileName(), replyTooLarge: error.size };
  }
}

/** The reply, when asked for, is read while the job is transferred: Complete ends the job. */
function followUpload(job: BitsJob, options: UploadOptions): Observable<UploadSnapshot> {
  let reply: Omit<UploadResult, 'jobId'> = { reply: undefined, replyFileName: undefined };
  return followJob(job, {
    ...options,
    resume: true,
    ...(options.reply === true ? { beforeComplete: async () => void (reply = await readReply(job)) } : {}),
    done: () => ({ jobId: job.id, ...reply }),
  });
}
