import type { ErrorContext, JobState } from '../com/enums.js';
import type { Guid } from '../com/guid.js';
import { httpStatusOf, hresultMessage, formatHresult } from '../com/hresult.js';

/** E_ABORT: a download DO ended by itself without saying why. */
const E_ABORT = 0x80004004;
import type { DoState } from '../com/do-interfaces.js';
import type { StatusCallback } from '../com/status-callback.js';
import type { ErrorRecord } from '../engine/job-record.js';
import type { DoDownload, DoStatus } from './download.js';
import type { DeliveryOptimizationOptions } from './options.js';

/**
 * A BITS-shaped job of the Delivery Optimization bridge: one DO download per file, and the cached
 * model every BITS-facing method answers from at once. Its BITS state is derived from its
 * downloads' DO states (bitsStateOf), never stored twice.
 */

export interface BridgeFile {
  readonly url: string;
  readonly localPath: string;
  /** The place of the file in its job, carried in the download's DisplayName. */
  readonly index: number;
  /** DO's ContentId and TotalSizeBytes, when the caller gave them (FileSpec's fileId and size). */
  readonly contentId: string | undefined;
  readonly size: number | undefined;
  /** The download, once CreateDownload answered (undefined before, or when it failed). */
  download: DoDownload | undefined;
  /** Our IDODownloadStatusCallback on it. */
  callback: StatusCallback | undefined;
  /** DO's view of it, from OnStatusChange or GetStatus. */
  status: DoStatus;
  /** Whether a Start was made: the first asks for the whole file, later ones are Start(NULL). */
  started: boolean;
  /** Until transferred, as BITS reports it: 0 from DO means unknown. */
  get bytesTotal(): number | undefined;
  get bytesTransferred(): number;
  get completed(): boolean;
}

/** A DO command that failed for the job (CreateDownload, SetProperty, Start, Finalize...). */
export interface CommandFailure extends ErrorRecord {
  readonly transient: boolean;
}

export interface BridgeJob {
  readonly id: Guid;
  displayName: string;
  description: string;
  /** BG_JOB_PRIORITY: 0 foreground (DO's ForegroundPriority), else background. */
  priority: number;
  notifyFlags: number;
  /** Seconds; 0 makes every error final, as in BITS (the bridge applies it: DO's own minimum is 60). */
  noProgressTimeout: number;
  readonly owner: string;
  readonly created: Date;
  modified: Date;
  transferCompleted: Date | undefined;
  readonly files: BridgeFile[];
  /** New jobs are suspended, as BITS's; Resume clears it, Suspend sets it. */
  suspended: boolean;
  /** Set once the job left the queue (Complete, Cancel). */
  final: 'acknowledged' | 'cancelled' | undefined;
  failure: CommandFailure | undefined;
  errorCount: number;
  /** createJob's DO options and its headers as HttpCustomHeaders (BridgeHooks: configure). */
  options: DeliveryOptimizationOptions;
  headers: string;
}

export const NEW_BRIDGE_JOB = { priority: 2, notifyFlags: 0x3, noProgressTimeout: 1_209_600 } as const;

const EMPTY_STATUS: DoStatus = { bytesTotal: 0n, bytesTransferred: 0n, state: 'created', error: 0, extendedError: 0 };

export function newFile(url: string, localPath: string, index: number, status: DoStatus = EMPTY_STATUS, described?: { fileId?: string | undefined; size?: number | undefined }): BridgeFile {
  return {
    url,
    localPath,
    index,
    contentId: described?.fileId,
    size: described?.size,
    download: undefined,
    callback: undefined,
    status,
    started: status.state !== 'created',
    get bytesTotal() {
      return this.status.bytesTotal === 0n ? (this.completed ? 0 : undefined) : Number(this.status.bytesTotal);
    },
    get bytesTransferred() {
      return Number(this.status.bytesTransferred);
    },
    get completed() {
      const state: DoState = this.status.state;
      return state === 'transferred' || state === 'finalized';
    },
  };
}

/** Paused with Error 0 and an ExtendedError: DO waits it out and retries by itself (do-com.md, [C]'s rule). */
export function isTransientStatus(status: DoStatus): boolean {
  return status.state === 'paused' && status.error === 0 && status.extendedError !== 0;
}

/** The job's BITS state, from its own flags and its downloads' DO states. */
export function bitsStateOf(job: BridgeJob): JobState {
  if (job.final !== undefined) return job.final;
  if (job.failure !== undefined) return job.failure.transient && job.noProgressTimeout !== 0 ? 'transientError' : 'error';
  if (job.suspended || job.files.length === 0) return 'suspended';
  // An error, or a download DO ended by itself (a failed mandatory integrity check, its expiry).
  if (job.files.some((file) => file.status.error !== 0 || file.status.state === 'aborted')) return 'error';
  if (job.files.every((file) => file.completed)) return 'transferred';
  // "0 makes every error fatal": DO's own timeout cannot be 0, so the bridge holds to it itself.
  if (job.files.some((file) => isTransientStatus(file.status))) return job.noProgressTimeout === 0 ? 'error' : 'transientError';
  const current = job.files.find((file) => !file.completed);
  if (current?.status.state === 'transferring') return job.files.some((file) => file.bytesTransferred > 0) ? 'transferring' : 'connecting';
  return 'queued';
}

/** Where an error happened, by its code: the server's answer, the local file, or the transfer. */
function contextOf(hresult: number): ErrorContext {
  if (httpStatusOf(hresult) !== undefined) return 'remoteFile';
  const LOCAL = [0x80070005, 0x80070003, 0x80070050, 0x80070070, 0x8007007b, 0x80070020];
  return LOCAL.includes(hresult >>> 0) ? 'localFile' : 'generalTransport';
}

function errorRecord(hresult: number, fileIndex: number | undefined): ErrorRecord {
  return { hresult, context: contextOf(hresult), fileIndex, message: hresultMessage(hresult) ?? `Delivery Optimization failed with ${formatHresult(hresult)}` };
}

/** The job's error as IBackgroundCopyError describes it, while it is in ERROR or TRANSIENT_ERROR. */
export function errorOf(job: BridgeJob): ErrorRecord | undefined {
  const state = bitsStateOf(job);
  if (state !== 'error' && state !== 'transientError') return undefined;
  if (job.failure !== undefined) return job.failure;
  const fatal = job.files.findIndex((file) => file.status.error !== 0 || file.status.state === 'aborted');
  if (fatal >= 0) return errorRecord(job.files[fatal]!.status.error || E_ABORT, fatal);
  const transient = job.files.findIndex((file) => isTransientStatus(file.status));
  return transient >= 0 ? errorRecord(job.files[transient]!.status.extendedError, transient) : undefined;
}

/** A failed DO command as the job's error; DO's transient zone (0x80D038xx) stays transient. */
export function commandFailure(hresult: number, fileIndex: number | undefined, transient: boolean): CommandFailure {
  return { ...errorRecord(hresult, fileIndex), transient };
}
