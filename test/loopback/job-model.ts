import { randomBytes } from 'node:crypto';
import { copyFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Guid } from '../../src/com/guid.js';
import {
  BG_E_EMPTY,
  BG_E_INVALID_STATE,
  BG_E_NETWORK_DISCONNECTED,
  BG_E_MAXDOWNLOAD_TIMEOUT,
  BG_E_TOO_MANY_FILES,
  BG_S_PARTIAL_COMPLETE,
  BG_S_UNABLE_TO_DELETE_FILES,
  E_ACCESSDENIED,
  E_UNEXPECTED,
  hresultByName,
  S_OK,
} from '../../src/com/hresult.js';
import { localSource, transferFile, TransferFailure, type Authentication, type TransferProgress } from './transfer.js';
import { checkServerCertificate } from './server-certificate.js';
import { IUnknown } from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import type { Pointer } from '../../src/com/native-types.js';
import { uploadFile } from './upload.js';
import { keepRanges, type LoopbackRange } from './ranges.js';
import { checkDownloadSize } from './download-size.js';
import { jobStateNumber } from '../../src/com/enums.js';

/** The loopback's model of one BITS job: its properties, its state machine and its transfer loop. */

const BG_E_VALIDATION_FAILED = hresultByName('BG_E_VALIDATION_FAILED')!;

/** BG_JOB_STATE values by name, from the library's one list of states. */
export const State = {
  QUEUED: jobStateNumber('queued'),
  CONNECTING: jobStateNumber('connecting'),
  TRANSFERRING: jobStateNumber('transferring'),
  SUSPENDED: jobStateNumber('suspended'),
  ERROR: jobStateNumber('error'),
  TRANSIENT_ERROR: jobStateNumber('transientError'),
  TRANSFERRED: jobStateNumber('transferred'),
  ACKNOWLEDGED: jobStateNumber('acknowledged'),
  CANCELLED: jobStateNumber('cancelled'),
} as const;

export interface FileModel {
  /** Changed by IBackgroundCopyJob3::ReplaceRemotePrefix. */
  url: string;
  readonly localPath: string;
  readonly tempPath: string;
  bytesTotal: number | undefined;
  bytesTransferred: number;
  completed: boolean;
  /** Moved to its local name by a partial Complete that kept the job (keepsPartlyCompletedJobs). */
  committed?: boolean;
  /** IBackgroundCopyJob3::AddFileWithRanges: only these are kept, back to back (ranges.ts). */
  readonly ranges?: readonly LoopbackRange[];
  /** The status line and headers of the server's last HTTP response for the file (IBackgroundCopyFile5's HTTP_RESPONSE_HEADERS). */
  responseHeaders?: string;
  /** IBackgroundCopyFile6::RequestFileRanges not yet in: once they are, the job stops (see {@link JobModel.requestedRangesIn}). */
  requested?: LoopbackRange[];
}

/** A user name and password as SetCredentials stored them (NULL for the logged-on user's). */
export interface Credential {
  readonly userName: string | null;
  readonly password: string | null;
}

/** BG_AUTH_TARGET and BG_AUTH_SCHEME as one key. */
export const credentialKey = (target: number, scheme: number): string => `${target}/${scheme}`;

/** BG_JOB_TYPE values. */
export const JobType = { DOWNLOAD: 0, UPLOAD: 1, UPLOAD_REPLY: 2 } as const;

export interface ErrorModel {
  readonly hresult: number;
  readonly context: number;
  readonly file: FileModel | undefined;
}

/** What a job tells the service's notifier. */
export interface JobEvents {
  modification(job: JobModel): void;
  fileTransferred(job: JobModel, file: FileModel): void;
  /** Bytes of ranges requested with RequestFileRanges arrived (IBackgroundCopyCallback3::FileRangesTransferred). */
  fileRangesTransferred(job: JobModel, file: FileModel, ranges: readonly LoopbackRange[]): void;
  transferred(job: JobModel): void;
  error(job: JobModel): void;
  /** The job left the queue (acknowledged or cancelled). */
  removed(job: JobModel): void;
}

