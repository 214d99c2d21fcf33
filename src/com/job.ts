import koffi from 'koffi';
import { requireSupport, type Backend } from './backend.js';
import type { CallbackObject } from './callback-object.js';
import { ComPtr } from './com-ptr.js';
import { enumerate } from './enumerate.js';
import {
  ERROR_CONTEXTS,
  JOB_PRIORITIES,
  JOB_STATES,
  JOB_TYPES,
  NotifyFlags,
  PROXY_USAGES,
  nameOf,
  type AuthScheme,
  type AuthTarget,
  type ErrorContext,
  type FileAclFlag,
  type JobPriority,
  type PeerCachingFlag,
  type JobState,
  type JobType,
  type ProxyUsage,
} from './enums.js';
import type { Credentials } from './credentials.js';
import * as job2 from './job2.js';
import type { NotifyCommandLine, ReplyProgress } from './job2.js';
import * as job3 from './job3.js';
import type { RangedFileSpec } from './job3.js';
import * as job4 from './job4.js';
import * as job5 from './job5.js';
import * as httpOptions from './http-options.js';
import type { ClientCertificate, ClientCertificateInfo } from './client-certificate.js';
import type { SecurityOptions, SecurityOptionsInfo } from './http-security.js';
import type { CertificatePins } from './certificate-pins.js';
import type { JobPropertyInput, JobPropertyName, JobPropertyOutput } from './job-properties.js';
import { ComError, InvalidArgumentError, unlessComError } from './errors.js';
import { decodeGuid, type Guid } from './guid.js';
import {
  BG_E_ERROR_INFORMATION_UNAVAILABLE,
  BG_S_PARTIAL_COMPLETE,
  BG_S_UNABLE_TO_DELETE_FILES,
  hresultMessage,
  hresultName,
  formatHresult,
  isFailure,
  toUnsignedHresult,
} from './hresult.js';
import type { ComInterface, MethodsTaking } from './interface-table.js';
import {
  IBackgroundCopyError,
  IBackgroundCopyFile,
  IBackgroundCopyJob,
  IBackgroundCopyJobHttpOptions,
  IEnumBackgroundCopyFiles,
  IUnknown,
} from './interfaces.js';
import {
  BG_FILE_PROGRESS,
  BG_JOB_PROGRESS,
  BG_JOB_TIMES,
  BG_SIZE_UNKNOWN,
  fileTimeToDate,
  pointerSlot,
  type Pointer,
  toBigInt,
} from './native-types.js';
import type { ComRuntime } from './runtime.js';
import { takeString } from './task-memory.js';
import { throughInterface } from './through-interface.js';
import { BitsFile } from './bits-file.js';
import {
  checkFileSpec,
  checkFiles,
  checkHeaders,
  checkLanguageId,
  checkNotifyFlags,
  checkObject,
  checkPriority,
  checkSeconds,
  checkString,
  kindOf,
  checkUploadFiles,
  MAX_DESCRIPTION,
  MAX_DISPLAY_NAME,
} from './validate.js';

type JobPtr = ComPtr<typeof IBackgroundCopyJob>;

/** A file to transfer. */
export interface FileSpec {
  /** http(s) or file URL (or UNC path) to download from. */
  readonly url: string;
  /** Absolute local file name; the file appears there when the job is completed. */
  readonly localPath: string;
  /** Delivery Optimization only: the content id peers share the file under (defaults to the URL). */
  readonly fileId?: string;
  /** Delivery Optimization only: the size in bytes, when known in advance. */
  readonly size?: number;
}

export interface JobProgress {
  /** Undefined until the service knows the total (BG_SIZE_UNKNOWN). */
  readonly bytesTotal: number | undefined;
  readonly bytesTransferred: number;
  readonly filesTotal: number;
  readonly filesTransferred: number;
}

export interface JobTimes {
  readonly created: Date | undefined;
  readonly modified: Date | undefined;
  readonly transferCompleted: Date | undefined;
}

export interface JobFileInfo {
  readonly url: string;
  readonly localPath: string;
  readonly bytesTotal: number | undefined;
  readonly bytesTransferred: number;
  readonly completed: boolean;
}

/** What IBackgroundCopyError says about a failed job. */
export interface JobErrorInfo {
  readonly context: ErrorContext;
  /** Unsigned HRESULT, e.g. 0x80190194. */
  readonly hresult: number;
  /** Symbolic name, e.g. `BG_E_HTTP_ERROR_404`, when known. */
  readonly code: string | undefined;
  readonly description: string;
  readonly contextDescription: string | undefined;
  readonly protocol: string | undefined;
  readonly file: JobFileInfo | undefined;
}

/** A success HRESULT that carries information (BG_S_*), as returned by Cancel and Complete. */
export interface JobActionResult {
  readonly hresult: number;
  readonly code: string | undefined;
}

