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

/** BG_AUTH_TARGET (bits1_5.h): whom credentials are for. */
export const AUTH_TARGETS = { server: 1, proxy: 2 } as const;
export type AuthTarget = keyof typeof AUTH_TARGETS;

/** BG_AUTH_SCHEME (bits1_5.h): how they are presented. */
export const AUTH_SCHEMES = { basic: 1, digest: 2, ntlm: 3, negotiate: 4, passport: 5 } as const;
export type AuthScheme = keyof typeof AUTH_SCHEMES;

/** BG_COPY_FILE_* (bits2_0.h, IBackgroundCopyJob3::SetFileACLFlags): what of an SMB source's security descriptor the copy keeps. */
export const FILE_ACL_FLAGS = { owner: 0x1, group: 0x2, dacl: 0x4, sacl: 0x8 } as const;
export type FileAclFlag = keyof typeof FILE_ACL_FLAGS;

/** BG_JOB_ENABLE_PEERCACHING_* and BG_JOB_DISABLE_BRANCH_CACHE (bits3_0.h, IBackgroundCopyJob4::SetPeerCachingFlags). */
export const PEER_CACHING_FLAGS = { enableClient: 0x1, enableServer: 0x2, disableBranchCache: 0x4 } as const;
export type PeerCachingFlag = keyof typeof PEER_CACHING_FLAGS;

/**
 * BITS_COST_STATE_* (bits5_0.h): the kinds of network a job may transfer on, and
 * BITS_COST_OPTION_IGNORE_CONGESTION, for the transfer policy (BITS_JOB_PROPERTY_ID_COST_FLAGS).
 * 'unrestricted' is a network with no cost or limit: not metered.
 */
export const COST_FLAGS = {
  unrestricted: 0x1,
  cappedUsageUnknown: 0x2,
  belowCap: 0x4,
  nearCap: 0x8,
  overcapCharged: 0x10,
  overcapThrottled: 0x20,
  usageBased: 0x40,
  roaming: 0x80,
  ignoreCongestion: 0x80000000,
} as const;
export type CostFlag = keyof typeof COST_FLAGS;

const NOT_ROAMING: readonly CostFlag[] = ['unrestricted', 'cappedUsageUnknown', 'belowCap', 'nearCap', 'overcapCharged', 'overcapThrottled', 'usageBased', 'ignoreCongestion'];

/**
 * BITS_JOB_TRANSFER_POLICY_* (= BITS_COST_STATE_TRANSFER_*, bits5_0.h), each the set of cost flags
 * the SDK ORs together for it: from 'always' (any network) down to 'unrestricted' (only networks
 * that are not metered).
 */
export const TRANSFER_POLICIES = {
  always: [...NOT_ROAMING, 'roaming'],
  notRoaming: NOT_ROAMING,
  noSurcharge: NOT_ROAMING.filter((flag) => flag !== 'overcapCharged'),
  standard: NOT_ROAMING.filter((flag) => flag !== 'overcapCharged' && flag !== 'nearCap'),
  unrestricted: ['unrestricted', 'overcapThrottled', 'ignoreCongestion'],
} as const satisfies Readonly<Record<string, readonly CostFlag[]>>;
export type TransferPolicyName = keyof typeof TRANSFER_POLICIES;

/** BG_CERT_STORE_LOCATION (bits2_5.h), in native order: where a client certificate's store is. */
export const CERT_STORE_LOCATIONS = [
  'currentUser',
  'localMachine',
  'currentService',
  'services',
  'users',
  'currentUserGroupPolicy',
  'localMachineGroupPolicy',
  'localMachineEnterprise',
] as const;
export type CertStoreLocation = (typeof CERT_STORE_LOCATIONS)[number];

/**
 * BG_SSL_IGNORE_* (bits2_5.h, IBackgroundCopyJobHttpOptions::SetSecurityFlags): the server
 * certificate errors a job may be told to ignore, each by name.
 */
export const IGNORABLE_CERTIFICATE_ERRORS = { commonNameInvalid: 0x2, dateInvalid: 0x4, unknownCa: 0x8, wrongUsage: 0x10 } as const;
export type IgnorableCertificateError = keyof typeof IGNORABLE_CERTIFICATE_ERRORS;

/** BG_SSL_ENABLE_CRL_CHECK: check the server certificate's revocation (a failed check is fatal). */
export const BG_SSL_ENABLE_CRL_CHECK = 0x1;

/** BG_HTTP_REDIRECT_POLICY_* (bits3_0.h), the values inside BG_HTTP_REDIRECT_POLICY_MASK. */
export const REDIRECT_POLICIES = { allowSilent: 0x0, allowReport: 0x100, disallow: 0x200 } as const;
export type RedirectPolicy = keyof typeof REDIRECT_POLICIES;
export const BG_HTTP_REDIRECT_POLICY_MASK = 0x700;

/** BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP (bits3_0.h), outside the mask. */
export const BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP = 0x800;
