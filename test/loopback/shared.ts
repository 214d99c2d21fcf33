import koffi from 'koffi';
import { ComClass, type MethodHandlers } from '../../src/com/com-object.js';
import { decodeGuid, type Guid } from '../../src/com/guid.js';
import { E_INVALIDARG, E_UNEXPECTED, hresultByName, RPC_S_SERVER_UNAVAILABLE, S_OK } from '../../src/com/hresult.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import { IBackgroundCopyJob, IUnknown } from '../../src/com/interfaces.js';
import type { ComObject } from '../../src/com/com-object.js';
import type { Pointer } from '../../src/com/native-types.js';
import type { JobModel } from './job-model.js';
import type { LoopbackOptions } from './options.js';
import type { NotifyTarget } from './notifier.js';
import type { ClientProcess } from './process.js';
import type { ComRuntime } from '../../src/com/runtime.js';

/**
 * What the loopback's COM classes share, as Wine's dlls/qmgr/qmgr.h does for its classes: the
 * service's state they reach into, and the small helpers for out-parameters.
 */

/** Exceptions thrown by loopback handlers: bugs of the loopback, which every test checks stayed empty. */
export const handlerErrors: unknown[] = [];

/** A COM class of the loopback: a handler that throws answers E_UNEXPECTED and is recorded. */
export function loopbackClass<I extends ComInterface>(iface: I): ComClass<I> {
  return new ComClass(iface, {
    answerOnThrow: E_UNEXPECTED,
    report: (error, method) => handlerErrors.push(new Error(`${method}: ${error instanceof Error ? error.stack : String(error)}`)),
  });
}

/** Codes hresult.ts names but does not export as constants. */
export const RPC_X_NULL_REF_POINTER = hresultByName('RPC_X_NULL_REF_POINTER')!;

/** One job of the queue: the model all processes share, and whose callback it notifies. */
export interface JobEntry {
  readonly model: JobModel;
  target: NotifyTarget | undefined;
}

/** Objects the service counts while the library holds them. */
export type LiveKind = 'managers' | 'errors' | 'files' | 'enumerators' | 'httpOptions' | 'callbackProxies';

/** The service as its COM classes see it (the test-facing API is {@link LoopbackService}). */
export interface ServiceCore {
  readonly options: LoopbackOptions;
  /**
   * The service process's incarnation: objects handed out by an earlier one answer every call with
   * RPC_S_SERVER_UNAVAILABLE, as a proxy to a dead server does, for good.
   */
  readonly generation: number;
  /** The machine's Delivery Optimization service (test/loopback-do): what CLSID_DeliveryOptimization reaches. */
  readonly deliveryOptimization: ComRuntime;
  /** Whether CoCreateInstance reaches the service (false while it is stopped). */
  readonly available: boolean;
  /** CoDisconnectObject from a client: the service lets go of that client's object. */
  disconnect(process: ClientProcess, address: Pointer): void;
  /** Jobs in the queue (with `listsFinishedJobs`, finished ones too), by id. */
  readonly jobs: ReadonlyMap<Guid, JobEntry>;
  createJob(displayName: string, type: number, owner: string): JobEntry;
  /** Replaces the job's registered callback, releasing the previous one. */
  setTarget(entry: JobEntry, target: NotifyTarget | undefined): void;
  /** Registration of a callback made the job's terminal state known to it (BITS replays it). */
  registered(entry: JobEntry): void;
  /** A call on a job object is about to answer: what BITS does concurrently may happen now. */
  answering(entry: JobEntry): void;
  /** Counts a call, e.g. `IBackgroundCopyJob::Cancel`. */
  count(iface: ComInterface, method: string): void;
  /** Counts a live object of `kind` until its final release. */
  tracked(kind: LiveKind): { onFinalRelease(): void };
}

/**
 * What a tear-off of a job (IBackgroundCopyJobHttpOptions) shares: it holds
 * a reference on its job while it lives, is counted as `kind`, and answers QueryInterface for
 * IUnknown and IBackgroundCopyJob with the job itself.
 */
export function tearOffOf(core: ServiceCore, kind: LiveKind, job: ComObject): { onFinalRelease(): void; queryInterface(iid: Guid): Pointer | undefined } {
  job.addRef();
  const live = core.tracked(kind);
  return {
    onFinalRelease: () => {
      job.release();
      live.onFinalRelease();
    },
    queryInterface: (iid) => {
      if (iid !== IUnknown.iid && iid !== IBackgroundCopyJob.iid) return undefined;
      job.addRef();
      return job.address;
    },
  };
}

/**
 * The same handlers, each run through `wrap` with its method's name: `call` runs the handler with the
 * arguments the trampoline gave, whatever they are, so the wrappers need not know any prototype.
 */
export function around<I extends ComInterface>(handlers: MethodHandlers<I>, wrap: (method: string, call: () => number) => number): MethodHandlers<I> {
  const wrapped: Record<string, (...args: readonly unknown[]) => number> = {};
  for (const [name, handler] of Object.entries(handlers as Record<string, ((...args: readonly unknown[]) => number) | undefined>)) {
    if (handler !== undefined) wrapped[name] = (...args) => wrap(name, () => handler(...args));
  }
  // Each wrapper takes the arguments of the handler it wraps, so it has the handler's type.
  return wrapped as MethodHandlers<I>;
}

/** Wraps handlers so each call is counted, and answers as a dead server's proxy once the service that made them has gone. */
export function counted<I extends ComInterface>(core: ServiceCore, iface: I, handlers: MethodHandlers<I>): MethodHandlers<I> {
  const born = core.generation;
  return around(handlers, (name, call) => {
    core.count(iface, name);
    return core.generation === born ? call() : RPC_S_SERVER_UNAVAILABLE;
  });
}

export const readGuid = (address: Pointer): Guid => decodeGuid(new Uint8Array(koffi.view(address, 16).slice(0)));
export const writePointer = (out: Pointer, value: Pointer): void => koffi.encode(out, 'void *', value);
export const writeInt = (out: Pointer, value: number): void => koffi.encode(out, 'int32', value);
export const writeUint = (out: Pointer, value: number): void => koffi.encode(out, 'uint32', value);
export const missing = (...pointers: Array<Pointer | null>): boolean => pointers.some((p) => p === null || p === 0n);

/** Writes a ULONG out-parameter. */
export function uint(out: Pointer | null, value: number): number {
  if (missing(out)) return E_INVALIDARG;
  writeUint(out!, value);
  return S_OK;
}
