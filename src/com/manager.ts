import { BACKENDS, CLSID_OF, requireSupport, type Backend } from './backend.js';
import { ComPtr } from './com-ptr.js';
import { enumerate } from './enumerate.js';
import { BG_JOB_ENUM_ALL_USERS, type JobPriority, type JobType } from './enums.js';
import { ComError, InvalidArgumentError, NotSupportedByBackendError, unlessComError } from './errors.js';
import { decodeGuid, encodeGuid, parseGuid, type Guid } from './guid.js';
import {
  BG_E_BLOCKED_BY_POLICY,
  CO_E_SERVER_EXEC_FAILURE,
  E_ACCESSDENIED,
  ERROR_NOT_LOGGED_ON,
  ERROR_SERVICE_DISABLED,
  ERROR_SERVICE_DOES_NOT_EXIST,
  formatHresult,
  hresultMessage,
  hresultName,
  isFailure,
  REGDB_E_CLASSNOTREG,
} from './hresult.js';
import { IBackgroundCopyJob, IBackgroundCopyManager, IEnumBackgroundCopyJobs } from './interfaces.js';
import { BitsJob, type FileSpec, type JobContext } from './job.js';
import { pointerSlot, readPointer } from './native-types.js';
import { startReceiver } from './receiver-thread.js';
import { defaultRuntime, type ComRuntime } from './runtime.js';
import { takeString } from './task-memory.js';
import { ENGINE_DEFAULTS, portableEngine, type PortableOptions } from '../engine/engine.js';
import { bridgedRuntime, bridgeOf } from '../do/runtime.js';
import { checkDeliveryOptimization, type DeliveryOptimizationOptions } from '../do/options.js';
import { DO_E_NO_DOWNLOAD_EXTSETTINGS, DO_E_NO_DOWNLOAD_PARTICIPATION, DO_E_NO_SERVICE } from './do-errors.js';
import { defaultStateDir } from '../engine/state-dir.js';
import {
  checkArray,
  checkBoolean,
  checkFiles,
  checkHeaders,
  checkHresult,
  checkJobType,
  checkLanguageId,
  checkObject,
  checkPriority,
  checkSeconds,
  checkString,
  checkUploadFiles,
  MAX_DESCRIPTION,
  MAX_DISPLAY_NAME,
} from './validate.js';

export interface ConnectOptions {
  /**
   * Which service to talk to. Omitted: BITS on Windows, falling back to the portable engine when BITS
   * refuses this caller (see {@link BackendChoice}); the portable engine elsewhere. A backend named
   * here never falls back.
   */
  readonly backend?: Backend;
  /**
   * The COM runtime of the service; ole32 on Windows by default. Tests inject the loopback service, or
   * a portable engine of their own (`PortableEngine.runtime`) with `backend: 'portable'`.
   */
  readonly runtime?: ComRuntime;
  /** The portable engine's job store; the platform's per-user state folder by default (`defaultStateDir()`). */
  readonly stateDir?: string;
  /**
   * The portable engine's manners: transfers at once (4), a bandwidth cap for all its transfers
   * together (none), days before an untouched job is removed (90). They apply when the engine of a
   * state directory opens, i.e. at the process's first connect() to it.
   */
  readonly portable?: PortableOptions;
  /**
   * With a named service ('bits' or 'delivery-optimization'): fall back to the portable engine when
   * that service refuses this caller ({@link REFUSALS}), as connect() without a backend does for
   * BITS. False by default: a backend named here is the one you get, or an error.
   */
  readonly fallback?: boolean;
}

/** Which backend connect() took, and why. */
export interface BackendChoice {
  readonly backend: Backend;
  readonly reason: string;
  /** What the service answered when connect() fell back from it to the portable engine. */
  readonly refusal?: { readonly hresult: number; readonly code: string | undefined };
}

