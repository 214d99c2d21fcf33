import type { JobModelOptions } from './job-model.js';
import type { NotifierOptions } from './notifier.js';
import type { DoLoopbackOptions } from '../loopback-do/options.js';

/**
 * How the loopback service behaves. The defaults are what the library's own tests were written
 * against; each option that makes the service harder says where the behaviour comes from, so a
 * regression test can turn on exactly what Windows (or Wine) does.
 */
export interface LoopbackOptions extends NotifierOptions, Omit<JobModelOptions, 'faults' | 'transfersInResume'> {
  /** IBackgroundCopyError::GetErrorDescription fails (as on Wine, with 0x800706F4). */
  readonly errorDescriptionFails: boolean;
  /** Notifications the service never calls, whatever the flags (Wine calls neither JobError nor JobModification). */
  readonly neverCalls: ReadonlyArray<'error' | 'modification'>;
  /** GetErrorCount answers E_NOTIMPL (as on Wine 8). */
  readonly errorCountNotImplemented: boolean;
  /** A completed or cancelled job keeps holding its callback (as on Wine 8, which refuses SetNotifyInterface on it). */
  readonly keepsCallbackOfFinishedJobs: boolean;
  /**
   * Acknowledged and cancelled jobs stay in the queue (EnumJobs, GetJob) until the service closes,
   * as on Wine, whose transfer thread sweeps them out only when it next wakes.
   */
  readonly listsFinishedJobs: boolean;
  /**
   * Registering a callback on a job that is already TRANSFERRED or in ERROR calls JobTransferred /
   * JobError on it (if its flags ask for it). bits-com.md: "BITS delivers a terminal notification at
   * least once, even when registration happens after the event: expect replays."
   */
  readonly notifiesOnRegistration: boolean;
  /**
   * What BITS does on its own threads happens inside the library's calls. The loopback's handlers
   * all run on the JS thread (koffi relays the calling thread's call there), so without this a job only
   * moves between two calls when the event loop happens to run the transfer in between. With it:
   * - every call on a job object delivers that job's notifications still queued before it answers,
   *   so they arrive while the library's call on the same job is in flight (as they would from
   *   BITS's RPC threads), and the notifier starts its own deliveries a turn late to leave room;
   * - Resume of a job whose remaining files are local copies them before it answers: the library's
   *   Resume returns with the job TRANSFERRED and FileTransferred/JobTransferred already delivered.
   */
  readonly notifiesDuringCalls: boolean;
  /**
   * The newest BITS whose versioned class id is registered (src/com/bits-versions.ts): CoCreateInstance
   * of a newer one answers REGDB_E_CLASSNOTREG, as on an older Windows. '10.3' (every one) is Windows
   * 10 1903 and later, and 11. '1.0' is Wine: its qmgr service registers the class object of
   * CLSID_BackgroundCopyManager only (dlls/qmgr/service.c, CoRegisterClassObject in StartCount), and
   * the versioned coclasses of its bits*.idl are compiled for their GUIDs only (qmgr_local.idl:
   * `#pragma makedep ident`, no `register`), so no CLSID_BackgroundCopyManagerX_Y is registered there.
   */
  readonly bitsVersion: string;
  /**
   * CoCreateInstance of a service's class ids fails with this HRESULT, whatever the id or interface:
   * ERROR_NOT_LOGGED_ON (0x800704DD: a service, an SSH session, a scheduled task), ERROR_SERVICE_DISABLED,
   * REGDB_E_CLASSNOTREG, BG_E_BLOCKED_BY_POLICY, E_ACCESSDENIED... For BITS this covers the versioned
   * ids too, as Windows refuses the caller, not the class.
   */
  readonly refusals: Readonly<Partial<Record<'bits' | 'delivery-optimization', number>>>;
  /** The options of the machine's Delivery Optimization service (test/loopback-do). */
  readonly deliveryOptimization: Partial<DoLoopbackOptions>;
}

export const DEFAULTS: LoopbackOptions = {
  secondMs: 1,
  errorDescriptionFails: false,
  neverCalls: [],
  errorCountNotImplemented: false,
  errorCount: 'every-failure',
  keepsCallbackOfFinishedJobs: false,
  listsFinishedJobs: false,
  keepsPartlyCompletedJobs: false,
  resumeWithNothingLeft: 'no-op',
  notifiesOnRegistration: false,
  notifiesDuringCalls: false,
  maxConcurrent: 4,
  retryMs: 10,
  replayTerminal: 0,
  coalesceModifications: false,
  dropModification: undefined,
  holdModificationsUntilTerminal: false,
  minimumNotificationIntervalMs: 0,
  bitsVersion: '10.3',
  refusals: {},
  deliveryOptimization: {},
};
