/**
 * The BITS enumerations (bits.h), as named string unions for the public API and numeric tables for
 * the native boundary. The arrays are indexed by the native value, so the mapping is written once.
 */

/** BG_NOTIFY_* bits, as passed to SetNotifyFlags. */
export const NotifyFlags = {
  JobTransferred: 0x1,
  JobError: 0x2,
  Disable: 0x4,
  JobModification: 0x8,
  FileTransferred: 0x10,
  FileRangesTransferred: 0x20,
} as const;

/** The notification each BG_NOTIFY bit asks for, by the name the library, the engine and the loopback use. */
export const NOTIFY_FLAG_OF_KIND = {
  transferred: NotifyFlags.JobTransferred,
  error: NotifyFlags.JobError,
  modification: NotifyFlags.JobModification,
  fileTransferred: NotifyFlags.FileTransferred,
} as const;

/** IBackgroundCopyCallback(2)'s notifications. */
export type NotificationKind = keyof typeof NOTIFY_FLAG_OF_KIND;

/** Whether a job with these flags wants `kind` called (BG_NOTIFY_DISABLE turns every one off). */
export function notifies(flags: number, kind: NotificationKind): boolean {
  return (flags & NotifyFlags.Disable) === 0 && (flags & NOTIFY_FLAG_OF_KIND[kind]) !== 0;
}

/** Every defined BG_NOTIFY bit; anything outside it is rejected before reaching the service. */
export const ALL_NOTIFY_FLAGS = 0x3f;

/** BG_JOB_STATE, in native order. */
export const JOB_STATES = [
  'queued',
  'connecting',
  'transferring',
  'suspended',
  'error',
  'transientError',
  'transferred',
  'acknowledged',
  'cancelled',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A state's BG_JOB_STATE value, as GetState answers it. */
export function jobStateNumber(state: JobState): number {
  return JOB_STATES.indexOf(state);
}

/** The states of a job that has left the queue: nothing more can happen to it. */
export type FinalJobState = Extract<JobState, 'acknowledged' | 'cancelled'>;

export function isFinalState(state: JobState): state is FinalJobState {
  return state === 'acknowledged' || state === 'cancelled';
}

/** BG_JOB_PRIORITY, in native order. */
export const JOB_PRIORITIES = ['foreground', 'high', 'normal', 'low'] as const;
export type JobPriority = (typeof JOB_PRIORITIES)[number];

/** BG_JOB_TYPE, in native order. */
export const JOB_TYPES = ['download', 'upload', 'uploadReply'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** BG_ERROR_CONTEXT, in native order: where in the transfer the error happened. */
export const ERROR_CONTEXTS = [
  'none',
  'unknown',
  'generalQueueManager',
  'queueManagerNotification',
  'localFile',
  'remoteFile',
  'generalTransport',
  'remoteApplication',
  'serverCertificateCallback',
] as const;
export type ErrorContext = (typeof ERROR_CONTEXTS)[number];

/** BG_JOB_PROXY_USAGE, in native order. */
export const PROXY_USAGES = ['preconfig', 'noProxy', 'override', 'autodetect'] as const;
export type ProxyUsage = (typeof PROXY_USAGES)[number];

/** EnumJobs flag that lists every user's jobs (needs administrator rights). */
export const BG_JOB_ENUM_ALL_USERS = 0x1;

/** Looks a native value up in one of the tables above; a value the SDK does not define is reported as such. */
export function nameOf<T extends string>(table: readonly T[], value: number, what: string): T {
  const name = table[value];
  if (name === undefined) throw new RangeError(`the service answered an unknown ${what} value ${value}`);
  return name;
}
