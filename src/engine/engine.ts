import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ComObject } from '../com/com-object.js';
import { notifies } from '../com/enums.js';
import { ComError } from '../com/errors.js';
import { parseGuid, type Guid } from '../com/guid.js';
import { E_NOINTERFACE, REGDB_E_CLASSNOTREG } from '../com/hresult.js';
import { CLSID_BackgroundCopyManager, IBackgroundCopyManager, IUnknown } from '../com/interfaces.js';
import { invokeSync } from '../com/invoke.js';
import type { ComRuntime } from '../com/runtime.js';
import { reportEngineBug, type EngineContext } from './com/context.js';
import { createErrorObject } from './com/error.js';
import { createFileObject } from './com/file.js';
import { createJobObject } from './com/job.js';
import { createManager } from './com/manager.js';
import { TaskMemory } from './com/task-memory.js';
import { BandwidthLimit } from './bandwidth.js';
import { EngineJob, type JobListener } from './engine-job.js';
import type { FileRecord, JobRecord } from './job-record.js';
import { NOTIFIER_DEFAULTS, Notifier, type Notification, type NotifierOptions, type NotifyTarget } from './notifier.js';
import { Scheduler } from './scheduler.js';
import { JobStore } from './store.js';
import { transferFile, TransferError } from './transfer.js';
import { JobObjects } from './com/job-objects.js';

/**
 * The portable engine: BITS's job model in TypeScript, for systems without BITS and for callers BITS
 * refuses. It is a COM service inside this process, reached through a ComRuntime of its own, so every
 * layer above (jobs, hubs, Observables, operators, download(), the CLI) works on it unchanged.
 *
 * It transfers while a process holds one of its objects (a manager, a job...): when the last is
 * released it stops its transfers and timers, so the process can exit; the jobs wait in the state
 * directory for the next process that connects. BITS, a system service, transfers with no
 * application running at all.
 */

export interface EngineOptions {
  /** Transfers at once, foreground jobs not counted. */
  readonly maxConcurrentTransfers: number;
  /** A job nobody modified for this many days is cancelled, as BITS does after 90. */
  readonly jobLifetimeDays: number;
  /** Milliseconds in one of BITS's seconds (retry delay, no-progress timeout): 1000, but in tests. */
  readonly secondMs: number;
  readonly notifier: NotifierOptions;
  /** No bytes for this long mid-transfer: a transient WININET_E_TIMEOUT. */
  readonly idleTimeoutMs: number;
  /** A cap on all the engine's transfers together, in bytes per second; undefined, none. */
  readonly maxBytesPerSecond: number | undefined;
}

/** What an application may set of the engine (connect()'s `portable`); the rest is for tests. */
export type PortableOptions = Partial<Pick<EngineOptions, 'maxConcurrentTransfers' | 'jobLifetimeDays' | 'maxBytesPerSecond'>>;

export const ENGINE_DEFAULTS: EngineOptions = {
  maxConcurrentTransfers: 4,
  jobLifetimeDays: 90,
  secondMs: 1000,
  notifier: NOTIFIER_DEFAULTS,
  idleTimeoutMs: 60_000,
  maxBytesPerSecond: undefined,
};

/**
 * Bytes on disk are the truth for a resume, so the saved progress is only what listing shows after a
 * crash: saving it once a second instead of per chunk keeps fsyncs off the transfer's path.
 */
const PROGRESS_SAVE_INTERVAL_MS = 1000;

/** BITS's defaults for a new job ("IBackgroundCopyJob::SetMinimumRetryDelay", "...SetNoProgressTimeout"). */
const NEW_JOB = { priority: 2, notifyFlags: 0x3, minimumRetryDelay: 600, noProgressTimeout: 1_209_600 } as const;

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['USERNAME'] ?? 'unknown';
  }
}

/** Custom headers as BITS keeps them (CRLF-separated `Name: value` lines), as pairs. */
function headerPairs(text: string): Array<[string, string]> {
  return text
    .split('\r\n')
    .filter((line) => line.includes(':'))
    .map((line) => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]);
}

