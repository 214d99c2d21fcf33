import { ComClass, type MethodHandlers } from '../../src/com/com-object.js';
import { E_UNEXPECTED, RPC_S_SERVER_UNAVAILABLE } from '../../src/com/hresult.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import type { ComObject } from '../../src/com/com-object.js';
import type { OleAutomation } from '../../src/com/automation.js';
import { around, handlerErrors } from '../loopback/shared.js';
import type { DownloadModel } from './download-model.js';

/**
 * What the loopback Delivery Optimization service's COM classes share (manager.ts, download.ts,
 * enum-unknown.ts), as Wine's qmgr.h does for its classes.
 */

/** A COM class of the loopback: a handler that throws answers E_UNEXPECTED and is recorded with the BITS loopback's. */
export function doClass<I extends ComInterface>(iface: I): ComClass<I> {
  return new ComClass(iface, {
    answerOnThrow: E_UNEXPECTED,
    report: (error, method) => handlerErrors.push(new Error(`${method}: ${error instanceof Error ? error.stack : String(error)}`)),
  });
}

export type DoLiveKind = 'managers' | 'downloads' | 'enumerators';

/** The service as its classes see it. */
export interface DoServiceCore {
  /** The service process's incarnation: an object of an earlier one answers RPC_S_SERVER_UNAVAILABLE for good. */
  readonly generation: number;
  readonly automation: OleAutomation;
  readonly downloads: ReadonlyMap<string, DownloadModel>;
  createDownload(owner: string): DownloadModel;
  /** A client's object for a download, with one reference for the receiver. */
  downloadObject(model: DownloadModel): ComObject;
  count(iface: ComInterface, method: string): void;
  tracked(kind: DoLiveKind): { onFinalRelease(): void };
}

/** Handlers counted per call, answering as a dead server's proxy once the service that made them has gone. */
export function countedDo<I extends ComInterface>(core: DoServiceCore, iface: I, handlers: MethodHandlers<I>): MethodHandlers<I> {
  const born = core.generation;
  return around(handlers, (name, call) => {
    core.count(iface, name);
    return core.generation === born ? call() : RPC_S_SERVER_UNAVAILABLE;
  });
}
