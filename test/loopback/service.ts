import { randomUUID } from 'node:crypto';
import path from 'node:path';
import koffi from 'koffi';
import { ComClass, type ComObject } from '../../src/com/com-object.js';
import { ComError } from '../../src/com/errors.js';
import { decodeGuid, encodeGuid, parseGuid, type Guid } from '../../src/com/guid.js';
import {
  BG_E_ERROR_INFORMATION_UNAVAILABLE,
  BG_E_INVALID_STATE,
  BG_E_NOT_FOUND,
  E_INVALIDARG,
  E_NOINTERFACE,
  E_NOTIMPL,
  E_UNEXPECTED,
  formatHresult,
  hresultMessage,
  REGDB_E_CLASSNOTREG,
  S_FALSE,
  S_OK,
} from '../../src/com/hresult.js';
import {
  CLSID_BackgroundCopyManager,
  CLSID_DeliveryOptimization,
  IBackgroundCopyCallback,
  IBackgroundCopyCallback2,
  IBackgroundCopyError,
  IBackgroundCopyFile,
  IBackgroundCopyJob,
  IBackgroundCopyJobHttpOptions,
  IBackgroundCopyManager,
  IDeliveryOptimizationJob,
  IEnumBackgroundCopyFiles,
  IEnumBackgroundCopyJobs,
  IID_IExternalConnection,
  IID_IMarshal,
  IUnknown,
} from '../../src/com/interfaces.js';
import type { ComInterface, MethodsOf } from '../../src/com/interface-table.js';
import { invokeSync } from '../../src/com/invoke.js';
import {
  BG_FILE_INFO,
  BG_FILE_PROGRESS,
  BG_JOB_PROGRESS,
  BG_JOB_TIMES,
  BG_SIZE_UNKNOWN,
  pointerSlot,
  POINTER_SIZE,
  readPointer,
  type Pointer,
} from '../../src/com/native-types.js';
import type { ComRuntime } from '../../src/com/runtime.js';
import { JobModel, State, type ErrorModel, type Faults, type FileModel, type JobEvents } from './job-model.js';
import { Notifier, type NotifierOptions, type NotifyTarget } from './notifier.js';
import { TaskMemory } from './task-memory.js';

/**
 * The loopback BITS service: a BITS-compatible job manager written in TypeScript behind real native
 * vtables. The library reaches it through the same koffi paths as it reaches Windows (vtable
 * lookups, `.async` calls on worker threads, out-parameters, task-memory strings), and it calls the
 * library's callback objects from worker threads. Every object counts its references and every
 * method its calls, so a test can end by asserting that nothing leaked.
 */

export interface LoopbackOptions extends NotifierOptions {
  /** Milliseconds per BITS second for MinimumRetryDelay/NoProgressTimeout. */
  readonly secondMs: number;
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
  /** A Complete with files still missing keeps the job (recent Wine); BITS acknowledges it. */
  readonly keepsPartlyCompletedJobs: boolean;
}

const DEFAULTS: LoopbackOptions = {
  secondMs: 1,
  errorDescriptionFails: false,
  neverCalls: [],
  errorCountNotImplemented: false,
  keepsCallbackOfFinishedJobs: false,
  listsFinishedJobs: false,
  keepsPartlyCompletedJobs: false,
  maxConcurrent: 4,
  retryMs: 10,
  replayTerminal: 0,
  coalesceModifications: false,
  dropModification: undefined,
  holdModificationsUntilTerminal: false,
};

/** Exceptions thrown by loopback handlers: bugs of the loopback, which every test checks stayed empty. */
const handlerErrors: unknown[] = [];
const report = (error: unknown, method: string): void => {
  handlerErrors.push(new Error(`${method}: ${error instanceof Error ? error.stack : String(error)}`));
};

