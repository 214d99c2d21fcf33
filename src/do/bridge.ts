import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ComObject } from '../com/com-object.js';
import { ComPtr } from '../com/com-ptr.js';
import { DO_PROPERTIES, IDODownload, IDOManager, IEnumUnknown } from '../com/do-interfaces.js';
import type { FileSpec } from '../com/job.js';
import { DO_E_NO_DOWNLOADS, DO_E_UNKNOWN_PROPERTY_ID, E_NOT_SET, isDoTransientError } from '../com/do-errors.js';
import { notifies } from '../com/enums.js';
import { ComError, NotSupportedByBackendError } from '../com/errors.js';
import { parseGuid, type Guid } from '../com/guid.js';
import {
  BG_E_EMPTY,
  BG_E_INVALID_STATE,
  BG_E_NOT_FOUND,
  BG_S_PARTIAL_COMPLETE,
  DO_E_JOB_NOT_FOUND,
  isFailure,
  isServiceGone,
  RPC_S_SERVER_UNAVAILABLE,
  S_OK,
} from '../com/hresult.js';
import { CLSID_DeliveryOptimization, IUnknown } from '../com/interfaces.js';
import { invokeSync } from '../com/invoke.js';
import { pointerSlot, readPointer, type Pointer } from '../com/native-types.js';
import type { ComRuntime } from '../com/runtime.js';
import type { OleAutomation } from '../com/automation.js';
import { StatusCallback } from '../com/status-callback.js';
import type { JobState } from '../com/enums.js';
import { reportEngineBug } from '../engine/com/context.js';
import { createErrorObject } from '../engine/com/error.js';
import { createFileObject } from '../engine/com/file.js';
import { TaskMemory } from '../engine/com/task-memory.js';
import { NOTIFIER_DEFAULTS, Notifier, type NotifyTarget } from '../engine/notifier.js';
import { bitsStateOf, commandFailure, errorOf, isTransientStatus, NEW_BRIDGE_JOB, newFile, type BridgeFile, type BridgeJob } from './bridge-job.js';
import { createBridgeJobObject } from './com/job.js';
import { createManager } from '../engine/com/manager.js';
import { DoDownload, statusOf, type DoStatus } from './download.js';
import { PropertyNotSupportedError } from './errors.js';
import { decodeDownloadName, encodeDownloadName } from './naming.js';
import { JobCommands } from './job-commands.js';
import { downloadProperties } from './properties.js';
import type { DeliveryOptimizationOptions } from './options.js';
import { JobObjects } from '../engine/com/job-objects.js';

/**
 * The Delivery Optimization bridge: a BITS-shaped COM server inside this process (as the portable
 * engine is), whose jobs are DO downloads, one per file. The whole library above it (BitsManager,
 * BitsJob, the hubs, operators, download(), resumePending()) works on it unchanged.
 *
 * - Every BITS-facing method answers at once from the cached model (bridge-job.ts), as BITS answers
 *   Resume at once and moves the state later. Every call into DO is made afterwards, on rx-bits's
 *   call threads (ComPtr), in order per job; never synchronously on the JS thread, which may be an
 *   Electron STA. A DO command that fails becomes the job's error (ERROR, or TRANSIENT_ERROR in DO's
 *   transient zone) and wakes its callback, as BITS reports transfer errors.
 * - DO tells the bridge through our IDODownloadStatusCallback on each download (status-callback.ts,
 *   hosted by the receiver thread). While someone has a BITS callback registered, a backstop polls
 *   GetStatus every few seconds, as DO clients do.
 * - Files are transferred one after another, as BITS does: the next download starts when the one
 *   before is Transferred.
 * - A bridge lives while anyone holds one of its objects; then it detaches its callbacks and lets
 *   go of DO's objects. The next connect() opens a new one, which finds the jobs again through
 *   EnumDownloads (naming.ts).
 */

/** DO clients poll GetStatus every few seconds without callbacks (do-com.md: 3 s). Only while a BITS callback is registered. */
const BACKSTOP_MS = 3000;