export interface Faults {
  /** Transfer attempts still to fail with BG_E_NETWORK_DISCONNECTED (decremented per attempt). */
  disconnects: number;
  /** Cancel answers BG_S_UNABLE_TO_DELETE_FILES (Wine does so for errored jobs). */
  unableToDeleteFiles: boolean;
  /** Cancel fails with E_ACCESSDENIED and the job stays (BITS does so for another user's job). */
  cancelDenied: boolean;
  /**
   * The error count stays where it is whatever fails: "IBackgroundCopyJob::GetErrorCount" says the
   * count "may not accurately reflect the number of times the job moves to the transient error or
   * error state".
   */
  freezeErrorCount: boolean;
}

export interface JobModelOptions {
  /** Milliseconds per BITS second, for MinimumRetryDelay and NoProgressTimeout (1 makes 600 s last 600 ms). */
  readonly secondMs: number;
  /** Faults the test injects while the service runs. */
  readonly faults: Faults;
  /**
   * A Complete with files still missing moves those that arrived and keeps the job, answering
   * BG_S_PARTIAL_COMPLETE (recent Wine's dlls/qmgr/job.c); BITS acknowledges the job instead.
   */
  readonly keepsPartlyCompletedJobs: boolean;
  /**
   * When GetErrorCount moves. 'every-failure': on every failed attempt. 'documented', as
   * "IBackgroundCopyJob::GetErrorCount" has it: "The count increases when the job moves from the
   * BG_JOB_STATE_TRANSFERRING state to the BG_JOB_STATE_TRANSIENT_ERROR or BG_JOB_STATE_ERROR state"
   * and "BITS does not increase the count when network disconnects occur": a failure before the
   * attempt reached TRANSFERRING (a refused connection, a 404 answered before any byte), or a
   * BG_E_NETWORK_DISCONNECTED, leaves it unchanged.
   */
  readonly errorCount: 'every-failure' | 'documented';
  /**
   * Resume of a job with no file left to transfer (TRANSFERRED, or suspended after it). 'no-op'
   * answers S_OK; 'empty' answers BG_E_EMPTY, as Wine's dlls/qmgr/job.c (BackgroundCopyJob_Resume:
   * FilesTransferred == FilesTotal) does. Windows documents neither ("IBackgroundCopyJob::Resume"
   * lists BG_E_EMPTY as "There are no files to transfer").
   */
  readonly resumeWithNothingLeft: 'no-op' | 'empty';
  /** Resume of a job whose remaining files are all local copies them before it answers. */
  readonly transfersInResume: boolean;
}