const classes = {
  manager: new ComClass(IBackgroundCopyManager, { answerOnThrow: E_UNEXPECTED, report }),
  job: new ComClass(IBackgroundCopyJob, { answerOnThrow: E_UNEXPECTED, report }),
  error: new ComClass(IBackgroundCopyError, { answerOnThrow: E_UNEXPECTED, report }),
  file: new ComClass(IBackgroundCopyFile, { answerOnThrow: E_UNEXPECTED, report }),
  enumJobs: new ComClass(IEnumBackgroundCopyJobs, { answerOnThrow: E_UNEXPECTED, report }),
  enumFiles: new ComClass(IEnumBackgroundCopyFiles, { answerOnThrow: E_UNEXPECTED, report }),
  doJob: new ComClass(IDeliveryOptimizationJob, { answerOnThrow: E_UNEXPECTED, report }),
  httpOptions: new ComClass(IBackgroundCopyJobHttpOptions, { answerOnThrow: E_UNEXPECTED, report }),
};

type Flavor = 'bits' | 'delivery-optimization';

interface JobEntry {
  readonly model: JobModel;
  readonly object: ComObject;
  readonly flavor: Flavor;
  target: NotifyTarget | undefined;
}

/** A Date as FILETIME (100 ns ticks since 1601-01-01); undefined is 0, "never". */
function dateToFileTime(date: Date | undefined): { dwLowDateTime: number; dwHighDateTime: number } {
  if (date === undefined) return { dwLowDateTime: 0, dwHighDateTime: 0 };
  const ticks = (BigInt(date.getTime()) + 11644473600000n) * 10000n;
  return { dwLowDateTime: Number(ticks & 0xffffffffn), dwHighDateTime: Number(ticks >> 32n) };
}

const readGuid = (address: Pointer): Guid => decodeGuid(new Uint8Array(koffi.view(address, 16).slice(0)));
const writePointer = (out: Pointer, value: Pointer): void => koffi.encode(out, 'void *', value);
const writeInt = (out: Pointer, value: number): void => koffi.encode(out, 'int32', value);
const writeUint = (out: Pointer, value: number): void => koffi.encode(out, 'uint32', value);
const missing = (...pointers: Array<Pointer | null>): boolean => pointers.some((p) => p === null || p === 0n);

/** What QueryInterface a COM service asks a callback object for, in order (the reference, seen on Wine). */
export const CALLBACK_QUERY_ORDER: readonly Guid[] = [
  IID_IMarshal,
  IID_IMarshal,
  IUnknown.iid,
  IID_IExternalConnection,
  IUnknown.iid,
  IBackgroundCopyCallback2.iid,
  IBackgroundCopyCallback.iid,
];

export class LoopbackService {
  readonly options: LoopbackOptions;
  readonly taskMemory = new TaskMemory();
  readonly notifier: Notifier;
  /** Faults a test can switch on at any time. */
  readonly faults: Faults = { disconnects: 0, unableToDeleteFiles: false, cancelDenied: false };
  readonly #calls = new Map<string, number>();
  /** Every counted call in order, e.g. `IBackgroundCopyJob::Cancel`. */
  readonly callLog: string[] = [];
  readonly #jobs = new Map<Guid, JobEntry>();
  /** Every job ever created, including those that left the queue, for settling and inspection. */
  readonly #history: JobEntry[] = [];
  readonly #handlerErrorsAtStart = handlerErrors.length;
  readonly #live = { managers: 0, errors: 0, files: 0, enumerators: 0, doJobs: 0, httpOptions: 0 };
  readonly runtime: ComRuntime;