export interface CreateJobOptions {
  /** Shown by BITS tools; also how an app finds its jobs again after a restart (`jobs({ displayNamePrefix })`). */
  readonly displayName: string;
  readonly type?: JobType;
  readonly description?: string;
  readonly priority?: JobPriority;
  readonly files?: readonly FileSpec[];
  /** Seconds in TRANSIENT_ERROR before BITS retries by itself (BITS only). */
  readonly minimumRetryDelay?: number;
  /** Seconds without progress before a transient error becomes fatal. */
  readonly noProgressTimeout?: number;
  /** Custom HTTP request headers (BITS 2.5+; on Delivery Optimization, HttpCustomHeaders, given here only). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Delivery Optimization only: its own download properties (cost policy, callback frequency, NonVolatile, integrity check...). */
  readonly deliveryOptimization?: DeliveryOptimizationOptions;
}

export interface JobFilter {
  /** Only jobs whose display name starts with this. */
  readonly displayNamePrefix?: string;
  /** Only these job ids. */
  readonly ids?: readonly string[];
  /** Every user's jobs (needs administrator rights). */
  readonly allUsers?: boolean;
}

/** A connection to the BITS or Delivery Optimization job manager. */
export class BitsManager {
  readonly #ptr: ComPtr<typeof IBackgroundCopyManager>;
  readonly #context: JobContext;

  /** @internal Use {@link connect}. */
  constructor(
    ptr: ComPtr<typeof IBackgroundCopyManager>,
    context: JobContext,
    /** Which backend connect() took, and why. */
    readonly choice: BackendChoice,
  ) {
    this.#ptr = ptr;
    this.#context = context;
  }

  get backend(): Backend {
    return this.#context.backend;
  }

  get runtime(): ComRuntime {
    return this.#context.runtime;
  }