/** What the bridge's COM classes reach into (src/do/com). */
export interface BridgeContext {
  readonly taskMemory: TaskMemory;
  readonly jobs: ReadonlyMap<Guid, BridgeJob>;
  readonly owner: string;
  opened(): { onFinalRelease(): void };
  jobObject(job: BridgeJob): ComObject;
  createJob(displayName: string): BridgeJob;
  addFile(job: BridgeJob, url: string, localPath: string): number;
  resume(job: BridgeJob): number;
  suspend(job: BridgeJob): number;
  cancel(job: BridgeJob): number;
  complete(job: BridgeJob): number;
  /** A property changed that DO's downloads carry too (display name, priority). */
  changed(job: BridgeJob): void;
  /** A job that is leaving (Complete or Cancel made, DO not yet done) refuses every change. */
  leaving(job: BridgeJob): boolean;
  target(job: BridgeJob): NotifyTarget | undefined;
  setTarget(job: BridgeJob, target: NotifyTarget | undefined): void;
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['USERNAME'] ?? 'unknown';
  }
}

interface Seen {
  state: JobState;
  bytes: number;
  completed: number;
}

export class DoBridge {
  readonly #jobs = new Map<Guid, BridgeJob>();
  readonly #targets = new Map<string, NotifyTarget>();
  readonly #jobObjects = new JobObjects();
  readonly #commands = new JobCommands();
  readonly #leaving = new Set<Guid>();
  readonly #described = new Map<Guid, Map<string, FileSpec>>();
  readonly #seen = new Map<Guid, Seen>();
  /** Files this bridge paused, until it starts them again. */
  readonly #pausedByUs = new WeakSet<BridgeFile>();
  /** Per file, how many statuses were applied: a GetStatus answer older than a callback is dropped. */
  readonly #statusSeq = new WeakMap<BridgeFile, number>();
  readonly #notifier: Notifier;
  readonly #context: BridgeContext;
  readonly #owner = currentUser();
  #held = 0;
  #backstop: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  /** DO's manager; undefined while DO is away (its service restarted and did not answer yet). */
  #manager: ComPtr<typeof IDOManager> | undefined;
  #reconnecting: Promise<void> | undefined;

  private constructor(
    manager: ComPtr<typeof IDOManager>,
    private readonly service: ComRuntime,
    private readonly automation: OleAutomation,
    readonly taskMemory: TaskMemory,
    private readonly onIdle: (bridge: DoBridge) => void,
  ) {
    this.#manager = manager;
    this.#notifier = new Notifier(NOTIFIER_DEFAULTS, (id) => this.#targets.get(id));
    this.#context = this.#makeContext();
  }

  /** DO's manager, or, while DO is away, the failure that sends the caller to reconnect. */
  #managerPtr(): ComPtr<typeof IDOManager> {
    if (this.#manager === undefined) throw new ComError(RPC_S_SERVER_UNAVAILABLE, IDOManager.name, 'CreateDownload');
    return this.#manager;
  }

  /** Connects to DO (CoCreateInstance of IDOManager) and finds this caller's jobs among its downloads. */
  static async open(service: ComRuntime, taskMemory: TaskMemory, onIdle: (bridge: DoBridge) => void): Promise<DoBridge> {
    const automation = service.automation;
    if (automation === undefined) throw new NotSupportedByBackendError('delivery-optimization', 'this COM runtime', 'it has no OLE Automation (BSTR, VARIANT)');
    await service.initialize();
    await StatusCallback.ready();
    const manager = ComPtr.adopt(await service.createInstance(CLSID_DeliveryOptimization, IDOManager.iid), IDOManager);
    const bridge = new DoBridge(manager, service, automation, taskMemory, onIdle);
    try {
      await bridge.#load();
    } catch (error) {
      await bridge.#close();
      throw error;
    }
    return bridge;
  }