export interface CompleteResult extends JobActionResult {
  /** BG_S_PARTIAL_COMPLETE: only the files that were transferred are at their local names. */
  readonly partial: boolean;
  /** BG_S_UNABLE_TO_DELETE_FILES: some temporary files were left behind. */
  readonly unableToDeleteFiles: boolean;
}

export interface ProxySettings {
  readonly usage: ProxyUsage;
  readonly proxyList: string | undefined;
  readonly bypassList: string | undefined;
}

export interface JobContext {
  readonly runtime: ComRuntime;
  readonly backend: Backend;
  /** The Delivery Optimization bridge (src/do), on that backend. */
  readonly bridge?: BridgeHooks;
}

/**
 * What a job of the Delivery Optimization bridge needs beyond the BITS surface. The bridge answers
 * every BITS call at once and makes DO's calls afterwards; an action whose result the caller awaits
 * (AddFile, Complete, Cancel) waits for them with `settle`, which rejects with their failure.
 */
export interface BridgeHooks {
  settle(jobId: Guid): Promise<void>;
  /** The DO-only parts of files about to be added (content id, size), which AddFile cannot carry. */
  describeFiles(jobId: Guid, files: readonly FileSpec[]): void;
}

function optionalSize(value: number | bigint): number | undefined {
  const big = toBigInt(value);
  return big === BG_SIZE_UNKNOWN ? undefined : Number(big);
}

function actionResult(hresult: number): JobActionResult {
  return { hresult, code: hresultName(hresult) };
}

/** Reads a file's names and progress. */
export async function readFileInfo(file: ComPtr<typeof IBackgroundCopyFile>, runtime: ComRuntime): Promise<JobFileInfo> {
  // Each name is taken (and its task memory freed) as soon as it arrives: a later call that fails
  // must not strand the string an earlier one returned.
  const remote = pointerSlot();
  await file.call('GetRemoteName', remote);
  const url = takeString(runtime, remote);
  const local = pointerSlot();
  await file.call('GetLocalName', local);
  const localPath = takeString(runtime, local);
  const progressBuffer = Buffer.alloc(koffi.sizeof(BG_FILE_PROGRESS));
  await file.call('GetProgress', progressBuffer);
  const progress = koffi.decode(progressBuffer, BG_FILE_PROGRESS) as { BytesTotal: number | bigint; BytesTransferred: number | bigint; Completed: number };
  return {
    url,
    localPath,
    bytesTotal: optionalSize(progress.BytesTotal),
    bytesTransferred: Number(progress.BytesTransferred),
    completed: progress.Completed !== 0,
  };
}

/** The string `read` puts in its slot, or undefined where the service answered a failure. */
async function optionalString(runtime: ComRuntime, read: (slot: Buffer) => Promise<number>): Promise<string | undefined> {
  const slot = pointerSlot();
  const hr = await read(slot);
  return isFailure(hr) ? undefined : takeString(runtime, slot);
}

/**
 * Reads an IBackgroundCopyError (from GetError or a JobError notification). Descriptions are optional
 * parts: where the service cannot give one (Wine answers 0x800706F4), our own table fills in.
 */
export async function readJobError(error: ComPtr<typeof IBackgroundCopyError>, runtime: ComRuntime, languageId = 0): Promise<JobErrorInfo> {
  const contextBuffer = Buffer.alloc(4);
  const codeBuffer = Buffer.alloc(4);
  await error.call('GetError', contextBuffer, codeBuffer);
  const hresult = toUnsignedHresult(codeBuffer.readInt32LE());
  const description =
    (await optionalString(runtime, (slot) => error.callRaw('GetErrorDescription', languageId, slot)))?.trim() ||
    hresultMessage(hresult) ||
    `Error ${formatHresult(hresult)}`;
  const contextDescription = (await optionalString(runtime, (slot) => error.callRaw('GetErrorContextDescription', languageId, slot)))?.trim();
  const protocol = await optionalString(runtime, (slot) => error.callRaw('GetProtocol', slot));
  const fileSlot = pointerSlot();
  const fileHr = await error.callRaw('GetFile', fileSlot);
  let file: JobFileInfo | undefined;
  const filePtr = !isFailure(fileHr) ? ComPtr.fromSlot(fileSlot, IBackgroundCopyFile) : undefined;
  if (filePtr !== undefined) {
    try {
      file = await readFileInfo(filePtr, runtime);
    } finally {
      await filePtr.release();
    }
  }
  return {
    context: nameOf(ERROR_CONTEXTS, contextBuffer.readInt32LE(), 'BG_ERROR_CONTEXT'),
    hresult,
    code: hresultName(hresult),
    description,
    contextDescription: contextDescription || undefined,
    protocol: protocol || undefined,
    file,
  };
}

