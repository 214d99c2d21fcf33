import { randomUUID } from 'node:crypto';
import { bitsVersionsThrough } from '../../src/com/bits-versions.js';
import { notifies, NotifyFlags, type NotificationKind } from '../../src/com/enums.js';
import { encodeFileRanges } from '../../src/com/file-ranges.js';
import { parseGuid, type Guid } from '../../src/com/guid.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import { IUnknown } from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import type { ComRuntime } from '../../src/com/runtime.js';
import { createErrorObject } from './error.js';
import { createFileObject } from './file.js';
import { JobModel, State, type Faults, type FileModel, type JobEvents } from './job-model.js';
import { Notifier, type NotifyTarget } from './notifier.js';
import { DEFAULTS, type LoopbackOptions } from './options.js';
import { ClientProcess, type ProcessIdentity } from './process.js';
import type { LoopbackRange } from './ranges.js';
import { handlerErrors, type JobEntry, type LiveKind, type ServiceCore } from './shared.js';
import { whenBridgeClosed } from '../../src/do/runtime.js';
import { LoopbackDoService } from '../loopback-do/service.js';
import type { TaskMemory } from './task-memory.js';

export { CALLBACK_QUERY_ORDER } from './job.js';
export type { LoopbackOptions } from './options.js';

/**
 * The loopback BITS service: a BITS-compatible job manager written in TypeScript behind real native
 * vtables, one file per COM class as Wine's dlls/qmgr (manager.ts, job.ts, file.ts, error.ts,
 * enumerators.ts, http-options.ts, do-job.ts, callback-proxy.ts). The library reaches it through
 * the same koffi paths as it reaches Windows (vtable lookups, calls from threads other than the JS
 * thread, out-parameters, task-memory strings), and it calls the library's callback objects from
 * other threads too. Several client processes can share it ({@link process}). Every object counts its
 * references and every method its calls, so a test can end by asserting that nothing leaked.
 */
export class LoopbackService {
  readonly options: LoopbackOptions;
  readonly notifier: Notifier;
  /** Faults a test can switch on at any time. */
  /** The machine's Delivery Optimization service, which CLSID_DeliveryOptimization reaches from every client process. */
  readonly deliveryOptimization: LoopbackDoService;
  readonly faults: Faults = { disconnects: 0, unableToDeleteFiles: false, cancelDenied: false, freezeErrorCount: false };
  readonly #calls = new Map<string, number>();
  /** Every counted call in order, e.g. `IBackgroundCopyJob::Cancel`. */
  readonly callLog: string[] = [];
  readonly #jobs = new Map<Guid, JobEntry>();
  /** Every job ever created, including those that left the queue, for settling and inspection. */
  readonly #history: JobEntry[] = [];
  readonly #processes = new Map<string, ClientProcess>();
  readonly #handlerErrorsAtStart = handlerErrors.length;
  readonly #live: Record<LiveKind, number> = { managers: 0, errors: 0, files: 0, enumerators: 0, httpOptions: 0, callbackProxies: 0 };
  readonly #core: ServiceCore;
  #generation = 0;
  #available = true;

  constructor(options: Partial<LoopbackOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.deliveryOptimization = new LoopbackDoService(this.options.deliveryOptimization);
    this.notifier = new Notifier(this.options, this.options.notifiesDuringCalls);
    const service = this;
    this.#core = {
      options: this.options,
      deliveryOptimization: this.deliveryOptimization.runtime,
      get generation() {
        return service.#generation;
      },
      get available() {
        return service.#available;
      },
      disconnect: (process, address) => {
        for (const entry of this.#jobs.values()) {
          if (entry.target?.process === process && entry.target.address === address) this.#setTarget(entry, undefined);
        }
      },
      jobs: this.#jobs,
      createJob: (name, type, owner) => this.#createJob(name, type, owner),
      setTarget: (entry, target) => this.#setTarget(entry, target),
      registered: (entry) => {
        // BITS delivers a terminal notification at least once, even to a callback registered after the event.
        if (!this.options.notifiesOnRegistration) return;
        if (entry.model.state === State.TRANSFERRED) this.#notify(entry, 'transferred');
        if (entry.model.state === State.ERROR) this.#notify(entry, 'error');
      },
      answering: (entry) => {
        if (this.options.notifiesDuringCalls) this.notifier.deliverNow(entry.model.id);
      },
      count: (iface, method) => this.#count(iface, method),
      tracked: (kind) => {
        this.#live[kind]++;
        return { onFinalRelease: () => this.#live[kind]-- };
      },
    };
  }

  /** Client process A's COM runtime: what `connect({ runtime })` takes. */
  get runtime(): ComRuntime {
    return this.process('A').runtime;
  }

  /** Client process A's task allocator, for test objects that hand strings to the library. */
  get taskMemory(): TaskMemory {
    return this.process('A').taskMemory;
  }