export class PortableEngine {
  readonly taskMemory = new TaskMemory();
  readonly #jobs = new Map<Guid, EngineJob>();
  readonly #targets = new Map<string, NotifyTarget>();
  readonly #jobObjects = new JobObjects();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  /** Progress is saved at most once a second per job (see PROGRESS_SAVE_INTERVAL_MS). */
  readonly #progressSaves = new Map<string, NodeJS.Timeout>();
  readonly #notifier: Notifier;
  readonly #scheduler: Scheduler;
  readonly #listener: JobListener;
  readonly #context: EngineContext;
  readonly #owner = currentUser();
  readonly #bandwidth: BandwidthLimit | undefined;
  /** COM objects handed out and not yet released: the engine works while there is any. */
  #held = 0;

  private constructor(
    private readonly store: JobStore<JobRecord>,
    private readonly options: EngineOptions,
  ) {
    this.#notifier = new Notifier(options.notifier, (id) => this.#targets.get(id));
    this.#bandwidth = options.maxBytesPerSecond === undefined ? undefined : new BandwidthLimit(options.maxBytesPerSecond);
    this.#scheduler = new Scheduler((job, signal) => this.#run(job, signal), options.maxConcurrentTransfers, (error) => reportEngineBug(error, 'portable engine scheduler'));
    this.#listener = this.#makeListener();
    this.#context = this.#makeContext();
  }

  /** Opens the state directory (taking its lock) and brings its jobs back in their states. */
  static async open(stateDir: string, options: EngineOptions = ENGINE_DEFAULTS): Promise<PortableEngine> {
    const store = await JobStore.open<JobRecord>(stateDir, { onError: (error) => process.emitWarning(`rx-bits portable engine: ${error.message}`) });
    const engine = new PortableEngine(store, options);
    await engine.#load();
    return engine;
  }

  /** COM objects handed out and not yet released (the engine transfers while there is any). */
  get heldObjects(): number {
    return this.#held;
  }

  get directory(): string {
    return this.store.directory;
  }