  /** A new IBackgroundCopyManager of the bridge, with one reference for the caller. */
  managerObject(): ComObject {
    return createManager(this.#context);
  }

  /**
   * Resolves once the job's DO commands queued so far are done; rejects with the failure one of them
   * had for its caller (a property this build lacks, a Finalize DO refused).
   */
  settle(id: Guid): Promise<void> {
    return this.#commands.settle(id);
  }

  /** The DO-only parts of files the next AddFile calls of a job bring (BridgeHooks.describeFiles). */
  describeFiles(id: Guid, files: readonly FileSpec[]): void {
    let described = this.#described.get(id);
    if (described === undefined) this.#described.set(id, (described = new Map()));
    for (const file of files) if (file.fileId !== undefined || file.size !== undefined) described.set(file.localPath, file);
  }

  /** createJob's DO-only options and headers, before any file is added (they are set on each download in Created). */
  configure(id: Guid, options: DeliveryOptimizationOptions, headers: string): void {
    const job = this.#jobs.get(id);
    if (job === undefined) throw new ComError(BG_E_NOT_FOUND, 'delivery-optimization bridge', 'configure');
    // HttpCustomHeaders: `Name: value` lines, each ended by CRLF ([W]).
    job.options = options;
    job.headers = headers === '' ? '' : `${headers}\r\n`;
  }

  /** CoDisconnectObject: every registration of this callback lets go of it. */
  disconnect(address: Pointer): void {
    for (const job of this.#jobs.values()) if (this.#targets.get(job.id)?.address === address) this.#setTarget(job, undefined);
  }

  // --- jobs found again ------------------------------------------------------------------------------

  /** EnumDownloads: this caller's downloads join their jobs; a job seen for the first time is made, in the state DO implies. */
  async #load(): Promise<void> {
    const known = new Set(this.#jobs.keys());
    const slot = pointerSlot();
    const hr = await this.#managerPtr().callRaw('EnumDownloads', null, slot);
    if (hr === DO_E_NO_DOWNLOADS) return;
    if (isFailure(hr)) throw new ComError(hr, IDOManager.name, 'EnumDownloads');
    const enumerator = ComPtr.adopt(readPointer(slot), IEnumUnknown);
    try {
      for (;;) {
        const item = pointerSlot();
        const fetched = Buffer.alloc(4);
        await enumerator.call('Next', 1, item, fetched);
        if (fetched.readUInt32LE() === 0) break;
        const unknown = ComPtr.adopt(readPointer(item), IUnknown);
        try {
          await this.#adopt(new DoDownload(await unknown.queryInterface(IDODownload), this.automation));
        } finally {
          await unknown.release();
        }
      }
    } finally {
      await enumerator.release();
    }
    for (const job of this.#jobs.values()) {
      if (known.has(job.id)) continue;
      job.files.sort((a, b) => a.index - b.index);
      // A job DO is working on, or one that has arrived or failed, was resumed before; the rest wait.
      job.suspended = job.files.every((file) => file.status.state === 'created' || (file.status.state === 'paused' && file.status.error === 0 && file.status.extendedError === 0 && !file.completed));
      this.#remember(job);
    }
  }

  /** One listed download: ours joins its job (made on first sight, or found again after DO came back), anyone else's is let go. */
  async #adopt(download: DoDownload): Promise<void> {
    await this.#blanket(download);
    const name = await download.getProperty('DisplayName').catch((error: unknown) => {
      if (error instanceof ComError && error.hresult === E_NOT_SET) return '';
      throw error;
    });
    const decoded = decodeDownloadName(name);
    if (decoded === undefined) {
      await download.release();
      return;
    }
    const url = await download.getProperty('Uri');
    const localPath = await download.getProperty('LocalPath');
    const status = await download.getStatus();
    let job = this.#jobs.get(decoded.jobId);
    if (job === undefined) {
      job = this.#newJob(decoded.jobId, decoded.displayName);
      const foreground = await download.getProperty('ForegroundPriority').catch(() => false);
      if (foreground) job.priority = 0;
    }
    const known = job.files.find((f) => f.index === decoded.index);
    if (known?.download !== undefined) {
      await download.release();
      return;
    }
    const file = known ?? newFile(url, localPath, decoded.index, status);
    if (known === undefined) job.files.push(file);
    file.status = status;
    file.download = download;
    await this.#attach(job, file);
    // Found again: what it shows now is newer than anything cached.
    if (known !== undefined) this.#update(job);
  }

  /**
   * DO went away (its service restarted): every pointer it gave is dead, and so are the callbacks it
   * held. Once for every job: the old pointers are given back, a new IDOManager finds the downloads
   * again (EnumDownloads, as at start), our callbacks are registered again, and the jobs that were
   * running are started again. A download DO did not keep (not NonVolatile) is the job's error.
   */
  #reconnect(): Promise<void> {
    this.#reconnecting ??= this.#reopen().finally(() => (this.#reconnecting = undefined));
    return this.#reconnecting;
  }

