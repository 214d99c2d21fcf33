import type { JobErrorInfo, JobFileInfo, JobProgress } from '../com/job.js';
import { NOTIFY_FLAG_OF_KIND, NotifyFlags, type JobState } from '../com/enums.js';
import type { FileRange } from '../com/file-ranges.js';
import type { Guid } from '../com/guid.js';

/** Where an event came from. */
export type EventSource =
  /** A notification the service called us with. */
  | 'callback'
  /** The state backstop: a poll of GetState/GetProgress/GetError found it. */
  | 'backstop'
  /** The job was already there when we attached (or subscribed): reported once, at once. */
  | 'replay'
  /** This process's own Complete or Cancel ended the job. */
  | 'action';

interface EventBase {
  readonly jobId: Guid;
  readonly source: EventSource;
}

/** Every file arrived; call `complete()` to make them appear at their local names. */
export interface TransferredEvent extends EventBase {
  readonly type: 'transferred';
}

/** The job failed. `transient` errors (TRANSIENT_ERROR) are retried by the service on its own. */
export interface ErrorEvent extends EventBase {
  readonly type: 'error';
  readonly error: JobErrorInfo;
  readonly transient: boolean;
}

/** Something changed: state, progress, properties. */
export interface ModificationEvent extends EventBase {
  readonly type: 'modification';
  readonly state: JobState;
  readonly progress: JobProgress;
}

/** One file arrived (BITS only: IBackgroundCopyCallback2). */
export interface FileTransferredEvent extends EventBase {
  readonly type: 'fileTransferred';
  readonly file: JobFileInfo;
}

export type JobEvent = TransferredEvent | ErrorEvent | ModificationEvent | FileTransferredEvent;
export type JobEventType = JobEvent['type'];

export const JOB_EVENT_TYPES: readonly JobEventType[] = ['transferred', 'error', 'modification', 'fileTransferred'];

/**
 * Ranges of a file completed since the previous such event (BITS 10.1: IBackgroundCopyCallback3),
 * not necessarily the ranges requested. Not a JobEvent: only `fileRangesTransferred$` asks for it, as
 * the other backends refuse its flag.
 */
export interface FileRangesTransferredEvent extends EventBase {
  readonly type: 'fileRangesTransferred';
  readonly file: JobFileInfo;
  readonly ranges: readonly FileRange[];
}

/** Everything a job's hub emits. */
export type HubEvent = JobEvent | FileRangesTransferredEvent;

/** What a subscription asks a job's hub for: an event type, or the state/progress snapshots. */
export type Interest = HubEvent['type'] | 'state' | 'progress';

/** The BG_NOTIFY flag each interest needs (state and progress ride on JobModification). */
export const NOTIFY_FLAG_OF: Readonly<Record<Interest, number>> = {
  ...NOTIFY_FLAG_OF_KIND,
  fileRangesTransferred: NotifyFlags.FileRangesTransferred,
  state: NOTIFY_FLAG_OF_KIND.modification,
  progress: NOTIFY_FLAG_OF_KIND.modification,
};

/**
 * Interests the state backstop must poll for: JobModification is lossy and skips the moves into
 * ERROR and TRANSFERRED, TRANSIENT_ERROR never calls JobError, and Wine calls neither. JobTransferred
 * and FileTransferred are reliable, so `transferred$` alone never polls. FileRangesTransferred is lossy
 * too, but no poll can tell which ranges arrived since the previous call: it has no backstop.
 */
export const POLLED_INTERESTS: ReadonlySet<Interest> = new Set(['error', 'modification', 'state', 'progress']);

/** A job's state and progress at one moment. */
export interface JobSnapshot {
  readonly state: JobState;
  readonly progress: JobProgress;
}