/**
 * What whoever watches a job (its hub) must hear of this process's own calls on it, keyed by job id.
 * The watcher makes each call itself, in order with its own reads of the job.
 * - `leave`, around Complete/Cancel; `call` answers the job's state afterwards. Before it, the
 *   watcher clears its callback registration while the service still accepts SetNotifyInterface
 *   (NULL): a job that left the queue refuses it with BG_E_INVALID_STATE, and the service then holds
 *   our callback past our exit (Wine's crashes on it). After it, a final state ends the watcher at
 *   once, without waiting for a poll that might never come (`transferred$` alone does not poll);
 *   any other state, or a failed call, means the job stays, and the watcher registers again.
 * - `resume`, around the Resume call: a new attempt begins, so its terminal event is a new one even
 *   where the service cannot say so (Wine has no error count), and none of the watcher's reads can
 *   mistake the old attempt for the new.
 */
export interface JobWatcher {
  leave(call: () => Promise<JobState>): Promise<void>;
  resume(call: () => Promise<unknown>): Promise<void>;
}

const watchers = new Map<Guid, JobWatcher>();

/** Registers the watcher of a job (one per job); the returned function removes it. */
export function watchJob(id: Guid, watcher: JobWatcher): () => void {
  watchers.set(id, watcher);
  return () => {
    if (watchers.get(id) === watcher) watchers.delete(id);
  };
}

/**
 * One reference to a BITS (or Delivery Optimization) job. Every method is a call into the service on
 * a worker thread. `release()` gives the reference back; it never cancels or completes the job.
 */
export class BitsJob {
  readonly #ptr: JobPtr;
  /** Interfaces this job's service refused: asked once, never again (the answer is the service's, for good). */
  readonly #refused = new Set<ComInterface>();
  /**
   * The job's type, and for an upload job how many files it holds: known from createJob, else read
   * once before files are added, so that a second file of an upload job is refused before the call.
   */
  #kind: { readonly type: JobType; files: number } | undefined;

  private constructor(
    ptr: JobPtr,
    readonly id: Guid,
    private readonly context: JobContext,
  ) {
    this.#ptr = ptr;
  }

  /** Wraps an owned IBackgroundCopyJob pointer; reads the id unless the caller knows it (createJob also knows the type of its new, empty job). */
  static async open(ptr: JobPtr, context: JobContext, knownId?: Guid, newOfType?: JobType): Promise<BitsJob> {
    if (knownId !== undefined) {
      const job = new BitsJob(ptr, knownId, context);
      if (newOfType !== undefined) job.#kind = { type: newOfType, files: 0 };
      return job;
    }
    try {
      const idBuffer = Buffer.alloc(16);
      await ptr.call('GetId', idBuffer);
      return new BitsJob(ptr, decodeGuid(idBuffer), context);
    } catch (error) {
      await ptr.release();
      throw error;
    }
  }

  get backend(): Backend {
    return this.context.backend;
  }

  /** @internal The COM runtime the job was reached through, for reconnecting after the service went away. */
  get runtime(): ComRuntime {
    return this.context.runtime;
  }

  get released(): boolean {
    return this.#ptr.released;
  }

  /** @internal The raw interface pointer, for the layers that pass it to the service. */
  get pointer(): JobPtr {
    return this.#ptr;
  }

  /** A second, independent reference to the same job (QueryInterface on a worker thread). */
  async duplicate(): Promise<BitsJob> {
    return new BitsJob(await this.#ptr.queryInterface(IBackgroundCopyJob), this.id, this.context);
  }

  /**
   * @internal Uses the job through another of its interfaces (QueryInterface), released afterwards.
   * An interface the service does not have (E_NOINTERFACE) is an `InterfaceNotSupportedError`
   * naming it and the BITS version that introduced it; it is asked for once per job, and the job's
   * files (`files()`) share the answers.
   */
  withInterface<I extends ComInterface, T>(target: I, use: (ptr: ComPtr<I>) => Promise<T>): Promise<T> {
    return throughInterface(this.#ptr, target, this.#refused, this.backend, use);
  }

  /** Validates every file before the service sees any, then adds them. BITS adds a set atomically. */
  async addFiles(files: readonly FileSpec[]): Promise<void> {
    return this.#addFiles(checkFiles(files, 'files', this.context.runtime.pathStyle, this.backend), 'files');
  }

  /** For an upload job, `file.localPath` is the file to send and `file.url` where it goes (one file per upload job). */
  async addFile(file: FileSpec): Promise<void> {
    return this.#addFiles([checkFileSpec(file, 'file', this.context.runtime.pathStyle, this.backend)], 'file');
  }

  async #addFiles(checked: readonly FileSpec[], field: string): Promise<void> {
    if (checked.length === 0) return;
    this.#ptr.address('AddFile');
    const kind = this.backend === 'delivery-optimization' ? undefined : await this.#knownKind();
    if (kind !== undefined && kind.type !== 'download') checkUploadFiles(checked, field, kind.files);
    await this.#callAddFiles(checked);
    if (kind !== undefined) kind.files += checked.length;
  }

  /** The job's type and file count, read once (GetType, GetProgress) when createJob did not say. */
  async #knownKind(): Promise<{ readonly type: JobType; files: number }> {
    if (this.#kind === undefined) {
      const type = await this.getType();
      const files = type === 'download' ? 0 : (await this.getProgress()).filesTotal;
      this.#kind ??= { type, files };
    }
    return this.#kind;
  }