  async #reopen(): Promise<void> {
    for (const job of this.#jobs.values()) {
      for (const file of job.files) {
        // COM holds the dead service's references on our callbacks until told otherwise.
        if (file.callback !== undefined) await this.service.disconnectObject(file.callback.address).catch(() => undefined);
        await this.#letGo(file, false);
      }
    }
    await this.#manager?.release();
    this.#manager = undefined;
    try {
      this.#manager = ComPtr.adopt(await this.service.createInstance(CLSID_DeliveryOptimization, IDOManager.iid), IDOManager);
      await this.#load();
    } catch (error) {
      // Still away: each job says so, and its next command asks again.
      const hresult = error instanceof ComError ? error.hresult : RPC_S_SERVER_UNAVAILABLE;
      for (const job of this.#jobs.values()) {
        job.failure = commandFailure(hresult, undefined, isDoTransientError(hresult));
        this.#update(job);
      }
      return;
    }
    for (const job of this.#jobs.values()) {
      const lost = job.files.find((file) => file.download === undefined);
      if (lost !== undefined) job.failure = commandFailure(DO_E_JOB_NOT_FOUND, lost.index, false);
      this.#update(job);
      if (!job.suspended) this.#enqueue(job, () => this.#startNext(job));
    }
  }

  // --- the model -------------------------------------------------------------------------------------

  #newJob(id: Guid, displayName: string): BridgeJob {
    const now = new Date();
    const job: BridgeJob = {
      id,
      displayName,
      description: '',
      ...NEW_BRIDGE_JOB,
      owner: this.#owner,
      created: now,
      modified: now,
      transferCompleted: undefined,
      files: [],
      suspended: true,
      final: undefined,
      failure: undefined,
      errorCount: 0,
      options: {},
      headers: '',
    };
    this.#jobs.set(id, job);
    return job;
  }

  #remember(job: BridgeJob): void {
    this.#seen.set(job.id, { state: bitsStateOf(job), bytes: this.#bytes(job), completed: job.files.filter((f) => f.completed).length });
  }

  #bytes(job: BridgeJob): number {
    return job.files.reduce((sum, file) => sum + file.bytesTransferred, 0);
  }

  /**
   * After any change to the model: the notifications BITS would make (FileTransferred per file that
   * arrived, then JobTransferred; JobError on entering ERROR; JobModification on any move), the error
   * count, the times, and the next file's Start.
   */
  #update(job: BridgeJob): void {
    const before = this.#seen.get(job.id) ?? { state: 'suspended', bytes: 0, completed: 0 };
    const state = bitsStateOf(job);
    const bytes = this.#bytes(job);
    const completed = job.files.filter((f) => f.completed).length;
    if (state === before.state && bytes === before.bytes && completed === before.completed) return;
    this.#seen.set(job.id, { state, bytes, completed });
    job.modified = new Date();
    if (state !== before.state && (state === 'error' || state === 'transientError')) job.errorCount++;
    if (state === 'transferred' && before.state !== 'transferred') job.transferCompleted = job.modified;
    this.#notify(job, 'modification');
    if (completed > before.completed) {
      for (const file of job.files.filter((f) => f.completed).slice(before.completed)) this.#notify(job, 'fileTransferred', file);
    }
    if (state === 'transferred' && before.state !== 'transferred') this.#notify(job, 'transferred');
    if (state === 'error' && before.state !== 'error') this.#notify(job, 'error');
    // BITS's "0 makes every error fatal": the error is kept as the job's own (whatever DO reports after
    // the Pause), and DO, which would go on retrying, is told to stop.
    const transient = job.files.find((f) => isTransientStatus(f.status));
    if (state === 'error' && job.noProgressTimeout === 0 && job.failure === undefined && transient !== undefined) {
      job.failure = commandFailure(transient.status.extendedError, transient.index, false);
      this.#enqueue(job, () => this.#pause(transient));
    }
    if (completed > before.completed) this.#enqueue(job, () => this.#startNext(job));
  }

  #notify(job: BridgeJob, kind: 'transferred' | 'error' | 'modification' | 'fileTransferred', file?: BridgeFile): void {
    if (!notifies(job.notifyFlags, kind) || !this.#targets.has(job.id)) return;
    const stateNow = bitsStateOf(job);
    this.#notifier.enqueue(job.id, {
      kind,
      objects: () => {
        const jobObject = this.#jobObject(job);
        const error = kind === 'error' ? errorOf(job) : undefined;
        if (error !== undefined) {
          const failed = error.fileIndex === undefined ? undefined : job.files[error.fileIndex];
          return [jobObject, createErrorObject(this.#context, error, failed)];
        }
        if (kind === 'fileTransferred' && file !== undefined) return [jobObject, createFileObject(this.#context, file)];
        return [jobObject];
      },
      stillValid: () => kind === 'modification' || kind === 'fileTransferred' || bitsStateOf(job) === stateNow,
    });
  }

  #onStatus(job: BridgeJob, file: BridgeFile, status: DoStatus): void {
    // A transfer that ended stays ended: dosvc may make several calls at once, so a status made before
    // Transferred can arrive after it. Only a Start of ours would move it on, and none is made on a
    // transferred file.
    if (file.completed && !(status.state === 'transferred' || status.state === 'finalized')) return;
    // Likewise a Transferring made before our Pause.
    if (this.#pausedByUs.has(file) && status.state === 'transferring') return;
    this.#statusSeq.set(file, (this.#statusSeq.get(file) ?? 0) + 1);
    file.status = status;
    if (this.#jobs.get(job.id) === job) this.#update(job);
  }

  // --- commands into DO, in order per job ------------------------------------------------------------

  #enqueue(job: BridgeJob, command: () => Promise<void>): void {
    // What a caller awaits (CreateDownload, Finalize) reports its own failure to it; the rest is the job's.
    this.#commands.enqueue(job.id, command, (error) => this.#failed(job, error, undefined, false));
  }

  /**
   * A command failed: the job's error, as BITS reports a transfer error (ERROR, or TRANSIENT_ERROR in
   * DO's transient zone), never an unhandled rejection. `surface`: the caller waiting for the job's
   * commands (addFile's CreateDownload, complete's Finalize) gets it too; a Start's failure is the
   * job's alone, as a transfer error is in BITS.
   */
  #failed(job: BridgeJob, error: unknown, fileIndex: number | undefined, surface: boolean): void {
    if (surface) this.#commands.surface(job.id, error);
    if (error instanceof ComError && isServiceGone(error.hresult)) {
      void this.#reconnect();
      return;
    }
    const hresult = error instanceof ComError ? error.hresult : error instanceof PropertyNotSupportedError ? DO_E_UNKNOWN_PROPERTY_ID : undefined;
    if (hresult === undefined) {
      reportEngineBug(error, 'delivery-optimization bridge');
      return;
    }
    job.failure = commandFailure(hresult, fileIndex, isDoTransientError(hresult));
    this.#update(job);
  }

  /** CoSetProxyBlanket on a new IDODownload pointer, where the runtime has it: DO impersonates us to write LocalPath. */
  async #blanket(download: DoDownload): Promise<void> {
    await this.service.setProxyBlanket?.(download.ptr.address('CoSetProxyBlanket'));
  }

  /** The download of a new file: CreateDownload, the blanket, every property in Created, our callback. */
  async #createDownload(job: BridgeJob, file: BridgeFile): Promise<void> {
    const slot = pointerSlot();
    try {
      await this.#managerPtr().call('CreateDownload', slot);
    } catch (error) {
      this.#failed(job, error, file.index, true);
      return;
    }
    const download = new DoDownload(ComPtr.adopt(readPointer(slot), IDODownload), this.automation);
    try {
      await this.#blanket(download);
      for (const [name, value, option] of downloadProperties(job, file)) {
        try {
          await download.setProperty(name, value as never);
        } catch (error) {
          if (!(error instanceof ComError && error.hresult === DO_E_UNKNOWN_PROPERTY_ID)) throw error;
          // What rx-bits asks for by itself is skipped on an older build; what the caller asked for is an error.
          if (option !== undefined) throw new PropertyNotSupportedError(option, name, DO_PROPERTIES[name].since);
        }
      }
    } catch (error) {
      // Nothing half-made is left in DO: the download goes (a Created one answers E_NOT_SET, as dosvc does).
      await download.abort().catch(() => undefined);
      await download.release();
      this.#failed(job, error, file.index, true);
      return;
    }
    file.download = download;
    await this.#attach(job, file);
    await this.#startNext(job);
  }

  /** Registers our status callback on a download (again, after re-attaching: the old pointer died with its process). */
  async #attach(job: BridgeJob, file: BridgeFile): Promise<void> {
    const callback = new StatusCallback(
      (status) => this.#onStatus(job, file, statusOf(status)),
      (error) => reportEngineBug(error, 'delivery-optimization status'),
    );
    file.callback = callback;
    await file.download!.setCallback(callback.address);
  }

  /** Starts the first file not yet transferred, unless it runs already: BITS transfers a job's files in order. */
  async #startNext(job: BridgeJob): Promise<void> {
    if (job.suspended || job.final !== undefined || this.#leaving.has(job.id) || job.failure !== undefined) return;
    const file = job.files.find((f) => !f.completed);
    if (file === undefined) return;
    // DO is away, or did not keep this download: a resume asks it again.
    if (file.download === undefined) {
      if (this.#manager === undefined) await this.#reconnect();
      return;
    }
    if (file.status.state === 'transferring' || file.status.error !== 0) return;
    const first = !file.started;
    try {
      this.#pausedByUs.delete(file);
      await file.download.start(first);
    } catch (error) {
      this.#failed(job, error, file.index, false);
      return;
    }
    file.started = true;
    // What DO says now, unless a callback said something newer meanwhile.
    await this.#refresh(job, file);
  }

  async #refresh(job: BridgeJob, file: BridgeFile): Promise<void> {
    if (file.download === undefined || file.download.ptr.released) return;
    const seq = this.#statusSeq.get(file) ?? 0;
    const status = await file.download.getStatus();
    if ((this.#statusSeq.get(file) ?? 0) === seq) this.#onStatus(job, file, status);
  }

  /** Pause (its answer is DO's state table's business: a no-op where there is nothing to pause). */
  async #pause(file: BridgeFile): Promise<void> {
    this.#pausedByUs.add(file);
    await file.download?.pause();
  }

  /** Detaches our callback and lets go of the download (after Finalize or Abort, or when the bridge closes). */
  async #letGo(file: BridgeFile, detach: boolean): Promise<void> {
    const { download, callback } = file;
    file.download = undefined;
    file.callback = undefined;
    callback?.detach();
    if (download !== undefined) {
      if (detach && callback !== undefined) await download.setCallback(null).catch(() => undefined);
      await download.release();
    }
    callback?.dispose();
  }

  #forget(job: BridgeJob): void {
    this.#jobs.delete(job.id);
    this.#seen.delete(job.id);
    this.#leaving.delete(job.id);
    this.#described.delete(job.id);
    this.#notifier.forget(job.id);
    this.#setTarget(job, undefined);
  }

  // --- the backstop ----------------------------------------------------------------------------------

  #setTarget(job: BridgeJob, target: NotifyTarget | undefined): void {
    const previous = this.#targets.get(job.id);
    if (target === undefined) this.#targets.delete(job.id);
    else this.#targets.set(job.id, target);
    if (previous !== undefined) invokeSync(previous.address, IUnknown.method('Release'));
    if (this.#targets.size > 0 && this.#backstop === undefined) {
      this.#backstop = setInterval(() => this.#poll(), BACKSTOP_MS);
      this.#backstop.unref();
    } else if (this.#targets.size === 0 && this.#backstop !== undefined) {
      clearInterval(this.#backstop);
      this.#backstop = undefined;
    }
  }

  #poll(): void {
    for (const job of this.#jobs.values()) {
      if (!this.#targets.has(job.id) || job.suspended) continue;
      for (const file of job.files) {
        if (file.download !== undefined && !file.completed) this.#enqueue(job, () => this.#refresh(job, file));
      }
    }
  }

  // --- life ------------------------------------------------------------------------------------------

  #opened(): { onFinalRelease(): void } {
    this.#held++;
    return {
      onFinalRelease: () => {
        if (--this.#held === 0) this.onIdle(this);
      },
    };
  }

  /** Nobody holds an object any more: lets go of every DO object, after the commands in flight. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    clearInterval(this.#backstop);
    this.#backstop = undefined;
    await this.#commands.idle();
    await this.#reconnecting;
    await this.#notifier.idle();
    for (const job of this.#jobs.values()) {
      this.#setTarget(job, undefined);
      for (const file of job.files) await this.#letGo(file, true);
    }
    this.#jobs.clear();
    await this.#manager?.release();
  }

  #jobObject(job: BridgeJob): ComObject {
    return this.#jobObjects.get(job.id, () => this.#opened(), (onFinalRelease) => createBridgeJobObject(this.#context, job, onFinalRelease));
  }

  #makeContext(): BridgeContext {
    const refuse = (job: BridgeJob): boolean => job.final !== undefined || this.#leaving.has(job.id);
    return {
      taskMemory: this.taskMemory,
      jobs: this.#jobs,
      owner: this.#owner,
      opened: () => this.#opened(),
      jobObject: (job) => this.#jobObject(job),
      createJob: (displayName) => {
        const job = this.#newJob(parseGuid(randomUUID()), displayName);
        this.#remember(job);
        return job;
      },
      addFile: (job, url, localPath) => {
        if (refuse(job)) return BG_E_INVALID_STATE;
        const described = this.#described.get(job.id)?.get(localPath);
        this.#described.get(job.id)?.delete(localPath);
        // After the first past a restart's gaps (a file finalized by a Complete that failed later on).
        const index = job.files.reduce((next, f) => Math.max(next, f.index + 1), 0);
        const file = newFile(url, localPath, index, undefined, described);
        job.files.push(file);
        this.#update(job);
        this.#enqueue(job, () => this.#createDownload(job, file));
        return S_OK;
      },
      resume: (job) => {
        if (refuse(job)) return BG_E_INVALID_STATE;
        if (job.files.length === 0) return BG_E_EMPTY;
        job.suspended = false;
        job.failure = undefined;
        // Started again below: DO's Start resets what it reported of the last attempt.
        for (const file of job.files) {
          if (file.status.error !== 0 || isTransientStatus(file.status)) file.status = { ...file.status, state: 'paused', error: 0, extendedError: 0 };
        }
        this.#update(job);
        // From ERROR or TRANSIENT_ERROR, a retry at once: Start again what DO paused.
        this.#enqueue(job, () => this.#startNext(job));
        return S_OK;
      },
      suspend: (job) => {
        if (refuse(job)) return BG_E_INVALID_STATE;
        job.suspended = true;
        this.#update(job);
        for (const file of job.files) {
          if (file.download !== undefined && !file.completed && (file.status.state === 'transferring' || isTransientStatus(file.status))) {
            this.#enqueue(job, async () => {
              await this.#pause(file);
              await this.#refresh(job, file);
            });
          }
        }
        return S_OK;
      },
      cancel: (job) => {
        if (refuse(job)) return BG_E_INVALID_STATE;
        this.#leaving.add(job.id);
        this.#enqueue(job, async () => {
          for (const file of job.files) {
            // Aborted (E_NOT_SET from one never started is dosvc's answer, not a failure); a Transferred
            // download may refuse (DO_E_INVALID_STATE) and is left to DO's expiry.
            file.callback?.detach();
            await file.download?.setCallback(null).catch(() => undefined);
            await file.download?.abort();
            await this.#letGo(file, false);
          }
          job.final = 'cancelled';
          this.#forget(job);
        });
        return S_OK;
      },
      complete: (job) => {
        if (refuse(job)) return BG_E_INVALID_STATE;
        this.#leaving.add(job.id);
        const partial = !job.files.every((file) => file.completed);
        this.#enqueue(job, async () => {
          for (const file of job.files) {
            file.callback?.detach();
            await file.download?.setCallback(null).catch(() => undefined);
            const hr = file.completed ? await file.download?.finalize() : await file.download?.abort();
            if (file.completed && hr !== undefined && hr !== S_OK) {
              // The file could not be put in place (DO will not overwrite one): the job stays, in ERROR.
              this.#leaving.delete(job.id);
              this.#failed(job, new ComError(hr, IDODownload.name, 'Finalize'), file.index, true);
              if (!isServiceGone(hr)) {
                file.callback?.dispose();
                await this.#attach(job, file);
              }
              return;
            }
            await this.#letGo(file, false);
          }
          job.final = 'acknowledged';
          this.#forget(job);
        });
        return partial ? BG_S_PARTIAL_COMPLETE : S_OK;
      },
      changed: (job) => {
        for (const file of job.files) {
          const { download } = file;
          if (download === undefined) continue;
          this.#enqueue(job, () =>
            download.setProperty('DisplayName', encodeDownloadName({ displayName: job.displayName, jobId: job.id, index: file.index })),
          );
        }
      },
      leaving: (job) => refuse(job),
      target: (job) => this.#targets.get(job.id),
      setTarget: (job, target) => this.#setTarget(job, target),
    };
  }
}