  /** What `connect({ runtime })` takes: CoCreateInstance, CoTaskMemFree and CoDisconnectObject of the engine. */
  get runtime(): ComRuntime {
    return {
      pathStyle: process.platform === 'win32' ? 'win32' : 'posix',
      initialize: () => Promise.resolve(),
      createInstance: (clsid, iid) => {
        if (clsid !== CLSID_BackgroundCopyManager) return Promise.reject(new ComError(REGDB_E_CLASSNOTREG, 'portable engine', `CoCreateInstance(${clsid})`));
        if (!IBackgroundCopyManager.iids.includes(iid)) return Promise.reject(new ComError(E_NOINTERFACE, 'portable engine', `CoCreateInstance(${clsid})`));
        return Promise.resolve(createManager(this.#context).address);
      },
      freeTaskMemory: (address) => this.taskMemory.free(address),
      disconnectObject: (address) => {
        // CoDisconnectObject: every registration of this callback lets go of it.
        for (const job of this.#jobs.values()) if (this.#targets.get(job.id)?.address === address) this.#setTarget(job, undefined);
        return Promise.resolve();
      },
    };
  }

  /** Resolves when every change so far is on disk and every queued notification went out. */
  async settled(): Promise<void> {
    await this.#notifier.idle();
    await this.store.flush();
  }

  /** Stops everything and releases the state directory (tests, and a process that wants it back early). */
  async close(): Promise<void> {
    this.#pause();
    // While it was open, the registry could only have answered this engine for its directory.
    engines.delete(this.directory);
    await this.store.close();
  }

  // --- jobs ------------------------------------------------------------------------------------------

  async #load(): Promise<void> {
    const expiry = Date.now() - this.options.jobLifetimeDays * 86_400_000;
    for (const record of await this.store.load()) {
      if (record.version !== 1) continue;
      const job = new EngineJob(record, this.#listener, this.options.secondMs);
      if (Date.parse(record.modified) < expiry) {
        // Abandoned: BITS cancels a job nobody touched for 90 days, and deletes its temporary files.
        this.store.remove(record.id);
        await Promise.all(record.files.map((file) => rm(file.tempPath, { force: true })));
        continue;
      }
      // A transfer the last process was running when it stopped is queued again.
      job.requeue();
      this.#jobs.set(parseGuid(record.id), job);
    }
  }

  #createJob(displayName: string): EngineJob {
    const now = new Date().toISOString();
    const record: JobRecord = {
      id: parseGuid(randomUUID()),
      version: 1,
      displayName,
      description: '',
      type: 'download',
      ...NEW_JOB,
      state: 'suspended',
      files: [],
      errorCount: 0,
      error: undefined,
      headers: '',
      proxy: { usage: 'preconfig', list: '', bypass: '' },
      owner: this.#owner,
      created: now,
      modified: now,
      transferCompleted: undefined,
      lastProgress: now,
      retryAt: undefined,
    };
    const job = new EngineJob(record, this.#listener, this.options.secondMs);
    this.#jobs.set(parseGuid(record.id), job);
    this.store.save(record);
    return job;
  }

  /** One attempt at every file not yet transferred, in order; the job's state says how it went. */
  async #run(job: EngineJob, signal: AbortSignal): Promise<void> {
    const { record } = job;
    let current: FileRecord | undefined;
    try {
      for (const file of record.files) {
        if (file.completed) continue;
        current = file;
        const result = await transferFile({
          url: file.url,
          tempPath: file.tempPath,
          validator: file.validator,
          headers: headerPairs(record.headers),
          proxy: record.proxy,
          signal,
          idleTimeoutMs: this.options.idleTimeoutMs,
          ...(this.#bandwidth === undefined ? {} : { pace: (bytes: number, paceSignal: AbortSignal) => this.#bandwidth!.take(bytes, paceSignal) }),
          onResponse: async (info) => {
            if (signal.aborted) return;
            job.receiving(file, info.bytesTotal, info.validator, info.restarted ? 0 : file.bytesTransferred);
            // The validator is on disk before the first byte: a crash then resumes a range that is still
            // valid. A failed write was reported by the store; the transfer goes on regardless.
            await this.store.flush().catch(() => undefined);
          },
          onProgress: (bytes) => {
            if (!signal.aborted) job.progress(file, bytes);
          },
        });
        if (signal.aborted) return;
        job.fileDone(file, result.bytesTotal);
      }
      if (!signal.aborted) job.allDone();
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof TransferError)) throw error;
      job.attemptFailed({
        hresult: error.hresult,
        context: error.context,
        transient: error.transient,
        message: error.message,
        fileIndex: current === undefined ? undefined : record.files.indexOf(current),
      });
    }
  }

  // --- notifications and registrations -------------------------------------------------------------

  #setTarget(job: EngineJob, target: NotifyTarget | undefined): void {
    const previous = this.#targets.get(job.id);
    if (target === undefined) this.#targets.delete(job.id);
    else this.#targets.set(job.id, target);
    if (previous !== undefined) invokeSync(previous.address, IUnknown.method('Release'));
  }