  async #callAddFiles(checked: readonly FileSpec[]): Promise<void> {
    // Delivery Optimization: what AddFile cannot carry (a content id, a size) goes to the bridge first.
    this.context.bridge?.describeFiles(this.id, checked);
    if (checked.length === 1 && checked[0] !== undefined) {
      await this.#ptr.call('AddFile', checked[0].url, checked[0].localPath);
    } else {
      await this.#ptr.call(
        'AddFileSet',
        checked.length,
        checked.map((file) => ({ RemoteName: file.url, LocalName: file.localPath })),
      );
    }
    await this.context.bridge?.settle(this.id);
  }

  /** Starts or restarts the transfer; from ERROR or TRANSIENT_ERROR it retries at once. */
  async resume(): Promise<void> {
    const call = () => this.#ptr.call('Resume');
    const watcher = watchers.get(this.id);
    if (watcher === undefined) await call();
    else await watcher.resume(call);
  }

  async suspend(): Promise<void> {
    await this.#ptr.call('Suspend');
  }

  /** Cancels the job and deletes its temporary files (BG_S_UNABLE_TO_DELETE_FILES is a result, not an error). */
  async cancel(): Promise<JobActionResult> {
    this.#ptr.address('Cancel');
    let hresult = 0;
    await this.#leave(async () => {
      hresult = await this.#ptr.call('Cancel');
      await this.context.bridge?.settle(this.id);
      return 'cancelled';
    });
    return actionResult(hresult);
  }

  /**
   * Makes the transferred files appear at their local names and ends the job. BITS ends it even when
   * only some files are there (BG_S_PARTIAL_COMPLETE); recent Wine keeps such a job until the rest
   * arrive, and a later complete() finishes it.
   */
  async complete(): Promise<CompleteResult> {
    this.#ptr.address('Complete');
    let hresult = 0;
    await this.#leave(async () => {
      hresult = await this.#ptr.call('Complete');
      await this.context.bridge?.settle(this.id);
      return hresult === BG_S_PARTIAL_COMPLETE ? this.#stateAfterPartialComplete() : 'acknowledged';
    });
    return {
      ...actionResult(hresult),
      partial: hresult === BG_S_PARTIAL_COMPLETE,
      unableToDeleteFiles: hresult === BG_S_UNABLE_TO_DELETE_FILES,
    };
  }

  /** Complete or Cancel, through the job's watcher when it has one. */
  async #leave(call: () => Promise<JobState>): Promise<void> {
    const watcher = watchers.get(this.id);
    if (watcher === undefined) await call();
    else await watcher.leave(call);
  }

  /** Whether a partial Complete ended the job (a service that no longer answers for it has ended it). */
  async #stateAfterPartialComplete(): Promise<JobState> {
    return (await unlessComError(this.getState())) ?? 'acknowledged';
  }

  async getState(): Promise<JobState> {
    return nameOf(JOB_STATES, await this.#int('GetState'), 'BG_JOB_STATE');
  }

  async getType(): Promise<JobType> {
    return nameOf(JOB_TYPES, await this.#int('GetType'), 'BG_JOB_TYPE');
  }

  async getProgress(): Promise<JobProgress> {
    const buffer = Buffer.alloc(koffi.sizeof(BG_JOB_PROGRESS));
    await this.#ptr.call('GetProgress', buffer);
    const raw = koffi.decode(buffer, BG_JOB_PROGRESS) as {
      BytesTotal: number | bigint;
      BytesTransferred: number | bigint;
      FilesTotal: number;
      FilesTransferred: number;
    };
    return {
      bytesTotal: optionalSize(raw.BytesTotal),
      bytesTransferred: Number(raw.BytesTransferred),
      filesTotal: raw.FilesTotal,
      filesTransferred: raw.FilesTransferred,
    };
  }

  async getTimes(): Promise<JobTimes> {
    const buffer = Buffer.alloc(koffi.sizeof(BG_JOB_TIMES));
    await this.#ptr.call('GetTimes', buffer);
    type FileTime = { dwLowDateTime: number; dwHighDateTime: number };
    const raw = koffi.decode(buffer, BG_JOB_TIMES) as Record<'CreationTime' | 'ModificationTime' | 'TransferCompletionTime', FileTime>;
    const date = (t: FileTime) => fileTimeToDate(t.dwLowDateTime, t.dwHighDateTime);
    return { created: date(raw.CreationTime), modified: date(raw.ModificationTime), transferCompleted: date(raw.TransferCompletionTime) };
  }

  /** The job's error, or undefined when it has none (BG_E_ERROR_INFORMATION_UNAVAILABLE). */
  async getError(languageId = 0): Promise<JobErrorInfo | undefined> {
    const language = checkLanguageId(languageId, 'languageId');
    const slot = pointerSlot();
    const hr = await this.#ptr.callRaw('GetError', slot);
    if (hr === BG_E_ERROR_INFORMATION_UNAVAILABLE) return undefined;
    if (isFailure(hr)) throw new ComError(hr, IBackgroundCopyJob.name, 'GetError');
    const error = ComPtr.fromSlot(slot, IBackgroundCopyError);
    if (error === undefined) return undefined;
    try {
      return await readJobError(error, this.context.runtime, language);
    } finally {
      await error.release();
    }
  }

  /** Reads the IBackgroundCopyError a JobError notification carried (the pointer stays the caller's). */
  async readNotifiedError(error: ComPtr<typeof IBackgroundCopyError>, languageId = 0): Promise<JobErrorInfo> {
    return readJobError(error, this.context.runtime, checkLanguageId(languageId, 'languageId'));
  }

  /** Reads the IBackgroundCopyFile a FileTransferred notification carried (the pointer stays the caller's). */
  readNotifiedFile(file: ComPtr<typeof IBackgroundCopyFile>): Promise<JobFileInfo> {
    return readFileInfo(file, this.context.runtime);
  }

  /** Every file of the job with its progress (EnumFiles). */
  async getFiles(): Promise<JobFileInfo[]> {
    const slot = pointerSlot();
    await this.#ptr.call('EnumFiles', slot);
    const files: JobFileInfo[] = [];
    for await (const file of enumerate(ComPtr.fromSlot(slot, IEnumBackgroundCopyFiles), IBackgroundCopyFile)) {
      try {
        files.push(await readFileInfo(file, this.context.runtime));
      } finally {
        await file.release();
      }
    }
    return files;
  }

  /**
   * Every file of the job as a {@link BitsFile}, for the methods of IBackgroundCopyFile2-6 (ranges,
   * remote name, temporary name, validation, peers, properties, on-demand reads). Each holds a
   * reference: release every one.
   */
  async files(): Promise<BitsFile[]> {
    const slot = pointerSlot();
    await this.#ptr.call('EnumFiles', slot);
    const files: BitsFile[] = [];
    try {
      for await (const file of enumerate(ComPtr.fromSlot(slot, IEnumBackgroundCopyFiles), IBackgroundCopyFile)) {
        files.push(new BitsFile(file, this.backend, this.context.runtime, this.#refused));
      }
    } catch (error) {
      // A failure half-way must not strand the references already taken.
      await Promise.all(files.map((file) => file.release()));
      throw error;
    }
    return files;
  }

  getOwner(): Promise<string> {
    return this.#string('GetOwner');
  }

  getDisplayName(): Promise<string> {
    return this.#string('GetDisplayName');
  }

  async setDisplayName(name: string): Promise<void> {
    await this.#ptr.call('SetDisplayName', checkString(name, 'displayName', { maxLength: MAX_DISPLAY_NAME }));
  }

  getDescription(): Promise<string> {
    return this.#string('GetDescription');
  }

  async setDescription(description: string): Promise<void> {
    await this.#ptr.call('SetDescription', checkString(description, 'description', { maxLength: MAX_DESCRIPTION, allowEmpty: true }));
  }

  async getPriority(): Promise<JobPriority> {
    return nameOf(JOB_PRIORITIES, await this.#int('GetPriority'), 'BG_JOB_PRIORITY');
  }

  async setPriority(priority: JobPriority): Promise<void> {
    await this.#ptr.call('SetPriority', checkPriority(priority, 'priority'));
  }

  /** BG_NOTIFY_* bits; see {@link NotifyFlags}. */
  getNotifyFlags(): Promise<number> {
    return this.#uint('GetNotifyFlags');
  }

  async setNotifyFlags(flags: number): Promise<void> {
    const checked = checkNotifyFlags(flags, 'notifyFlags');
    // DO's bridge and the engine would answer E_NOTIMPL: refused before the call, as fileRangesTransferred$ is.
    if ((checked & NotifyFlags.FileRangesTransferred) !== 0) requireSupport(this.backend, 'FileRangesTransferred');
    await this.#ptr.call('SetNotifyFlags', checked);
  }

  /** Registers a callback object, or clears the registration with null. */
  async setNotifyInterface(callback: CallbackObject | null): Promise<void> {
    // Checked by its shape, not its class: what the service needs is the object's address.
    const address = callback === null ? null : (callback as Partial<CallbackObject> | undefined)?.address;
    if (address !== null && (typeof address !== 'bigint' || address === 0n)) {
      throw new InvalidArgumentError('callback', 'expected a CallbackObject, or null to clear the registration');
    }
    // Its block may already be freed (the service dropped its reference): never hand that address out.
    if (callback?.disposed === true) throw new InvalidArgumentError('callback', 'this CallbackObject was disposed; make a new one');
    await this.#ptr.call('SetNotifyInterface', address);
  }

  /** Whether some callback (ours or another process's: last writer wins) is registered. */
  async hasNotifyInterface(): Promise<boolean> {
    return (await this.notifyInterface()) !== undefined;
  }

  /**
   * Whether `callback` is the job's registered notify interface. COM hands an object back to the
   * apartment it came from as its own pointer (seen under Wine), and an object of another process as
   * a proxy, a different address: so "still ours" is a pointer comparison.
   */
  async notifyInterfaceIs(callback: CallbackObject): Promise<boolean> {
    return (await this.notifyInterface()) === callback.address;
  }

  /**
   * @internal The registered notify interface's address (its reference given back at once), or
   * undefined when none is registered: compare it with a callback object's address.
   */
  async notifyInterface(): Promise<Pointer | undefined> {
    const slot = pointerSlot();
    await this.#ptr.call('GetNotifyInterface', slot);
    const registered = ComPtr.fromSlot(slot, IUnknown);
    if (registered === undefined) return undefined;
    const address = registered.address();
    await registered.release();
    return address;
  }

  async getMinimumRetryDelay(): Promise<number> {
    requireSupport(this.backend, 'GetMinimumRetryDelay');
    return this.#uint('GetMinimumRetryDelay');
  }

  /** Seconds BITS waits in TRANSIENT_ERROR before retrying by itself. */
  async setMinimumRetryDelay(seconds: number): Promise<void> {
    const checked = checkSeconds(seconds, 'minimumRetryDelay');
    requireSupport(this.backend, 'SetMinimumRetryDelay');
    await this.#ptr.call('SetMinimumRetryDelay', checked);
  }

  getNoProgressTimeout(): Promise<number> {
    return this.#uint('GetNoProgressTimeout');
  }

  /** Seconds without progress after which a transient error becomes fatal; 0 makes every error fatal. */
  async setNoProgressTimeout(seconds: number): Promise<void> {
    await this.#ptr.call('SetNoProgressTimeout', checkSeconds(seconds, 'noProgressTimeout'));
  }

  getErrorCount(): Promise<number> {
    return this.#uint('GetErrorCount');
  }

  async getProxySettings(): Promise<ProxySettings> {
    requireSupport(this.backend, 'proxy settings');
    const usage = Buffer.alloc(4);
    const list = pointerSlot();
    const bypass = pointerSlot();
    await this.#ptr.call('GetProxySettings', usage, list, bypass);
    const proxyList = takeString(this.context.runtime, list);
    const bypassList = takeString(this.context.runtime, bypass);
    return {
      usage: nameOf(PROXY_USAGES, usage.readInt32LE(), 'BG_JOB_PROXY_USAGE'),
      proxyList: proxyList || undefined,
      bypassList: bypassList || undefined,
    };
  }

  async setProxySettings(settings: { usage: ProxyUsage; proxyList?: string; bypassList?: string }): Promise<void> {
    checkObject(settings, 'proxy', '{ usage, proxyList?, bypassList? }');
    const usage = PROXY_USAGES.indexOf(settings.usage);
    if (usage < 0) throw new InvalidArgumentError('proxy.usage', `unknown proxy usage '${String(settings.usage)}'`);
    const list = settings.proxyList === undefined ? null : checkString(settings.proxyList, 'proxy.proxyList', { maxLength: 4000 });
    const bypass = settings.bypassList === undefined ? null : checkString(settings.bypassList, 'proxy.bypassList', { maxLength: 4000 });
    if (settings.usage === 'override' && list === null) {
      throw new InvalidArgumentError('proxy.proxyList', "is required when usage is 'override'");
    }
    requireSupport(this.backend, 'proxy settings');
    await this.#ptr.call('SetProxySettings', usage, list, bypass);
  }

  /** Custom HTTP request headers for every request of the job (BITS 2.5+; not Delivery Optimization). */
  async setCustomHeaders(headers: Readonly<Record<string, string>>): Promise<void> {
    const text = checkHeaders(headers, 'headers');
    requireSupport(this.backend, 'custom headers');
    await this.withInterface(IBackgroundCopyJobHttpOptions, (options) => options.call('SetCustomHeaders', text === '' ? null : text));
  }

  /** The custom headers, as name/value pairs. */
  async getCustomHeaders(): Promise<Record<string, string>> {
    requireSupport(this.backend, 'custom headers');
    const slot = pointerSlot();
    await this.withInterface(IBackgroundCopyJobHttpOptions, (options) => options.call('GetCustomHeaders', slot));
    const text = takeString(this.context.runtime, slot);
    return Object.fromEntries(
      text
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]),
    );
  }

  /** The certificate to present to servers that ask for one, by SHA-1 thumbprint or subject name (BITS 2.5+). */
  setClientCertificate(certificate: ClientCertificate): Promise<void> {
    return httpOptions.setClientCertificate(this, certificate);
  }

  /** The client certificate, or undefined when the job has none. */
  getClientCertificate(): Promise<ClientCertificateInfo | undefined> {
    return httpOptions.getClientCertificate(this);
  }

  removeClientCertificate(): Promise<void> {
    return httpOptions.removeClientCertificate(this);
  }

  /** Revocation checks, certificate errors to ignore (each by name) and the redirect policy; options left out take BITS's defaults (BITS 2.5+). */
  setSecurityOptions(options: SecurityOptions): Promise<void> {
    return httpOptions.setSecurityOptions(this, options);
  }

  getSecurityOptions(): Promise<SecurityOptionsInfo> {
    return httpOptions.getSecurityOptions(this);
  }

  /** The HTTP method of the job's requests (BITS 10.2+); anything but the default locks the job at foreground priority. */
  setHttpMethod(method: string): Promise<void> {
    return httpOptions.setHttpMethod(this, method);
  }

  /** GET for downloads and BITS_POST for uploads unless set. */
  getHttpMethod(): Promise<string> {
    return httpOptions.getHttpMethod(this);
  }

  /**
   * Accepts a server certificate only if it matches one of these pins (SHA-256 of the certificate or
   * of its public key), decided on rx-bits's receiver thread while BITS waits; null removes it. BITS
   * 10.3+; the job must not be transferring.
   */
  setServerCertificateValidation(pins: CertificatePins | null): Promise<void> {
    return httpOptions.setServerCertificateValidation(this, pins);
  }

  /** Makes the custom headers write-only, for good (BITS 10.3+): getCustomHeaders() is refused afterwards. */
  makeCustomHeadersWriteOnly(): Promise<void> {
    return httpOptions.makeCustomHeadersWriteOnly(this);
  }

  /**
   * The program BITS runs when the job is transferred or fails (as its notify flags ask), even with
   * the application gone; null clears it. BITS 1.5+ (IBackgroundCopyJob2); the program must be an
   * absolute path. With a callback registered too, BITS runs it only when the callback cannot be reached.
   */
  setNotifyCommandLine(commandLine: NotifyCommandLine | null): Promise<void> {
    return job2.setNotifyCommandLine(this, commandLine);
  }

  /** The notify command line, or undefined when none is set. */
  getNotifyCommandLine(): Promise<NotifyCommandLine | undefined> {
    return job2.getNotifyCommandLine(this);
  }

  /**
   * Credentials for the server or the proxy (one entry per target and scheme; a second replaces the
   * first). Write-only: nothing reads them back. The strings live in native memory for the call only,
   * zeroed afterwards. BITS 1.5+.
   */
  async setCredentials(credentials: Credentials): Promise<void> {
    // Refused before the QueryInterface for IBackgroundCopyJob2, which DO's bridge and the engine answer with E_NOINTERFACE.
    requireSupport(this.backend, 'credentials');
    return job2.setCredentials(this, credentials);
  }

  async removeCredentials(target: AuthTarget, scheme: AuthScheme): Promise<void> {
    requireSupport(this.backend, 'credentials');
    return job2.removeCredentials(this, target, scheme);
  }

  /** Upload-reply jobs: how much of the server's reply has arrived. */
  getReplyProgress(): Promise<ReplyProgress> {
    return job2.getReplyProgress(this);
  }

  /** Upload-reply jobs: the server's reply (at most 1 MiB; more is a ReplyTooLargeError), once the job is transferred. */
  getReplyData(): Promise<Buffer | undefined> {
    return job2.getReplyData(this);
  }

  /** Upload-reply jobs: where the reply is written; null lets BITS choose. */
  setReplyFileName(fileName: string | null): Promise<void> {
    return job2.setReplyFileName(this, fileName);
  }

  getReplyFileName(): Promise<string | undefined> {
    return job2.getReplyFileName(this);
  }

  /**
   * Replaces `oldPrefix` (case-sensitive) at the head of every remote name with `newPrefix`, e.g. to
   * move the job to a mirror; resolves whether any name matched. Download jobs; BITS 2.0+ (IBackgroundCopyJob3).
   */
  replaceRemotePrefix(oldPrefix: string, newPrefix: string): Promise<boolean> {
    return job3.replaceRemotePrefix(this, oldPrefix, newPrefix);
  }

  /** Files of which only byte ranges are downloaded, back to back in the local file (http/https, download jobs; BITS 2.0+). */
  addFilesWithRanges(files: readonly RangedFileSpec[]): Promise<void> {
    return job3.addFilesWithRanges(this, files);
  }

  /** What of an SMB source's owner, group, DACL and SACL the copies keep (ignored for HTTP; BITS 2.0+). */
  setFileAclFlags(flags: readonly FileAclFlag[]): Promise<void> {
    return job3.setFileAclFlags(this, flags);
  }

  getFileAclFlags(): Promise<FileAclFlag[]> {
    return job3.getFileAclFlags(this);
  }

  /** Peer caching (deprecated since BITS 4.0) and BranchCache for this job, as names; BITS 3.0+ (IBackgroundCopyJob4). */
  setPeerCachingFlags(flags: readonly PeerCachingFlag[]): Promise<void> {
    return job4.setPeerCachingFlags(this, flags);
  }

  getPeerCachingFlags(): Promise<PeerCachingFlag[]> {
    return job4.getPeerCachingFlags(this);
  }

  /** The owner's mandatory integrity level when it created the job (0x2000 medium, 0x3000 high); BITS 3.0+. */
  getOwnerIntegrityLevel(): Promise<number> {
    return job4.getOwnerIntegrityLevel(this);
  }

  /** Whether the owner was elevated when it created the job; BITS 3.0+. */
  isOwnerElevated(): Promise<boolean> {
    return job4.isOwnerElevated(this);
  }

  /** Seconds the job may spend connecting and transferring after a Resume before failing with BG_E_MAXDOWNLOAD_TIMEOUT (default 90 days); BITS 3.0+. */
  setMaximumDownloadTime(seconds: number): Promise<void> {
    return job4.setMaximumDownloadTime(this, seconds);
  }

  getMaximumDownloadTime(): Promise<number> {
    return job4.getMaximumDownloadTime(this);
  }

  /**
   * Sets one of the job's properties (IBackgroundCopyJob5, BITS 5.0+), e.g.
   * `setProperty('transferPolicy', 'standard')`; `JobPropertyTypes` gives each one's value.
   * A property newer than the service is a JobPropertyNotSupportedError.
   */
  setProperty<K extends JobPropertyName>(name: K, value: JobPropertyInput<K>): Promise<void> {
    return job5.setJobProperty(this, name, value);
  }

  getProperty<K extends JobPropertyName>(name: K): Promise<JobPropertyOutput<K>> {
    return job5.getJobProperty(this, name);
  }

  /** Makes the current user the owner (needs administrator rights for another user's job). */
  async takeOwnership(): Promise<void> {
    await this.#ptr.call('TakeOwnership');
  }

  /** Gives this reference back. The job itself carries on in the service. */
  release(): Promise<void> {
    return this.#ptr.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  async #int(method: MethodsTaking<typeof IBackgroundCopyJob, ['_Out_ int *']>): Promise<number> {
    const buffer = Buffer.alloc(4);
    await this.#ptr.call(method, buffer);
    return buffer.readInt32LE();
  }

  async #uint(method: MethodsTaking<typeof IBackgroundCopyJob, ['_Out_ uint32 *']>): Promise<number> {
    const buffer = Buffer.alloc(4);
    await this.#ptr.call(method, buffer);
    return buffer.readUInt32LE();
  }

  async #string(method: MethodsTaking<typeof IBackgroundCopyJob, ['_Out_ char16_t **']>): Promise<string> {
    const slot = pointerSlot();
    await this.#ptr.call(method, slot);
    return takeString(this.context.runtime, slot);
  }
}

/**
 * A job argument (of the Observables and operators): a {@link BitsJob}, as anything else would fail
 * later with a bare TypeError. A released one passes: another handle of the same job may still serve
 * its hub, and a hub with none errors its streams with a `ReleasedError`.
 */
export function checkJob(value: unknown, field = 'job'): BitsJob {
  if (!(value instanceof BitsJob)) {
    throw new InvalidArgumentError(field, `expected a BitsJob (from createJob, getJob or jobs()), got ${kindOf(value)}`);
  }
  return value;
}
