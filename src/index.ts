/**
 * rx-bits: Windows background transfers (BITS, Delivery Optimization) as RxJS Observables.
 */
export { connect, BitsManager, type BackendChoice, type ConnectOptions, type CreateJobOptions, type JobFilter } from './com/manager.js';
export type { PortableOptions } from './engine/engine.js';
export { StateDirectoryError, StateDirectoryInUseError } from './engine/state-dir.js';
export {
  BitsJob,
  type CompleteResult,
  type FileSpec,
  type JobActionResult,
  type JobErrorInfo,
  type JobFileInfo,
  type JobProgress,
  type JobContext,
  type JobTimes,
  type ProxySettings,
} from './com/job.js';
export { MAX_NOTIFY_PARAMETERS, type NotifyCommandLine, type ReplyProgress } from './com/job2.js';
export type { RangedFileSpec } from './com/job3.js';
export type { ClientCertificate, ClientCertificateInfo } from './com/client-certificate.js';
export type { SecurityOptions, SecurityOptionsInfo } from './com/http-security.js';
export type { CertificatePins } from './com/certificate-pins.js';
export type { JobPropertyInput, JobPropertyName, JobPropertyOutput, JobPropertyTypes, TransferPolicy } from './com/job-properties.js';
export type { FileRange } from './com/file-ranges.js';
export { BitsFile } from './com/bits-file.js';
export type { PeerDownloadStats } from './com/file4.js';
export { FILE_PROPERTIES, type FilePropertyName, type FilePropertyOutput, type FilePropertyTypes } from './com/file5.js';
export { MAX_PASSWORD, MAX_USER_NAME, type Credentials } from './com/credentials.js';
export { BACKENDS, type Backend } from './com/backend.js';
export { PropertyNotSupportedError } from './do/errors.js';
export type { DeliveryOptimizationOptions } from './do/options.js';
export { DO_COST_POLICIES, type DoCostPolicy } from './com/do-interfaces.js';
export type { OleAutomation } from './com/automation.js';
export {
  CallbackObject,
  liveCallbackObjects,
  type CallbackObjectOptions,
  type Notification,
  type NotificationKind,
  type NotificationSink,
} from './com/callback-object.js';
export { ComPtr, referenceStats, type ReferenceStats } from './com/com-ptr.js';
export type { ComInterface, ComMethod, MethodsOf } from './com/interface-table.js';
export {
  AUTH_SCHEMES,
  AUTH_TARGETS,
  CERT_STORE_LOCATIONS,
  COST_FLAGS,
  ERROR_CONTEXTS,
  FILE_ACL_FLAGS,
  IGNORABLE_CERTIFICATE_ERRORS,
  REDIRECT_POLICIES,
  JOB_PRIORITIES,
  JOB_STATES,
  JOB_TYPES,
  NotifyFlags,
  PEER_CACHING_FLAGS,
  PROXY_USAGES,
  TRANSFER_POLICIES,
  isFinalState,
  type AuthScheme,
  type AuthTarget,
  type CertStoreLocation,
  type CostFlag,
  type IgnorableCertificateError,
  type RedirectPolicy,
  type ErrorContext,
  type FileAclFlag,
  type FinalJobState,
  type JobPriority,
  type JobState,
  type JobType,
  type PeerCachingFlag,
  type ProxyUsage,
  type TransferPolicyName,
} from './com/enums.js';
export {
  ComError,
  GuidFormatError,
  InterfaceNotSupportedError,
  InvalidArgumentError,
  JobPropertyNotSupportedError,
  NotSupportedByBackendError,
  ReleasedError,
  ReplyTooLargeError,
  RxBitsError,
  UnsupportedPlatformError,
} from './com/errors.js';
export { parseGuid, formatGuid, encodeGuid, decodeGuid, type Guid } from './com/guid.js';
export { formatHresult, hresultByName, hresultMessage, hresultName, httpStatusOf, labelHresult } from './com/hresult.js';
export { defaultRuntime, win32Runtime, type ComRuntime } from './com/runtime.js';
export {
  type ErrorEvent,
  type EventSource,
  type FileRangesTransferredEvent,
  type FileTransferredEvent,
  type JobEvent,
  type JobEventType,
  type ModificationEvent,
  type TransferredEvent,
  JOB_EVENT_TYPES,
} from './observables/events.js';
export {
  liveHubs,
  registrationChanges$,
  whenHubsIdle,
  type AttachState,
  type DisplacedPolicy,
  type HubOptions,
  type RegistrationChange,
} from './observables/hub.js';
export { ServiceUnavailableError } from './observables/service-unavailable-error.js';
export { jobEvents$ } from './observables/job-events.js';
export { transferred$ } from './observables/transferred.js';
export { error$ } from './observables/error.js';
export { modification$ } from './observables/modification.js';
export { fileTransferred$ } from './observables/file-transferred.js';
export { fileRangesTransferred$ } from './observables/file-ranges-transferred.js';
export { state$ } from './observables/state.js';
export { progress$ } from './observables/progress.js';
export { BitsJobError, type JobAttempt } from './operators/bits-job-error.js';
export { failOnJobError, type FailOnJobErrorOptions } from './operators/fail-on-job-error.js';
export { retryOnJobError, type RetryOnJobErrorOptions } from './operators/retry-on-job-error.js';
export { retryOnMirrors, type MirroredJob, type Mirrors, type RetryOnMirrorsOptions } from './operators/retry-on-mirrors.js';
export { isTransientJobError } from './operators/is-transient-job-error.js';
export { exponentialBackoff, type BackoffOptions } from './operators/exponential-backoff.js';
export { completeWhenTransferred, type CompletedJob } from './operators/complete-when-transferred.js';
export { JobLeftQueueError } from './operators/job-left-queue-error.js';
export { cancelOnUnsubscribe } from './operators/cancel-on-unsubscribe.js';
export { takeUntilFinal } from './operators/take-until-final.js';
export { progressRatio } from './operators/progress-ratio.js';
export { transferRate, type TransferRateOptions } from './operators/transfer-rate.js';
export { eta } from './operators/eta.js';
export { download, type DownloadOptions, type DownloadSnapshot } from './app/download.js';
export { jobPrefix, type TransferOptions } from './app/transfer-options.js';
export type { TransferSnapshot } from './app/follow-job.js';
export { resumePending, type PendingDownload } from './app/resume-pending.js';
export { upload, type UploadOptions, type UploadResult, type UploadSnapshot } from './app/upload.js';
