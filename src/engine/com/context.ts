import koffi from 'koffi';
import { ComClass, type ComObject } from '../../com/com-object.js';
import { decodeGuid, type Guid } from '../../com/guid.js';
import { E_INVALIDARG, E_UNEXPECTED, S_OK } from '../../com/hresult.js';
import type { ComInterface } from '../../com/interface-table.js';
import type { Pointer } from '../../com/native-types.js';
import type { EngineJob } from '../engine-job.js';
import type { NotifyTarget } from '../notifier.js';
import type { TaskMemory } from './task-memory.js';

/**
 * What the engine's COM classes reach into, as Wine's dlls/qmgr/qmgr.h is for its classes, and the
 * small helpers for out-parameters they share.
 */
export interface EngineContext {
  readonly taskMemory: TaskMemory;
  /** The jobs in the queue, by id. */
  readonly jobs: ReadonlyMap<Guid, EngineJob>;
  createJob(displayName: string): EngineJob;
  /** The job's object, one per job while anyone holds it, with one more reference for the caller. */
  jobObject(job: EngineJob): ComObject;
  /** The callback registered on a job, if any. */
  target(job: EngineJob): NotifyTarget | undefined;
  /** Replaces a job's callback: adopts the reference `target` comes with, releases the old one's. */
  setTarget(job: EngineJob, target: NotifyTarget | undefined): void;
  /** Counts a COM object handed out until its final release: the engine works while any is held. */
  opened(): { onFinalRelease(): void };
  /** Whose jobs these are (GetOwner). */
  readonly owner: string;
}

const bugs: string[] = [];

/** Exceptions thrown by the in-process servers' handlers so far, the engine's and the DO bridge's (tests check it stays empty). */
export function engineBugs(): readonly string[] {
  return bugs;
}

/** Also for their own background work: an exception there is a bug, reported, never a crash. `where` names the server's part. */
export function reportEngineBug(error: unknown, where: string): void {
  const text = `${where}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  bugs.push(text);
  process.emitWarning(`rx-bits: ${text}`);
}

/**
 * One class per interface for the process (koffi's callbacks are a process-wide budget). A handler
 * that throws answers E_UNEXPECTED and is reported.
 */
export function engineClass<I extends ComInterface>(iface: I): ComClass<I> {
  return new ComClass(iface, { answerOnThrow: E_UNEXPECTED, report: reportEngineBug });
}

export const missing = (...pointers: Array<Pointer | null>): boolean => pointers.some((p) => p === null || p === 0n);
export const readGuid = (address: Pointer): Guid => decodeGuid(new Uint8Array(koffi.view(address, 16).slice(0)));
export const writePointer = (out: Pointer, value: Pointer): void => koffi.encode(out, 'void *', value);
export const writeInt = (out: Pointer, value: number): void => koffi.encode(out, 'int32', value);

/** Writes a ULONG out-parameter. */
export function outUint(out: Pointer | null, value: number): number {
  if (missing(out)) return E_INVALIDARG;
  koffi.encode(out, 'uint32', value);
  return S_OK;
}

/** Writes an int out-parameter. */
export function outInt(out: Pointer | null, value: number): number {
  if (missing(out)) return E_INVALIDARG;
  writeInt(out!, value);
  return S_OK;
}

/** Hands out a copy of `value` the caller frees. */
export function outString(context: Pick<EngineContext, 'taskMemory'>, out: Pointer | null, value: string): number {
  if (missing(out)) return E_INVALIDARG;
  writePointer(out!, context.taskMemory.allocString(value));
  return S_OK;
}

/** Hands out an object through an out-parameter (its one reference goes to the caller). */
export function outObject(out: Pointer | null, create: () => ComObject): number {
  if (missing(out)) return E_INVALIDARG;
  writePointer(out!, create().address);
  return S_OK;
}