  constructor(options: Partial<LoopbackOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.notifier = new Notifier(this.options);
    const service = this;
    this.runtime = {
      pathStyle: 'posix',
      initialize: () => Promise.resolve(),
      async createInstance(clsid, iid) {
        await new Promise((resolve) => setImmediate(resolve));
        const flavor: Flavor | undefined =
          clsid === CLSID_BackgroundCopyManager ? 'bits' : clsid === CLSID_DeliveryOptimization ? 'delivery-optimization' : undefined;
        if (flavor === undefined) throw new ComError(REGDB_E_CLASSNOTREG, 'ole32', `CoCreateInstance(${clsid})`);
        if (!IBackgroundCopyManager.iids.includes(iid)) throw new ComError(E_NOINTERFACE, 'ole32', `CoCreateInstance(${clsid})`);
        return service.#createManager(flavor).address;
      },
      freeTaskMemory: (address) => this.taskMemory.free(address),
    };
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
  notifyTarget(id: string): NotifyTarget | undefined {
    const guid = parseGuid(id);
    return this.#history.find((entry) => entry.model.id === guid)?.target;
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

  /** References held from outside the service, by kind; all zero when the library released everything. */
  references(): Record<string, number> {
    const jobs = this.#history.reduce((sum, entry) => sum + entry.object.refCount - (this.#jobs.get(entry.model.id) === entry ? 1 : 0), 0);
    return {
      managers: this.#live.managers,
      jobs,
      errors: this.#live.errors,
      files: this.#live.files,
      enumerators: this.#live.enumerators,
      doJobs: this.#live.doJobs,
      httpOptions: this.#live.httpOptions,
      callbacksHeld: this.#history.filter((entry) => entry.target !== undefined).length,
      strings: this.taskMemory.outstanding,
      doubleFrees: this.taskMemory.doubleFrees,
      handlerErrors: handlerErrors.length - this.#handlerErrorsAtStart,
    };
  }

  /** Throws, naming what is left, unless every reference and string was given back. */
  assertNoLeaks(): void {
    const left = Object.entries(this.references()).filter(([, count]) => count !== 0);
    if (left.length > 0) {
      const errors = handlerErrors.slice(this.#handlerErrorsAtStart).map(String).join('\n');
      throw new Error(`loopback service: ${left.map(([kind, n]) => `${n} ${kind}`).join(', ')} outstanding${errors ? `\n${errors}` : ''}`);
    }
  }

  /** Stops every job, drops the service's own references (its jobs and registered callbacks). */
  async close(): Promise<void> {
    for (const entry of this.#jobs.values()) {
      entry.model.suspend();
      this.#setTarget(entry, undefined);
    }
    await this.settled();
    for (const entry of this.#jobs.values()) {
      this.notifier.forget(entry.model.id);
      entry.object.release();
    }
    this.#jobs.clear();
  }

  #count(iface: ComInterface, method: string): void {
    const key = `${iface.name}::${method}`;
    this.#calls.set(key, (this.#calls.get(key) ?? 0) + 1);
    this.callLog.push(key);
  }

  /** Wraps handlers so each call is counted. */
  #counted<T extends Record<string, (...args: never[]) => number>>(iface: ComInterface, handlers: T): T {
    const wrapped: Record<string, (...args: never[]) => number> = {};
    for (const [name, handler] of Object.entries(handlers)) {
      wrapped[name] = (...args: never[]) => {
        this.#count(iface, name);
        return handler(...args);
      };
    }
    return wrapped as T;
  }

  #tracked(kind: 'managers' | 'errors' | 'files' | 'enumerators' | 'doJobs' | 'httpOptions'): { onFinalRelease(): void } {
    this.#live[kind]++;
    return { onFinalRelease: () => this.#live[kind]-- };
  }

  #createManager(flavor: Flavor): ComObject {
    const dosvc = flavor === 'delivery-optimization';
    return classes.manager.create({
      ...this.#tracked('managers'),
      methods: this.#counted(IBackgroundCopyManager, {
        CreateJob: (name: string | null, type: number, idOut: Pointer | null, jobOut: Pointer | null) => {
          if (name === null || missing(idOut, jobOut) || type < 0 || type > 2 || (dosvc && type !== 0)) return E_INVALIDARG;
          const entry = this.#createJob(name, type, flavor);
          koffi.encode(idOut, 'uint8_t[16]', [...encodeGuid(entry.model.id)]);
          entry.object.addRef();
          writePointer(jobOut!, entry.object.address);
          return S_OK;
        },
        GetJob: (idIn: Pointer | null, jobOut: Pointer | null) => {
          if (missing(idIn, jobOut)) return E_INVALIDARG;
          const entry = this.#jobs.get(readGuid(idIn!));
          if (entry === undefined || entry.flavor !== flavor) return BG_E_NOT_FOUND;
          entry.object.addRef();
          writePointer(jobOut!, entry.object.address);
          return S_OK;
        },
        EnumJobs: (_flags: number, out: Pointer | null) => {
          if (dosvc) return E_NOTIMPL;
          if (missing(out)) return E_INVALIDARG;
          const objects = [...this.#jobs.values()].filter((entry) => entry.flavor === flavor).map((entry) => entry.object);
          writePointer(out!, this.#createJobEnumerator(objects, 0).address);
          return S_OK;
        },
        GetErrorDescription: (hr: number, _language: number, out: Pointer | null) => {
          if (dosvc) return E_NOTIMPL;
          if (missing(out)) return E_INVALIDARG;
          const message = hresultMessage(hr);
          if (message === undefined) return BG_E_NOT_FOUND;
          writePointer(out!, this.taskMemory.allocString(message));
          return S_OK;
        },
      }),
    });
  }