  /**
   * A client process of the service, created on first use (`A` is {@link runtime}'s), running as
   * `identity` (an ordinary user, not elevated, unless given). Each has its own runtime, task
   * allocator and job objects; jobs, their notify interface (last writer wins) and everything else
   * of the service are shared, but EnumJobs lists the caller's own jobs only.
   */
  process(name: string, identity?: ProcessIdentity): ClientProcess {
    let process = this.#processes.get(name);
    if (process !== undefined && identity !== undefined && process.identity !== identity) {
      throw new Error(`loopback process ${name} already runs as ${process.identity.user}`);
    }
    if (process === undefined) {
      process = new ClientProcess(name, this.#core, identity);
      this.#processes.set(name, process);
    }
    return process;
  }

  /** How many times a method was called, e.g. `IBackgroundCopyJob::Resume`. */
  calls(method: string): number {
    return this.#calls.get(method) ?? 0;
  }

  /** Calls of every method so far, for asserting that nothing reached the service. */
  totalCalls(): number {
    let total = 0;
    for (const count of this.#calls.values()) total += count;
    return total;
  }

  /** The model of a job (even one that left the queue). */
  job(id: string): JobModel | undefined {
    const guid = parseGuid(id);
    return this.#history.find((entry) => entry.model.id === guid)?.model;
  }

  /** Jobs still in the queue (with `listsFinishedJobs`, finished ones too). */
  get queue(): JobModel[] {
    return [...this.#jobs.values()].map((entry) => entry.model);
  }

  /** Whether a callback is registered on the job, and which interface the service holds. */
  notifyTarget(id: string): Pick<NotifyTarget, 'address' | 'supportsFileTransferred'> | undefined {
    const guid = parseGuid(id);
    const target = this.#history.find((entry) => entry.model.id === guid)?.target;
    return target === undefined ? undefined : { address: target.address, supportsFileTransferred: target.supportsFileTransferred };
  }

  /** Resolves when every transfer loop, cleanup and queued notification has finished. */
  async settled(): Promise<void> {
    for (;;) {
      await Promise.all(this.#history.map((entry) => entry.model.running.then(() => entry.model.cleanup)));
      await this.notifier.idle();
      await new Promise((resolve) => setImmediate(resolve));
      const busy = this.#history.some((entry) => entry.model.state === State.QUEUED || entry.model.state === State.CONNECTING || entry.model.state === State.TRANSFERRING);
      if (!busy) return;
    }
  }

  /** References held from outside the service, by kind, over every process; all zero when the library released everything. */
  references(): Record<string, number> {
    const processes = [...this.#processes.values()];
    const sum = (of: (process: ClientProcess) => number): number => processes.reduce((total, process) => total + of(process), 0);
    return {
      ...this.#live,
      jobs: sum((process) => process.jobReferences()),
      callbacksHeld: this.#history.filter((entry) => entry.target !== undefined).length,
      orphanedCallbacks: sum((process) => process.orphanedReferences),
      strings: sum((process) => process.taskMemory.outstanding),
      doubleFrees: sum((process) => process.taskMemory.doubleFrees),
      handlerErrors: handlerErrors.length - this.#handlerErrorsAtStart,
    };
  }

  /** Throws, naming what is left, unless every reference and string was given back. */
  assertNoLeaks(): void {
    this.deliveryOptimization.assertNoLeaks();
    const left = Object.entries(this.references()).filter(([, count]) => count !== 0);
    if (left.length > 0) {
      const errors = handlerErrors.slice(this.#handlerErrorsAtStart).map(String).join('\n');
      throw new Error(`loopback service: ${left.map(([kind, n]) => `${n} ${kind}`).join(', ')} outstanding${errors ? `\n${errors}` : ''}`);
    }
  }

  /**
   * The service process dies and starts again, as when BITS restarts: every object it handed out
   * answers RPC_S_SERVER_UNAVAILABLE from now on, whatever process holds it; the notify interfaces
   * are forgotten (BITS does not persist them), their references left with each client's COM until
   * it disconnects them; the jobs are kept (BITS persists them) or, with `keepsJobs: false`, lost
   * (as on Wine, which keeps none on disk).
   */
  restart(options: { readonly keepsJobs?: boolean } = {}): void {
    this.#generation++;
    for (const entry of this.#jobs.values()) {
      const target = entry.target;
      entry.target = undefined;
      target?.process.orphan(target.address);
      if (options.keepsJobs === false) {
        entry.model.suspend();
        this.notifier.forget(entry.model.id);
      }
    }
    if (options.keepsJobs === false) this.#jobs.clear();
    for (const process of this.#processes.values()) process.forgetService();
  }

  /** The service dies and stays down: connecting fails with RPC_S_SERVER_UNAVAILABLE until {@link start}. */
  stop(options: { readonly keepsJobs?: boolean } = {}): void {
    this.restart(options);
    this.#available = false;
  }

  start(): void {
    this.#available = true;
  }

  /** Stops every job, drops the service's own references (the callbacks it holds). */
  async close(): Promise<void> {
    // The DO bridge of each client process lets go of DO's objects once the library released its last one.
    for (const process of this.#processes.values()) await whenBridgeClosed(process.runtime);
    await this.deliveryOptimization.close();
    for (const entry of this.#jobs.values()) {
      entry.model.suspend();
      this.#setTarget(entry, undefined);
      entry.model.holdCertificateValidator(undefined);
    }
    await this.settled();
    for (const entry of this.#jobs.values()) this.notifier.forget(entry.model.id);
    this.#jobs.clear();
  }

  #count(iface: ComInterface, method: string): void {
    const key = `${iface.name}::${method}`;
    this.#calls.set(key, (this.#calls.get(key) ?? 0) + 1);
    this.callLog.push(key);
  }

  #createJob(displayName: string, type: number, owner: string): JobEntry {
    const events: JobEvents = {
      modification: () => this.#notify(entry, 'modification'),
      fileTransferred: (_model, file) => this.#notify(entry, 'fileTransferred', file),
      fileRangesTransferred: (_model, file, ranges) => this.#notifyRanges(entry, file, ranges),
      transferred: () => this.#notify(entry, 'transferred'),
      error: () => this.#notify(entry, 'error'),
      removed: () => {
        if (!this.options.keepsCallbackOfFinishedJobs) this.#setTarget(entry, undefined);
        if (this.#jobs.get(entry.model.id) === entry && !this.options.listsFinishedJobs) this.#jobs.delete(entry.model.id);
      },
    };
    const model = new JobModel(parseGuid(randomUUID()), displayName, type, owner, events, {
      secondMs: this.options.secondMs,
      faults: this.faults,
      keepsPartlyCompletedJobs: this.options.keepsPartlyCompletedJobs,
      errorCount: this.options.errorCount,
      resumeWithNothingLeft: this.options.resumeWithNothingLeft,
      transfersInResume: this.options.notifiesDuringCalls,
    });
    const entry: JobEntry = { model, target: undefined };
    this.#jobs.set(model.id, entry);
    this.#history.push(entry);
    return entry;
  }

  /** Queues a notification; its job, error and file pointers are made in the callback's process when it goes. */
  #notify(entry: JobEntry, kind: NotificationKind, file?: FileModel): void {
    if (!notifies(entry.model.notifyFlags, kind) || entry.target === undefined) return;
    if ((this.options.neverCalls as readonly string[]).includes(kind)) return;
    const stateAtEvent = entry.model.state;
    this.notifier.enqueue(entry.model.id, () => entry.target, {
      kind,
      stillValid: () =>
        notifies(entry.model.notifyFlags, kind) && (kind === 'modification' || kind === 'fileTransferred' || entry.model.state === stateAtEvent),
      args: (to) => {
        // "Do not release pJob; BITS releases the interface when the method returns" (IBackgroundCopyCallback::JobTransferred).
        const job = to.process.jobObject(entry);
        if (kind === 'error') {
          const error = createErrorObject(this.#core, to.process, entry.model, entry.model.error);
          return { args: [job.address, error.address], created: [job, error] };
        }
        if (kind === 'fileTransferred' && file !== undefined) {
          const fileObject = createFileObject(this.#core, to.process, entry.model, file);
          return { args: [job.address, fileObject.address], created: [job, fileObject] };
        }
        return { args: kind === 'modification' ? [job.address, 0] : [job.address], created: [job] };
      },
    });
  }

  /**
   * FileRangesTransferred, from a service of BITS 10.1 or later, to a job whose flags ask for it; the
   * notifier calls it only if the callback answers QueryInterface for IBackgroundCopyCallback3.
   */
  #notifyRanges(entry: JobEntry, file: FileModel, ranges: readonly LoopbackRange[]): void {
    const hasCallback3 = bitsVersionsThrough(this.options.bitsVersion).some((version) => version.interfaces.includes('IBackgroundCopyCallback3'));
    const wanted = (): boolean => {
      const flags = entry.model.notifyFlags;
      return (flags & NotifyFlags.Disable) === 0 && (flags & NotifyFlags.FileRangesTransferred) !== 0;
    };
    if (!hasCallback3 || !wanted() || entry.target === undefined) return;
    this.notifier.enqueue(entry.model.id, () => entry.target, {
      kind: 'fileRangesTransferred',
      stillValid: wanted,
      args: (to) => {
        // The job, the file and the array are the service's: the callback neither releases nor frees them.
        const job = to.process.jobObject(entry);
        const fileObject = createFileObject(this.#core, to.process, entry.model, file);
        return { args: [job.address, fileObject.address, ranges.length, encodeFileRanges(ranges)], created: [job, fileObject] };
      },
    });
  }

  #setTarget(entry: JobEntry, target: NotifyTarget | undefined): void {
    const previous = entry.target;
    entry.target = target;
    if (previous !== undefined) invokeSync(previous.address, IUnknown.method('Release'));
  }
}