  /**
   * Creates a job (SUSPENDED: call `resume()` to start it) and applies every option. Everything, the
   * files included, is validated before the service is asked: bad input makes no call at all. If the
   * service refuses an option, the new job is cancelled rather than left behind half-made.
   */
  async createJob(options: CreateJobOptions): Promise<BitsJob> {
    checkObject(options, 'options', '{ displayName, ... }');
    const displayName = checkString(options.displayName, 'displayName', { maxLength: MAX_DISPLAY_NAME });
    const type = checkJobType(options.type ?? 'download', 'type');
    if (type !== 0) requireSupport(this.backend, 'upload jobs');
    const description =
      options.description === undefined ? undefined : checkString(options.description, 'description', { maxLength: MAX_DESCRIPTION, allowEmpty: true });
    const priority = options.priority === undefined ? undefined : (checkPriority(options.priority, 'priority'), options.priority);
    const minimumRetryDelay = options.minimumRetryDelay === undefined ? undefined : checkSeconds(options.minimumRetryDelay, 'minimumRetryDelay');
    if (minimumRetryDelay !== undefined) requireSupport(this.backend, 'SetMinimumRetryDelay');
    const noProgressTimeout = options.noProgressTimeout === undefined ? undefined : checkSeconds(options.noProgressTimeout, 'noProgressTimeout');
    const bridged = this.backend === 'delivery-optimization';
    const headers = options.headers === undefined ? undefined : checkHeaders(options.headers, 'headers');
    if (headers !== undefined && !bridged) requireSupport(this.backend, 'custom headers');
    const doOptions = options.deliveryOptimization === undefined ? undefined : checkDeliveryOptimization(options.deliveryOptimization);
    if (doOptions !== undefined && !bridged) {
      throw new NotSupportedByBackendError(this.backend, 'deliveryOptimization', "these are Delivery Optimization's own download properties");
    }
    // A job is made only for files the service can take: one made first and cancelled on a bad file
    // stays listed as cancelled (Wine), and a crash in between leaves it for the 90-day clean-up.
    const files = options.files === undefined ? undefined : checkFiles(options.files, 'files', this.runtime.pathStyle, this.backend);
    if (type !== 0 && files !== undefined) checkUploadFiles(files, 'files', 0);

    const idBuffer = Buffer.alloc(16);
    const slot = pointerSlot();
    await this.#ptr.call('CreateJob', displayName, type, idBuffer, slot);
    const job = await BitsJob.open(ComPtr.adopt(readPointer(slot), IBackgroundCopyJob), this.#context, decodeGuid(idBuffer), options.type ?? 'download');
    try {
      if (description !== undefined) await job.setDescription(description);
      if (priority !== undefined) await job.setPriority(priority);
      if (minimumRetryDelay !== undefined) await job.setMinimumRetryDelay(minimumRetryDelay);
      if (noProgressTimeout !== undefined) await job.setNoProgressTimeout(noProgressTimeout);
      // DO takes its properties in Created only: they reach the bridge before the files make downloads.
      if (bridged) bridgeOf(this.runtime)?.configure(job.id, doOptions ?? {}, headers ?? '');
      else if (options.headers !== undefined) await job.setCustomHeaders(options.headers);
      if (files !== undefined) await job.addFiles(files);
      return job;
    } catch (error) {
      await job.cancel().catch(() => undefined);
      await job.release();
      throw error;
    }
  }

  /** Opens an existing job by id; BG_E_NOT_FOUND when there is none. */
  async getJob(id: string): Promise<BitsJob> {
    const guid = parseGuid(id, 'id');
    const slot = pointerSlot();
    await this.#ptr.call('GetJob', encodeGuid(guid), slot);
    return BitsJob.open(ComPtr.adopt(readPointer(slot), IBackgroundCopyJob), this.#context, guid);
  }

  /**
   * The current user's jobs (EnumJobs), optionally filtered: how an app finds the jobs it left behind
   * in an earlier run. Jobs that do not match are released at once, and so are jobs that can no longer
   * be read (they left the queue during the walk); stopping the loop early releases the enumerator.
   */
  async *jobs(filter: JobFilter = {}): AsyncGenerator<BitsJob, void, undefined> {
    checkObject(filter, 'filter', '{ displayNamePrefix?, ids?, allUsers? }');
    const ids =
      filter.ids === undefined ? undefined : new Set<Guid>(checkArray(filter.ids, 'ids', 'an array of job ids').map((id, i) => parseGuid(id, `ids[${i}]`)));
    const prefix =
      filter.displayNamePrefix === undefined
        ? undefined
        : checkString(filter.displayNamePrefix, 'displayNamePrefix', { maxLength: MAX_DISPLAY_NAME, allowEmpty: true });
    const allUsers = filter.allUsers === undefined ? false : checkBoolean(filter.allUsers, 'allUsers');
    if (allUsers) requireSupport(this.backend, 'all users');
    const slot = pointerSlot();
    await this.#ptr.call('EnumJobs', allUsers ? BG_JOB_ENUM_ALL_USERS : 0, slot);
    for await (const item of enumerate(ComPtr.fromSlot(slot, IEnumBackgroundCopyJobs), IBackgroundCopyJob)) {
      // A job that left the queue after EnumJobs listed it fails its reads: skip it, not the walk.
      const job = await unlessComError(BitsJob.open(item, this.#context));
      if (job === undefined) continue;
      let keep = false;
      try {
        keep = await matches(job, ids, prefix);
      } finally {
        if (!keep) await job.release();
      }
      if (keep) yield job;
    }
  }

  /**
   * A readable description of an HRESULT: the service's own (GetErrorDescription) where it has one,
   * otherwise ours.
   */
  async describe(hresult: number, languageId = 0): Promise<string> {
    const code = checkHresult(hresult, 'hresult');
    const language = checkLanguageId(languageId, 'languageId');
    const fallback = hresultMessage(code) ?? `Unknown error ${formatHresult(code)}`;
    if (this.backend !== 'bits') return fallback;
    const slot = pointerSlot();
    const hr = await this.#ptr.callRaw('GetErrorDescription', code | 0, language, slot);
    if (isFailure(hr)) return fallback;
    return takeString(this.#context.runtime, slot).trim() || fallback;
  }

  release(): Promise<void> {
    return this.#ptr.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/** Whether a listed job passes the filter; a job whose name can no longer be read does not. */
async function matches(job: BitsJob, ids: ReadonlySet<Guid> | undefined, prefix: string | undefined): Promise<boolean> {
  if (ids !== undefined && !ids.has(job.id)) return false;
  if (prefix === undefined) return true;
  return (await unlessComError(job.getDisplayName()))?.startsWith(prefix) === true;
}

/**
 * BITS refusing this caller, as opposed to failing: the service is missing or disabled, this logon
 * session cannot use it (services, SSH, scheduled tasks: ERROR_NOT_LOGGED_ON), or policy forbids it.
 * connect() without a named backend falls back to the portable engine on these.
 */
export const REFUSALS: ReadonlySet<number> = new Set([
  // Delivery Optimization's: its service is missing, or it does not take downloads (throttling, settings).
  DO_E_NO_SERVICE,
  DO_E_NO_DOWNLOAD_PARTICIPATION,
  DO_E_NO_DOWNLOAD_EXTSETTINGS,
  REGDB_E_CLASSNOTREG,
  ERROR_SERVICE_DISABLED,
  ERROR_SERVICE_DOES_NOT_EXIST,
  ERROR_NOT_LOGGED_ON,
  CO_E_SERVER_EXEC_FAILURE,
  E_ACCESSDENIED,
  BG_E_BLOCKED_BY_POLICY,
]);

/** Why connect() took a backend: the one wording, which `rx-bits doctor` repeats. */
export const CHOICE_REASONS = {
  asked: 'asked for',
  windowsDefault: 'the default on Windows',
  notWindows: (platform: string) => `BITS is a Windows service; this process runs on '${platform}'`,
  refused: (hresult: number, detail: string) => CHOICE_REASONS.refusedBy('BITS', hresult, detail),
  refusedBy: (service: string, hresult: number, detail: string) =>
    `${service} refused this process with ${hresultName(hresult) ?? formatHresult(hresult)} (${formatHresult(hresult)}): ${hresultMessage(hresult) ?? detail}`,
} as const;

/** The name connect()'s reasons give a service backend. */
const SERVICE_NAMES: Readonly<Record<Exclude<Backend, 'portable'>, string>> = { bits: 'BITS', 'delivery-optimization': 'Delivery Optimization' };

/** Connects to the job manager of a backend; see {@link ConnectOptions.backend} for the choice. */
export async function connect(options: ConnectOptions = {}): Promise<BitsManager> {
  checkObject(options, 'options', '{ backend?, runtime?, stateDir?, portable?, fallback? }');
  const named = options.backend;
  if (named !== undefined && !BACKENDS.includes(named)) {
    throw new InvalidArgumentError('backend', `unknown backend '${String(named)}'; expected ${BACKENDS.join(', ')}`);
  }
  const stateDir = options.stateDir === undefined ? undefined : checkString(options.stateDir, 'stateDir', { maxLength: 4096 });
  const portable = checkPortableOptions(options.portable);
  if (options.runtime !== undefined) checkRuntime(options.runtime);
  if (options.fallback !== undefined) checkBoolean(options.fallback, 'fallback');
  // In the background, while the service starts: a connection is what our callback objects are for,
  // and the receiver's start (tens of milliseconds) then delays no registration. Importing rx-bits
  // alone starts no thread.
  startReceiver();
  if (named === 'portable') {
    const choice: BackendChoice = { backend: 'portable', reason: CHOICE_REASONS.asked };
    return options.runtime === undefined ? connectPortable(stateDir, portable, choice) : connectService('portable', options.runtime, choice);
  }
  if (named !== undefined) {
    const asked = connectService(named, options.runtime ?? defaultRuntime(), { backend: named, reason: CHOICE_REASONS.asked });
    return options.fallback === true ? orPortable(named, asked, stateDir, portable) : asked;
  }
  if (options.runtime === undefined && process.platform !== 'win32') {
    return connectPortable(stateDir, portable, { backend: 'portable', reason: CHOICE_REASONS.notWindows(process.platform) });
  }
  return orPortable('bits', connectService('bits', options.runtime ?? defaultRuntime(), { backend: 'bits', reason: CHOICE_REASONS.windowsDefault }), stateDir, portable);
}

/** The service's manager, or the portable engine if the service refused this caller (REFUSALS). */
async function orPortable(service: Exclude<Backend, 'portable'>, connecting: Promise<BitsManager>, stateDir: string | undefined, portable: PortableOptions): Promise<BitsManager> {
  try {
    return await connecting;
  } catch (error) {
    if (!(error instanceof ComError) || !REFUSALS.has(error.hresult)) throw error;
    return connectPortable(stateDir, portable, {
      backend: 'portable',
      reason: CHOICE_REASONS.refusedBy(SERVICE_NAMES[service], error.hresult, error.message),
      refusal: { hresult: error.hresult, code: error.code },
    });
  }
}

/** An injected COM runtime: what connect() calls on it before anything else. */
function checkRuntime(value: unknown): void {
  const runtime = checkObject(value, 'runtime', 'a ComRuntime { pathStyle, initialize, createInstance, ... }');
  if (typeof runtime.initialize !== 'function' || typeof runtime.createInstance !== 'function' || (runtime.pathStyle !== 'win32' && runtime.pathStyle !== 'posix')) {
    throw new InvalidArgumentError('runtime', "expected a ComRuntime: pathStyle 'win32' or 'posix', and the functions initialize and createInstance");
  }
}

function checkPortableOptions(value: unknown): PortableOptions {
  if (value === undefined) return {};
  const options = checkObject(value, 'portable', '{ maxConcurrentTransfers?, maxBytesPerSecond?, jobLifetimeDays? }');
  const positive = (key: keyof PortableOptions, integer: boolean): number | undefined => {
    const field = options[key];
    if (field === undefined) return undefined;
    if (typeof field !== 'number' || !(field > 0) || !Number.isFinite(field) || (integer && !Number.isInteger(field))) {
      throw new InvalidArgumentError(`portable.${key}`, `expected a positive ${integer ? 'whole ' : ''}number, got ${String(field)}`);
    }
    return field;
  };
  const checked = {
    maxConcurrentTransfers: positive('maxConcurrentTransfers', true),
    maxBytesPerSecond: positive('maxBytesPerSecond', false),
    jobLifetimeDays: positive('jobLifetimeDays', false),
  };
  return Object.fromEntries(Object.entries(checked).filter(([, v]) => v !== undefined)) as PortableOptions;
}

async function connectService(backend: Backend, service: ComRuntime, choice: BackendChoice): Promise<BitsManager> {
  // Delivery Optimization is served through its bridge (src/do), a BITS-shaped server in this process
  // over DO's own API: nobody has shown its class answering IBackgroundCopyManager (do-com.md).
  const runtime = backend === 'delivery-optimization' ? bridgedRuntime(service) : service;
  await runtime.initialize();
  const address = await runtime.createInstance(CLSID_OF[backend], IBackgroundCopyManager.iid);
  const context = backend === 'delivery-optimization' ? { runtime, backend, bridge: bridgeHooks(runtime) } : { runtime, backend };
  return new BitsManager(ComPtr.adopt(address, IBackgroundCopyManager), context, choice);
}

/** The job's calls to the bridge behind a bridged runtime (JobContext.bridge). */
function bridgeHooks(runtime: ComRuntime): NonNullable<JobContext['bridge']> {
  return {
    settle: async (id) => bridgeOf(runtime)?.settle(id),
    describeFiles: (id, files) => bridgeOf(runtime)?.describeFiles(id, files),
  };
}

async function connectPortable(stateDir: string | undefined, portable: PortableOptions, choice: BackendChoice): Promise<BitsManager> {
  const engine = await portableEngine(stateDir ?? defaultStateDir(), { ...ENGINE_DEFAULTS, ...portable });
  return connectService('portable', engine.runtime, choice);
}