  #createJob(displayName: string, type: number, flavor: Flavor): JobEntry {
    const events: JobEvents = {
      modification: () => this.#notify(entry, 'modification'),
      fileTransferred: (_model, file) => this.#notify(entry, 'fileTransferred', file),
      transferred: () => this.#notify(entry, 'transferred'),
      error: () => this.#notify(entry, 'error'),
      removed: () => {
        if (!this.options.keepsCallbackOfFinishedJobs) this.#setTarget(entry, undefined);
        if (this.#jobs.get(entry.model.id) === entry && !this.options.listsFinishedJobs) {
          this.#jobs.delete(entry.model.id);
          // The queue's own reference goes when the job leaves it; callers' references stay valid.
          entry.object.release();
        }
      },
    };
    const model = new JobModel(parseGuid(randomUUID()), displayName, type, events, {
      secondMs: this.options.secondMs,
      faults: this.faults,
      keepsPartlyCompletedJobs: this.options.keepsPartlyCompletedJobs,
    });
    const entry: JobEntry = { model, flavor, target: undefined, object: this.#createJobObject(model, flavor, () => entry) };
    this.#jobs.set(model.id, entry);
    this.#history.push(entry);
    return entry;
  }

  #notify(entry: JobEntry, kind: 'transferred' | 'error' | 'modification' | 'fileTransferred', file?: FileModel): void {
    const bit = { transferred: 0x1, error: 0x2, modification: 0x8, fileTransferred: 0x10 }[kind];
    const flags = entry.model.notifyFlags;
    if ((flags & 0x4) !== 0 || (flags & bit) === 0 || entry.target === undefined) return;
    if ((this.options.neverCalls as readonly string[]).includes(kind)) return;
    const stateAtEvent = entry.model.state;
    this.notifier.enqueue(entry.model.id, () => entry.target, {
      kind,
      stillValid: () =>
        (entry.model.notifyFlags & bit) !== 0 && (entry.model.notifyFlags & 0x4) === 0 && (kind === 'modification' || kind === 'fileTransferred' || entry.model.state === stateAtEvent),
      args: () => {
        if (kind === 'error') {
          const error = this.#createErrorObject(entry.model.error);
          return { args: [entry.object.address, error.address], created: [error] };
        }
        if (kind === 'fileTransferred' && file !== undefined) {
          const fileObject = this.#createFileObject(file);
          return { args: [entry.object.address, fileObject.address], created: [fileObject] };
        }
        return { args: kind === 'modification' ? [entry.object.address, 0] : [entry.object.address], created: [] };
      },
    });
  }

  #setTarget(entry: JobEntry, target: NotifyTarget | undefined): void {
    const previous = entry.target;
    entry.target = target;
    if (previous !== undefined) invokeSync(previous.address, IUnknown.method('Release'));
  }

  /** QueryInterface on the callback, in the order a real COM service asks (IMarshal first, refused). */
  #registerCallback(entry: JobEntry, address: Pointer): number {
    const obtained = new Map<Guid, Pointer>();
    for (const iid of CALLBACK_QUERY_ORDER) {
      const slot = pointerSlot();
      const hr = invokeSync(address, IUnknown.method('QueryInterface'), encodeGuid(iid), slot);
      const pointer = readPointer(slot);
      if (hr === S_OK && pointer !== 0n) {
        if (obtained.has(iid)) invokeSync(pointer, IUnknown.method('Release'));
        else obtained.set(iid, pointer);
      }
    }
    const callback2 = obtained.get(IBackgroundCopyCallback2.iid);
    const chosenIid = callback2 !== undefined ? IBackgroundCopyCallback2.iid : IBackgroundCopyCallback.iid;
    const chosen = obtained.get(chosenIid);
    for (const [iid, pointer] of obtained) if (iid !== chosenIid || chosen === undefined) invokeSync(pointer, IUnknown.method('Release'));
    if (chosen === undefined) return E_NOINTERFACE;
    this.#setTarget(entry, { address: chosen, supportsFileTransferred: callback2 !== undefined });
    return S_OK;
  }

  #createJobObject(model: JobModel, flavor: Flavor, entry: () => JobEntry): ComObject {
    const dosvc = flavor === 'delivery-optimization';
    const string = (out: Pointer | null, value: string): number => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, this.taskMemory.allocString(value));
      return S_OK;
    };
    const uint = (out: Pointer | null, value: number): number => {
      if (missing(out)) return E_INVALIDARG;
      writeUint(out!, value);
      return S_OK;
    };
    const addFile = (url: string | null, local: string | null): number => {
      if (url === null || local === null || !path.isAbsolute(local)) return E_INVALIDARG;
      return model.addFile(url, local);
    };
    const object = classes.job.create({
      queryInterface: (iid) => {
        if (dosvc && iid === IDeliveryOptimizationJob.iid) return this.#createDoJob(model, object).address;
        if (!dosvc && iid === IBackgroundCopyJobHttpOptions.iid) return this.#createHttpOptions(model, object).address;
        return undefined;
      },
      methods: this.#counted(IBackgroundCopyJob, {
        AddFileSet: (count: number, files: Pointer | null) => {
          if (dosvc) return E_NOTIMPL;
          if (missing(files) || count === 0) return E_INVALIDARG;
          const infos = koffi.decode(files, BG_FILE_INFO, count) as Array<{ RemoteName: string | null; LocalName: string | null }>;
          if (infos.some((info) => info.RemoteName === null || info.LocalName === null || !path.isAbsolute(info.LocalName))) return E_INVALIDARG;
          for (const info of infos) {
            const hr = model.addFile(info.RemoteName!, info.LocalName!);
            if (hr !== S_OK) return hr;
          }
          return S_OK;
        },
        AddFile: (url: string | null, local: string | null) => (dosvc ? E_NOTIMPL : addFile(url, local)),
        EnumFiles: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          writePointer(out!, this.#createFileEnumerator([...model.files], 0).address);
          return S_OK;
        },
        Suspend: () => model.suspend(),
        Resume: () => model.resume(),
        Cancel: () => model.cancel(),
        Complete: () => model.complete(),
        GetId: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          koffi.encode(out, 'uint8_t[16]', [...encodeGuid(model.id)]);
          return S_OK;
        },
        GetType: (out: Pointer | null) => (missing(out) ? E_INVALIDARG : (writeInt(out!, model.type), S_OK)),
        GetProgress: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          const known = model.files.every((file) => file.bytesTotal !== undefined);
          koffi.encode(out, BG_JOB_PROGRESS, {
            BytesTotal: known ? BigInt(model.files.reduce((sum, file) => sum + (file.bytesTotal ?? 0), 0)) : BG_SIZE_UNKNOWN,
            BytesTransferred: BigInt(model.files.reduce((sum, file) => sum + file.bytesTransferred, 0)),
            FilesTotal: model.files.length,
            FilesTransferred: model.files.filter((file) => file.completed).length,
          });
          return S_OK;
        },
        GetTimes: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          koffi.encode(out, BG_JOB_TIMES, {
            CreationTime: dateToFileTime(model.created),
            ModificationTime: dateToFileTime(model.modified),
            TransferCompletionTime: dateToFileTime(model.transferCompleted),
          });
          return S_OK;
        },
        GetState: (out: Pointer | null) => (missing(out) ? E_INVALIDARG : (writeInt(out!, model.state), S_OK)),
        GetError: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          writePointer(out!, 0n);
          if (model.error === undefined || (model.state !== State.ERROR && model.state !== State.TRANSIENT_ERROR)) {
            return BG_E_ERROR_INFORMATION_UNAVAILABLE;
          }
          writePointer(out!, this.#createErrorObject(model.error).address);
          return S_OK;
        },
        GetOwner: (out: Pointer | null) => string(out, model.owner),
        SetDisplayName: (name: string | null) => {
          if (name === null) return E_INVALIDARG;
          model.displayName = name;
          model.touch();
          return S_OK;
        },
        GetDisplayName: (out: Pointer | null) => string(out, model.displayName),
        SetDescription: (text: string | null) => {
          if (text === null) return E_INVALIDARG;
          model.description = text;
          model.touch();
          return S_OK;
        },
        GetDescription: (out: Pointer | null) => string(out, model.description),
        SetPriority: (priority: number) => {
          if (priority < 0 || priority > 3) return E_INVALIDARG;
          model.priority = priority;
          model.touch();
          return S_OK;
        },
        GetPriority: (out: Pointer | null) => (missing(out) ? E_INVALIDARG : (writeInt(out!, model.priority), S_OK)),
        SetNotifyFlags: (flags: number) => {
          // Wine checks the state first (dlls/qmgr/job.c); BITS refuses setters on a finished job too.
          if (model.final) return BG_E_INVALID_STATE;
          if ((flags & ~0x3f) !== 0 || (dosvc && (flags & 0x4) !== 0)) return E_NOTIMPL;
          model.notifyFlags = flags;
          return S_OK;
        },
        GetNotifyFlags: (out: Pointer | null) => uint(out, model.notifyFlags),
        SetNotifyInterface: (notify: Pointer | null) => {
          if (model.final) return BG_E_INVALID_STATE;
          if (notify === null || notify === 0n) {
            this.#setTarget(entry(), undefined);
            return S_OK;
          }
          return this.#registerCallback(entry(), notify);
        },
        GetNotifyInterface: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          const target = entry().target;
          if (target !== undefined) invokeSync(target.address, IUnknown.method('AddRef'));
          writePointer(out!, target?.address ?? 0n);
          return S_OK;
        },
        SetMinimumRetryDelay: (seconds: number) => {
          if (dosvc) return E_NOTIMPL;
          model.minimumRetryDelay = seconds;
          model.touch();
          return S_OK;
        },
        GetMinimumRetryDelay: (out: Pointer | null) => (dosvc ? E_NOTIMPL : uint(out, model.minimumRetryDelay)),
        SetNoProgressTimeout: (seconds: number) => {
          model.noProgressTimeout = seconds;
          model.touch();
          return S_OK;
        },
        GetNoProgressTimeout: (out: Pointer | null) => uint(out, model.noProgressTimeout),
        GetErrorCount: (out: Pointer | null) => (this.options.errorCountNotImplemented ? E_NOTIMPL : uint(out, model.errorCount)),
        SetProxySettings: (usage: number, list: string | null, bypass: string | null) => {
          if (usage < 0 || usage > 3 || (usage === 2 && list === null)) return E_INVALIDARG;
          model.proxy = { usage, list: list ?? '', bypass: bypass ?? '' };
          return S_OK;
        },
        GetProxySettings: (usage: Pointer | null, list: Pointer | null, bypass: Pointer | null) => {
          if (missing(usage, list, bypass)) return E_INVALIDARG;
          writeInt(usage!, model.proxy.usage);
          writePointer(list!, model.proxy.list === '' ? 0n : this.taskMemory.allocString(model.proxy.list));
          writePointer(bypass!, model.proxy.bypass === '' ? 0n : this.taskMemory.allocString(model.proxy.bypass));
          return S_OK;
        },
        TakeOwnership: () => S_OK,
      }),
    });
    return object;
  }

  /** IDeliveryOptimizationJob as a tear-off: its own small object that shares the job's identity. */
  #createDoJob(model: JobModel, job: ComObject): ComObject {
    return classes.doJob.create({
      ...this.#tracked('doJobs'),
      queryInterface: (iid) => {
        if (iid !== IUnknown.iid && iid !== IBackgroundCopyJob.iid) return undefined;
        job.addRef();
        return job.address;
      },
      methods: this.#counted(IDeliveryOptimizationJob, {
        AddFileWithRanges: (fileId: string | null, url: string | null, local: string | null, rangeCount: number, ranges: Pointer | null) => {
          if (fileId === null || url === null || local === null || !path.isAbsolute(local)) return E_INVALIDARG;
          if (rangeCount > 0 && missing(ranges)) return E_INVALIDARG;
          return model.addFile(url, local);
        },
      }),
    });
  }

  /** IBackgroundCopyJobHttpOptions as a tear-off; only the custom headers are modelled. */
  #createHttpOptions(model: JobModel, job: ComObject): ComObject {
    return classes.httpOptions.create({
      ...this.#tracked('httpOptions'),
      queryInterface: (iid) => {
        if (iid !== IUnknown.iid && iid !== IBackgroundCopyJob.iid) return undefined;
        job.addRef();
        return job.address;
      },
      methods: this.#counted(IBackgroundCopyJobHttpOptions, {
        SetCustomHeaders: (headers: string | null) => {
          model.headers = headers ?? '';
          return S_OK;
        },
        GetCustomHeaders: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          writePointer(out!, model.headers === '' ? 0n : this.taskMemory.allocString(model.headers));
          return S_OK;
        },
      }),
    });
  }

  #createErrorObject(error: ErrorModel | undefined): ComObject {
    const fails = this.options.errorDescriptionFails;
    return classes.error.create({
      ...this.#tracked('errors'),
      methods: this.#counted(IBackgroundCopyError, {
        GetError: (context: Pointer | null, code: Pointer | null) => {
          if (missing(context, code)) return E_INVALIDARG;
          writeInt(context!, error?.context ?? 1);
          writeInt(code!, (error?.hresult ?? E_UNEXPECTED) | 0);
          return S_OK;
        },
        GetFile: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          if (error?.file === undefined) {
            writePointer(out!, 0n);
            return 0x80200004; // BG_E_FILE_NOT_AVAILABLE
          }
          writePointer(out!, this.#createFileObject(error.file).address);
          return S_OK;
        },
        GetErrorDescription: (_language: number, out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          if (fails) return 0x800706f4;
          const hr = error?.hresult ?? E_UNEXPECTED;
          writePointer(out!, this.taskMemory.allocString(hresultMessage(hr) ?? `Error ${formatHresult(hr)}`));
          return S_OK;
        },
        GetErrorContextDescription: (_language: number, out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          const text = ['', 'Unknown context', 'Queue manager', 'Notification', 'Local file', 'Remote file', 'Transport', 'Remote application', 'Certificate callback'][error?.context ?? 1];
          writePointer(out!, this.taskMemory.allocString(`The error occurred in: ${text}`));
          return S_OK;
        },
        GetProtocol: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          const url = error?.file?.url;
          if (url === undefined) return BG_E_ERROR_INFORMATION_UNAVAILABLE;
          writePointer(out!, this.taskMemory.allocString(url.startsWith('http') ? 'http' : 'file'));
          return S_OK;
        },
      }),
    });
  }

  #createFileObject(file: FileModel): ComObject {
    return classes.file.create({
      ...this.#tracked('files'),
      methods: this.#counted(IBackgroundCopyFile, {
        GetRemoteName: (out: Pointer | null) => (missing(out) ? E_INVALIDARG : (writePointer(out!, this.taskMemory.allocString(file.url)), S_OK)),
        GetLocalName: (out: Pointer | null) => (missing(out) ? E_INVALIDARG : (writePointer(out!, this.taskMemory.allocString(file.localPath)), S_OK)),
        GetProgress: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          koffi.encode(out, BG_FILE_PROGRESS, {
            BytesTotal: file.bytesTotal === undefined ? BG_SIZE_UNKNOWN : BigInt(file.bytesTotal),
            BytesTransferred: BigInt(file.bytesTransferred),
            Completed: file.completed ? 1 : 0,
          });
          return S_OK;
        },
      }),
    });
  }

  /** IEnumBackgroundCopyJobs over a snapshot; it holds a reference on each job object until released. */
  #createJobEnumerator(objects: readonly ComObject[], start: number): ComObject {
    for (const object of objects) object.addRef();
    const hand = (object: ComObject): Pointer => (object.addRef(), object.address);
    const clone = (position: number) => this.#createJobEnumerator(objects, position);
    return this.#createEnumerator(classes.enumJobs, IEnumBackgroundCopyJobs, objects, start, hand, clone, () => {
      for (const object of objects) object.release();
    });
  }

  /** IEnumBackgroundCopyFiles over a snapshot; each item handed out is a new file object. */
  #createFileEnumerator(files: readonly FileModel[], start: number): ComObject {
    const hand = (file: FileModel): Pointer => this.#createFileObject(file).address;
    const clone = (position: number) => this.#createFileEnumerator(files, position);
    return this.#createEnumerator(classes.enumFiles, IEnumBackgroundCopyFiles, files, start, hand, clone);
  }

  #createEnumerator<T>(
    cls: ComClass<MethodsOf<typeof IEnumBackgroundCopyJobs>>,
    iface: ComInterface,
    items: readonly T[],
    start: number,
    hand: (item: T) => Pointer,
    clone: (position: number) => ComObject,
    onFinalRelease?: () => void,
  ): ComObject {
    let position = start;
    const enumerator: ComObject = cls.create({
      onFinalRelease: () => {
        this.#live.enumerators--;
        onFinalRelease?.();
      },
      methods: this.#counted(iface, {
        Next: (count: number, out: Pointer | null, fetched: Pointer | null) => {
          if (missing(out) || (count > 1 && missing(fetched))) return E_INVALIDARG;
          let n = 0;
          for (; n < count && position < items.length; n++, position++) {
            koffi.encode(out, n * POINTER_SIZE, 'void *', hand(items[position]!));
          }
          if (!missing(fetched)) writeUint(fetched!, n);
          return n === count ? S_OK : S_FALSE;
        },
        Skip: (count: number) => {
          position = Math.min(items.length, position + count);
          return position < items.length ? S_OK : S_FALSE;
        },
        Reset: () => ((position = 0), S_OK),
        Clone: (out: Pointer | null) => {
          if (missing(out)) return E_INVALIDARG;
          writePointer(out!, clone(position).address);
          return S_OK;
        },
        GetCount: (out: Pointer | null) => uint(out, items.length),
      }),
    });
    this.#live.enumerators++;
    return enumerator;
  }
}

function uint(out: Pointer | null, value: number): number {
  if (missing(out)) return E_INVALIDARG;
  writeUint(out!, value);
  return S_OK;
}