  #notify(job: EngineJob, kind: Notification['kind'], file?: FileRecord): void {
    if (!notifies(job.record.notifyFlags, kind) || !this.#targets.has(job.id)) return;
    const stateNow = job.state;
    this.#notifier.enqueue(job.id, {
      kind,
      objects: () => {
        const jobObject = this.#jobObject(job);
        if (kind === 'error' && job.record.error !== undefined) {
          const { error } = job.record;
          const failed = error.fileIndex === undefined ? undefined : job.record.files[error.fileIndex];
          return [jobObject, createErrorObject(this.#context, error, failed)];
        }
        if (kind === 'fileTransferred' && file !== undefined) return [jobObject, createFileObject(this.#context, file)];
        return [jobObject];
      },
      // A terminal notification goes out only while the job is still in that state.
      stillValid: () => kind === 'modification' || kind === 'fileTransferred' || job.state === stateNow,
    });
  }

  #jobObject(job: EngineJob): ComObject {
    return this.#jobObjects.get(job.id, () => this.#opened(), (onFinalRelease) => createJobObject(this.#context, job, onFinalRelease));
  }

  #makeListener(): JobListener {
    return {
      changed: (job) => {
        this.#save(job);
        this.#notify(job, 'modification');
      },
      progressed: (job) => {
        if (!this.#progressSaves.has(job.id)) {
          const timer = setTimeout(() => this.#save(job), PROGRESS_SAVE_INTERVAL_MS);
          timer.unref();
          this.#progressSaves.set(job.id, timer);
        }
        this.#notify(job, 'modification');
      },
      fileTransferred: (job, file) => this.#notify(job, 'fileTransferred', file),
      transferred: (job) => {
        this.#save(job);
        this.#notify(job, 'transferred');
      },
      failed: (job) => {
        this.#save(job);
        this.#notify(job, 'error');
      },
      scheduling: (job) => {
        this.#scheduler.update(job);
        this.#armRetry(job);
      },
      removed: (job, leftovers) => {
        clearTimeout(this.#progressSaves.get(job.id));
        this.#progressSaves.delete(job.id);
        this.#scheduler.update(job);
        this.#armRetry(job);
        this.#jobs.delete(parseGuid(job.id));
        this.store.remove(job.id);
        this.#notifier.forget(job.id);
        this.#setTarget(job, undefined);
        // After the transfer that may still be writing one of them has closed it.
        void this.#scheduler.settled(job.id).then(() =>
          Promise.all(leftovers.map((leftover) => rm(leftover, { force: true }).catch((error: unknown) => reportEngineBug(error, `portable engine, removing ${path.basename(leftover)}`)))),
        );
      },
    };
  }

  /** Saves the job now; a progress save it was waiting for is covered by this one. */
  #save(job: EngineJob): void {
    clearTimeout(this.#progressSaves.get(job.id));
    this.#progressSaves.delete(job.id);
    if (!job.final) this.store.save(job.record);
  }

  /** A job in TRANSIENT_ERROR is queued again at its retryAt; in any other state it has no timer. */
  #armRetry(job: EngineJob): void {
    clearTimeout(this.#retryTimers.get(job.id));
    this.#retryTimers.delete(job.id);
    const at = job.record.retryAt;
    if (job.state !== 'transientError' || at === undefined || this.#held === 0) return;
    const timer = setTimeout(() => {
      this.#retryTimers.delete(job.id);
      job.retryDue();
    }, Math.max(0, Date.parse(at) - Date.now()));
    this.#retryTimers.set(job.id, timer);
  }

  // --- working while held --------------------------------------------------------------------------

  #opened(): { onFinalRelease(): void } {
    if (this.#held++ === 0) this.#resume();
    return {
      onFinalRelease: () => {
        if (--this.#held === 0) this.#pause();
      },
    };
  }

  #resume(): void {
    this.#scheduler.start();
    for (const job of this.#jobs.values()) {
      if (job.state === 'queued') this.#scheduler.update(job);
      this.#armRetry(job);
    }
  }

  #pause(): void {
    for (const id of [...this.#progressSaves.keys()]) {
      const job = this.#jobs.get(parseGuid(id));
      if (job !== undefined) this.#save(job);
    }
    this.#scheduler.pause();
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    for (const job of this.#jobs.values()) job.requeue();
  }

  #makeContext(): EngineContext {
    return {
      taskMemory: this.taskMemory,
      jobs: this.#jobs,
      owner: this.#owner,
      createJob: (displayName) => this.#createJob(displayName),
      jobObject: (job) => this.#jobObject(job),
      target: (job) => this.#targets.get(job.id),
      setTarget: (job, target) => this.#setTarget(job, target),
      opened: () => this.#opened(),
    };
  }
}

/**
 * One engine per state directory and process, opened on first use: the options of the connect()
 * that opened it stay until it closes.
 */
const engines = new Map<string, Promise<PortableEngine>>();

export function portableEngine(stateDir: string, options: EngineOptions = ENGINE_DEFAULTS): Promise<PortableEngine> {
  const key = path.resolve(stateDir);
  let engine = engines.get(key);
  if (engine === undefined) {
    engine = PortableEngine.open(key, options);
    engines.set(key, engine);
    // A directory another process holds may be free next time.
    engine.catch(() => engines.delete(key));
  }
  return engine;
}