const FINAL: readonly number[] = [State.ACKNOWLEDGED, State.CANCELLED];
/** "Life cycle of a BITS job": Resume leaves a job "currently in an action state" in that state. */
const ACTION: readonly number[] = [State.QUEUED, State.CONNECTING, State.TRANSFERRING];

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class JobModel {
  description = '';
  priority = 2;
  state: number = State.SUSPENDED;
  readonly files: FileModel[] = [];
  notifyFlags = 0x1 | 0x2;
  minimumRetryDelay = 600;
  noProgressTimeout = 1_209_600;
  errorCount = 0;
  error: ErrorModel | undefined;
  readonly created = new Date();
  modified = new Date();
  transferCompleted: Date | undefined;
  /** performance.now() when the job reached TRANSFERRED, for measuring how soon a client notices. */
  transferredAt: number | undefined;
  proxy = { usage: 0, list: '', bypass: '' };
  /** Custom request headers, CRLF-separated, as IBackgroundCopyJobHttpOptions stores them. */
  headers = '';
  /** IBackgroundCopyJobHttpOptions::SetSecurityFlags; accepted and kept, not acted on. */
  securityFlags = 0;
  /** IBackgroundCopyJobHttpOptions::SetClientCertificateByID / ByName; kept and answered, not presented (no TLS here). */
  clientCertificate: { readonly location: number; readonly storeName: string; readonly hash?: Buffer; readonly subjectName?: string } | undefined;
  /**
   * IBackgroundCopyJobHttpOptions2::SetHttpMethod; undefined for the default (GET, or BITS_POST for
   * uploads). A custom one makes every error of a transfer fatal ("SetHttpMethod": "An error that
   * would ordinarily be resumable ... transitions the job to an ERROR state").
   */
  httpMethod: string | undefined;
  /** IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly: GetCustomHeaders refuses from then on. */
  headersWriteOnly = false;
  /**
   * IBackgroundCopyJobHttpOptions3::SetServerCertificateValidationInterface: the callback, held with
   * one reference; "not persisted", and let go when the job leaves the queue.
   */
  certificateValidator: Pointer | undefined;

  /** Holds `validator` (a reference the caller gives), releasing the one held before. */
  holdCertificateValidator(validator: Pointer | undefined): void {
    const previous = this.certificateValidator;
    this.certificateValidator = validator;
    if (previous !== undefined) invokeSync(previous, IUnknown.method('Release'));
  }
  /** IBackgroundCopyJob2::SetNotifyCmdLine; empty strings while unset, as GetNotifyCmdLine answers them. */
  notifyCommandLine = { program: '', parameters: '' };
  /**
   * IBackgroundCopyJob2::SetCredentials, one entry per target and scheme (key {@link credentialKey}):
   * used by the transfer, answered to nobody (BITS has no getter).
   */
  readonly credentials = new Map<string, Credential>();
  /** Upload-reply jobs: the reply file's name, set by the client or chosen when the reply starts. */
  replyFileName: string | undefined;
  /** Upload-reply jobs: the server's reply, once it has arrived, and its progress meanwhile. */
  reply: Buffer | undefined;
  readonly replyProgress: { total: number | undefined; transferred: number } = { total: undefined, transferred: 0 };
  /** IBackgroundCopyJob3::SetFileACLFlags (BG_COPY_FILE_*); a new job copies none. */
  fileAclFlags = 0;
  /** IBackgroundCopyJob4::SetPeerCachingFlags (BG_JOB_ENABLE_PEERCACHING_*, BG_JOB_DISABLE_BRANCH_CACHE). */
  peerCachingFlags = 0;
  /** IBackgroundCopyJob4::SetMaximumDownloadTime, in BITS seconds: "The default is 7,776,000 seconds (90 days)". */
  maximumDownloadTime = 7_776_000;
  /** Whether the creating process was elevated (GetOwnerElevationState, GetOwnerIntegrityLevel). */
  ownerElevated = false;
  /** IBackgroundCopyJob5::SetProperty: each property's union bytes by BITS_JOB_PROPERTY_ID (job5.ts has the defaults). */
  readonly properties = new Map<number, Buffer>();
  /** Whether Resume was ever called: some Job5 properties are read-only from then on. */
  resumed = false;
  #downloadTimer: NodeJS.Timeout | undefined;
  #abort: AbortController | undefined;
  #lastProgress = Date.now();
  /** The running transfer loop, for tests that wait for the job to settle. */
  running: Promise<void> = Promise.resolve();

  constructor(
    readonly id: Guid,
    public displayName: string,
    readonly type: number,
    /** The SID of the user whose process created the job (GetOwner). */
    readonly owner: string,
    private readonly events: JobEvents,
    private readonly options: JobModelOptions,
  ) {}

  get final(): boolean {
    return FINAL.includes(this.state);
  }

  /** A property changed: JobModification, as BITS sends for property and progress changes. */
  touch(): void {
    this.modified = new Date();
    this.events.modification(this);
  }

  /**
   * A TRANSFERRED job takes more files: "Life cycle of a BITS job" says of it "You can also add more
   * files to transfer and call Resume()". Wine's AddFileSet checks no state at all.
   */
  addFile(url: string, localPath: string, ranges?: readonly LoopbackRange[]): number {
    if (this.final) return BG_E_INVALID_STATE;
    // "Upload jobs can only contain one file" (IBackgroundCopyJob::AddFile, BG_E_TOO_MANY_FILES).
    if (this.type !== JobType.DOWNLOAD && this.files.length > 0) return BG_E_TOO_MANY_FILES;
    const tempPath = path.join(path.dirname(localPath), `BIT${randomBytes(4).toString('hex').toUpperCase()}.tmp`);
    this.files.push({ url, localPath, tempPath, bytesTotal: undefined, bytesTransferred: 0, completed: false, ...(ranges === undefined ? {} : { ranges }) });
    this.touch();
    return S_OK;
  }

  resume(): number {
    if (this.final) return BG_E_INVALID_STATE;
    if (this.files.length === 0) return BG_E_EMPTY;
    const nothingLeft = this.files.every((file) => file.completed);
    if (nothingLeft && this.options.resumeWithNothingLeft === 'empty') return BG_E_EMPTY;
    if (ACTION.includes(this.state) || (nothingLeft && this.state === State.TRANSFERRED)) return S_OK;
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    this.#lastProgress = Date.now();
    this.resumed = true;
    this.#setState(State.QUEUED);
    this.#armDownloadTimer(abort);
    if (this.options.transfersInResume && this.#transferLocalFilesNow()) return S_OK;
    this.running = this.#run(abort.signal);
    return S_OK;
  }

  /**
   * "Life cycle of a BITS job": "As long as a job is not in a final state, you can call any of the
   * state-changing methods", and Suspend switches it to SUSPENDED (a TRANSFERRED job too).
   */
  suspend(): number {
    if (this.final) return BG_E_INVALID_STATE;
    this.#abort?.abort();
    if (this.state !== State.SUSPENDED) this.#setState(State.SUSPENDED);
    return S_OK;
  }

  /**
   * Cancel and Complete answer at once, as a COM method must; the transfer loop is stopped and the
   * temporary files are cleaned up behind (see {@link cleanup}).
   */
  cancel(): number {
    if (this.final) return BG_E_INVALID_STATE;
    if (this.options.faults.cancelDenied) return E_ACCESSDENIED;
    this.#finish(State.CANCELLED, []);
    return this.options.faults.unableToDeleteFiles ? BG_S_UNABLE_TO_DELETE_FILES : S_OK;
  }

  /** Moves every transferred file to its local name (before answering), drops the others. */
  complete(): number {
    if (this.final) return BG_E_INVALID_STATE;
    const done = this.files.filter((file) => file.completed);
    // An upload's local file is its source: nothing moves, but the reply file appears now.
    if (this.type !== JobType.DOWNLOAD) {
      if (this.reply !== undefined && this.replyFileName !== undefined) writeFileSync(this.replyFileName, this.reply);
    } else for (const file of done.filter((file) => !file.committed)) renameSync(file.tempPath, file.localPath);
    if (done.length < this.files.length && this.options.keepsPartlyCompletedJobs) {
      for (const file of done) file.committed = true;
      return BG_S_PARTIAL_COMPLETE;
    }
    this.#finish(State.ACKNOWLEDGED, done);
    return done.length === this.files.length ? S_OK : BG_S_PARTIAL_COMPLETE;
  }

  /**
   * IBackgroundCopyFile3::SetValidationState(FALSE): the job "moves to ERROR with
   * BG_E_VALIDATION_FAILED, progress reset; Resume downloads it again" (bits-com-extended.md, Job4 /
   * File3 / File4). The file's error context is REMOTE_FILE, as for any content the server sent.
   */
  invalidate(file: FileModel): void {
    this.#abort?.abort();
    file.completed = false;
    file.bytesTransferred = 0;
    this.error = { hresult: BG_E_VALIDATION_FAILED, context: 5, file };
    this.#setState(State.ERROR);
    this.events.error(this);
  }

  /**
   * "RequestFileRanges": once every requested range is in, the job is SUSPENDED, unless the whole
   * file is (then it goes on to TRANSFERRED). The loopback downloads from the start, so a range is in
   * once the bytes transferred reach its end.
   */
  requestedRangesIn(file: FileModel): void {
    const total = file.bytesTotal;
    if (file.requested === undefined || file.requested.length === 0 || total === undefined) return;
    const end = (range: LoopbackRange): number => (range.length === undefined ? total : range.offset + range.length);
    if (file.requested.some((range) => end(range) > file.bytesTransferred)) return;
    file.requested = [];
    if (file.bytesTransferred < total) this.suspend();
  }

  /**
   * The parts of the file's requested ranges that arrived since `before` bytes were in (the loopback
   * downloads from the start), reported as FileRangesTransferred reports "ranges completed since the
   * last call".
   */
  #requestedBytesArrived(file: FileModel, before: number): void {
    const total = file.bytesTotal;
    if (file.requested === undefined || total === undefined) return;
    const arrived = file.requested.flatMap((range): LoopbackRange[] => {
      const start = Math.max(range.offset, before);
      const end = Math.min(range.length === undefined ? total : range.offset + range.length, file.bytesTransferred);
      return end > start ? [{ offset: start, length: end - start }] : [];
    });
    if (arrived.length > 0) this.events.fileRangesTransferred(this, file, arrived);
  }

  /** Temporary-file cleanup after Cancel/Complete; resolves when it is done. */
  cleanup: Promise<void> = Promise.resolve();

  /**
   * "SetMaximumDownloadTime": a job still at it when its maximum download time has passed since the
   * Resume "enters the fatal error state with an error code of BG_E_MAXDOWNLOAD_TIMEOUT". Harder than
   * BITS, which counts only CONNECTING and TRANSFERRING: here QUEUED and TRANSIENT_ERROR count too.
   */
  #armDownloadTimer(attempt: AbortController): void {
    clearTimeout(this.#downloadTimer);
    this.#downloadTimer = setTimeout(() => {
      if (attempt.signal.aborted || (!ACTION.includes(this.state) && this.state !== State.TRANSIENT_ERROR)) return;
      attempt.abort();
      this.error = { hresult: BG_E_MAXDOWNLOAD_TIMEOUT, context: 2, file: undefined };
      this.#setState(State.ERROR);
      this.events.error(this);
    }, Math.min(this.maximumDownloadTime * this.options.secondMs, 0x7fffffff));
    this.#downloadTimer.unref();
  }

  #finish(state: number, kept: readonly FileModel[]): void {
    clearTimeout(this.#downloadTimer);
    this.holdCertificateValidator(undefined);
    this.#abort?.abort();
    this.state = state;
    this.modified = new Date();
    const leftovers = this.type === JobType.DOWNLOAD ? this.files.filter((file) => !kept.includes(file)) : [];
    this.cleanup = this.running.then(async () => {
      await Promise.all(leftovers.map((file) => rm(file.tempPath, { force: true })));
    });
    this.events.removed(this);
  }

  #setState(state: number): void {
    this.state = state;
    // JobModification is not fired for the transitions into ERROR or TRANSFERRED (the reference).
    if (state !== State.ERROR && state !== State.TRANSFERRED) this.touch();
    else this.modified = new Date();
  }

  /** Copies every remaining file at once if all are local and present; false leaves it to {@link #run}. */
  #transferLocalFilesNow(): boolean {
    if (this.type !== JobType.DOWNLOAD) return false;
    const remaining = this.files.filter((file) => !file.completed);
    const sources = remaining.map((file) => localSource(file.url));
    const isFile = (source: string | undefined): source is string => source !== undefined && statSync(source, { throwIfNoEntry: false })?.isFile() === true;
    if (!sources.every(isFile)) return false;
    this.#setState(State.CONNECTING);
    remaining.forEach((file, index) => {
      const source = sources[index]!;
      file.bytesTotal = statSync(source).size;
      if (this.state !== State.TRANSFERRING) this.#setState(State.TRANSFERRING);
      copyFileSync(source, file.tempPath);
      file.bytesTransferred = file.bytesTotal;
      this.#lastProgress = Date.now();
      this.touch();
      file.completed = true;
      this.events.fileTransferred(this, file);
    });
    this.#transferred();
    return true;
  }

  #transferred(): void {
    this.error = undefined;
    this.transferCompleted = new Date();
    this.transferredAt = performance.now();
    this.#setState(State.TRANSFERRED);
    this.events.transferred(this);
  }

  /** Uploads the job's one file; an upload-reply job then fetches the reply (progress in {@link replyProgress}). */
  async #upload(file: FileModel, signal: AbortSignal, progress: TransferProgress, auth: Authentication): Promise<void> {
    const reply = await uploadFile(file.url, file.localPath, this.headers, signal, progress, auth, this.type === JobType.UPLOAD_REPLY ? {
      started: (bytes) => {
        // "SetReplyFileName": BITS picks a name beside the upload file when none was set.
        this.replyFileName ??= path.join(path.dirname(file.localPath), `BIT${randomBytes(4).toString('hex').toUpperCase()}.tmp`);
        this.replyProgress.total = bytes;
        this.replyProgress.transferred = 0;
      },
      advance: (bytes) => {
        this.replyProgress.transferred += bytes;
      },
    } : undefined);
    if (reply !== undefined) {
      this.reply = reply;
      this.replyProgress.total = reply.length;
      this.replyProgress.transferred = reply.length;
    }
  }

  /** Whether the reply download began: SetReplyFileName is refused from then on. */
  get replyStarted(): boolean {
    return this.replyProgress.total !== undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#setState(State.CONNECTING);
      let current: FileModel | undefined;
      let reachedTransferring = false;
      try {
        for (const file of this.files) {
          if (file.completed) continue;
          current = file;
          if (this.options.faults.disconnects > 0) {
            this.options.faults.disconnects--;
            throw new TransferFailure(BG_E_NETWORK_DISCONNECTED, 6, true);
          }
          file.bytesTransferred = 0;
          const progress: TransferProgress = {
            responded: (headers) => {
              file.responseHeaders = headers;
            },
            connected: (bytes) => {
              file.bytesTotal = bytes;
              reachedTransferring = true;
              if (this.state !== State.TRANSFERRING) this.#setState(State.TRANSFERRING);
            },
            advance: (bytes) => {
              const before = file.bytesTransferred;
              file.bytesTransferred += bytes;
              this.#lastProgress = Date.now();
              this.touch();
              this.#requestedBytesArrived(file, before);
              this.requestedRangesIn(file);
            },
          };
          const auth = { server: this.credentials.get(credentialKey(1, 1)) };
          await checkServerCertificate(file.url, this.securityFlags, this.certificateValidator, signal);
          if (this.type === JobType.DOWNLOAD) await transferFile(file.url, file.tempPath, this.headers, signal, progress, auth, this.httpMethod);
          else await this.#upload(file, signal, progress, auth);
          if (file.ranges !== undefined) keepRanges(file, file.ranges);
          checkDownloadSize(this);
          if (signal.aborted) return;
          file.completed = true;
          this.events.fileTransferred(this, file);
        }
        this.#transferred();
        return;
      } catch (caught) {
        if (signal.aborted) return;
        const failure = caught instanceof TransferFailure ? caught : new TransferFailure(E_UNEXPECTED, 1, false);
        const counted = this.options.errorCount === 'every-failure' || (reachedTransferring && failure.hresult !== BG_E_NETWORK_DISCONNECTED);
        if (counted && !this.options.faults.freezeErrorCount) this.errorCount++;
        this.error = { hresult: failure.hresult, context: failure.context, file: current };
        const timeout = this.noProgressTimeout * this.options.secondMs;
        if (!failure.transient || this.httpMethod !== undefined || this.noProgressTimeout === 0 || Date.now() - this.#lastProgress > timeout) {
          this.#setState(State.ERROR);
          this.events.error(this);
          return;
        }
        this.#setState(State.TRANSIENT_ERROR);
        await sleep(this.minimumRetryDelay * this.options.secondMs, signal);
      }
    }
  }
}
