import { Worker } from 'node:worker_threads';
import koffi from 'koffi';
import { ComPtr } from './com-ptr.js';
import type { Guid } from './guid.js';
import type { ComMethod } from './interface-table.js';
import { IDODownloadStatusCallback } from './do-interfaces.js';
import type { FileRange } from './file-ranges.js';
import { IBackgroundCopyCallback3, IBackgroundCopyServerCertificateValidationCallback, IUnknown } from './interfaces.js';
import { POINTER_SIZE, type Pointer } from './native-types.js';
import {
  CallbackMemory,
  callbackMethods,
  certificateValidationMethods,
  PINS_OFFSET,
  statusCallbackMethods,
  FAILED,
  READY,
  STARTING,
  type CallbackMethod,
  type DoStatusRecord,
  type Forwarded,
  type NotificationKind,
  type ReceiverMessage,
} from './receiver-core.js';
import { NotificationRing } from './receiver-ring.js';
import { workerSource } from './worker-source.js';

/**
 * The receiver: one worker thread per process hosts every callback object's trampolines, so a
 * service thread calling us waits for that quiet thread (answering takes microseconds), never for
 * the application's main thread. BITS allows four notifications in flight per user across every
 * application: a main thread busy for half a second must not hold them.
 *
 * - The receiver AddRefs what a call carries, answers S_OK, and hands the main thread a record
 *   (through a shared ring, receiver-ring.ts, or a message); the main thread delivers the records of
 *   each object in call order (a per-object number, as calls may land on either thread or come
 *   either way), adopting the pointers as owned references.
 * - A synchronous call made from the main thread into one of our objects (only an in-process test
 *   double does that; a real service calls from its own threads) runs here, on the main thread,
 *   through the same methods: relayed to the receiver, it would block the main thread on the
 *   receiver, while the receiver may be waiting on the main thread to AddRef a pointer that such a
 *   double implements there.
 * - Once started, the worker is unref'd: it never keeps the process alive.
 */

/** Where an object's records go on the main thread, in order. */
export interface Route {
  /** BITS's notifications (IBackgroundCopyCallback3 objects). */
  notify?(kind: NotificationKind, pointer: Pointer | null): void;
  /** FileRangesTransferred: the file (an owned reference, or null) and the ranges copied during the call. */
  ranges?(file: Pointer | null, ranges: readonly FileRange[]): void;
  /** Delivery Optimization's OnStatusChange (IDODownloadStatusCallback objects). */
  status?(status: DoStatusRecord): void;
  queryInterface?(iid: Guid): void;
}

/** Which interface an object implements. */
export type ReceiverInterface = 'bits' | 'delivery-optimization' | 'certificate-validation';

/** Our side's handle on one callback object. */
export interface ReceiverObject {
  readonly address: Pointer;
  readonly refCount: number;
  /** Stops delivery: later calls are answered S_OK and dropped, records not yet delivered too. */
  detach(): void;
  /** Detaches and drops our reference (once); the block lives until the service drops its own. */
  dispose(): void;
}

interface Ordered {
  readonly route: Route;
  next: number;
  /** Records that arrived before an earlier one of the same object. */
  readonly early: Map<number, Forwarded>;
}

/** A hang guard for a synchronous start, not a speed target: the receiver starts in milliseconds. */
const START_GUARD_MS = 60_000;

function warn(message: string): void {
  process.emitWarning(`rx-bits: ${message}`);
}

/** Hands a record to its route, or gives back what it carries if the route takes no such record. */
function deliver(route: Route, record: Forwarded): void {
  if ('iid' in record) route.queryInterface?.(record.iid);
  else if ('status' in record) route.status?.(record.status);
  else if ('ranges' in record) {
    if (route.ranges === undefined) drop(record);
    else route.ranges(record.pointer, record.ranges);
  } else if (route.notify === undefined) drop(record);
  else route.notify(record.kind, record.pointer);
}

/** Gives back a reference taken for a record nobody will receive. */
function drop(record: Forwarded): void {
  if ('pointer' in record && record.pointer !== null) void ComPtr.adopt(record.pointer, IUnknown).release();
}

class Receiver {
  readonly memory = CallbackMemory.allocate();
  readonly #ring = NotificationRing.allocate();
  readonly #ready: Promise<void>;
  readonly #routes = new Map<number, Ordered>();
  readonly #free: number[] = [];
  readonly #here: Record<string, CallbackMethod>;
  readonly #hereStatus: Record<string, CallbackMethod>;
  readonly #hereCertificate: Record<string, CallbackMethod>;
  #serial = 0;

  constructor(onExit: () => void) {
    const entry = workerSource('receiver-worker');
    const worker = new Worker(entry.source, { eval: entry.eval, name: 'rx-bits receiver', workerData: { memory: this.memory.buffer, ring: this.#ring.buffer } });
    const host = {
      memory: this.memory,
      forward: (record: Forwarded) => this.#accept(record),
      freed: (slot: number) => this.#free.push(slot),
      fault: (error: unknown, method: string) => warn(`${method} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    };
    this.#here = callbackMethods(host);
    this.#hereStatus = statusCallbackMethods(host);
    this.#hereCertificate = certificateValidationMethods(host);
    let failure: unknown;
    this.#ready = new Promise((resolve, reject) => {
      worker.on('message', (message: ReceiverMessage) => {
        if ('ready' in message) {
          // Held while it starts: a process ending meanwhile waits for a worker stopped halfway
          // through loading (under tsx, forever). From then on it never keeps the process alive.
          worker.unref();
          void this.#pump();
          resolve();
        }
        else if ('freed' in message) this.#free.push(message.freed);
        else if ('fault' in message) warn(message.fault);
        else this.#accept(message);
      });
      worker.on('error', (error) => (failure = error));
      worker.on('exit', (code) => {
        onExit();
        const error = failure ?? new Error(`rx-bits: the receiver thread exited (code ${code})`);
        reject(error);
        // Once started, objects handed to services can no longer be answered: say so loudly.
        if (this.memory.status === READY) warn(String(error));
      });
    });
    // A rejection nobody awaits (a synchronous start reports its own failure) is not unhandled.
    this.#ready.catch(() => undefined);
  }

  whenReady(): Promise<void> {
    return this.#ready;
  }

  /** Blocks until the trampolines are registered; only for a caller that did not await {@link whenReady}. */
  waitReady(): void {
    if (this.memory.status === STARTING) this.memory.waitWhileStarting(START_GUARD_MS);
    const status = this.memory.status;
    if (status !== READY) throw new Error(`rx-bits: the receiver thread ${status === FAILED ? 'failed to start' : 'did not start'}`);
  }

  /**
   * A new object with one reference, ours. A certificate validation object takes `pins`, a native
   * block (certificate-pins.ts) it owns from then on and frees with itself.
   */
  create(route: Route, implementing: ReceiverInterface = 'bits', pins?: Pointer): ReceiverObject {
    let slot = this.#free.pop();
    if (slot === undefined) {
      const used = this.memory.slots;
      this.memory.grow();
      for (let s = this.memory.slots - 1; s > used; s--) this.#free.push(s);
      slot = used;
    }
    const serial = (this.#serial = (this.#serial + 1) | 0);
    this.#routes.set(serial, { route, next: 0, early: new Map() });
    this.memory.claim(slot, serial, route.queryInterface !== undefined);
    const vtables: Record<ReceiverInterface, Pointer> = {
      bits: this.memory.vtable,
      'delivery-optimization': this.memory.statusVtable,
      'certificate-validation': this.memory.certificateVtable,
    };
    const address = koffi.alloc('void *', 3) as Pointer;
    koffi.encode(address, 0, 'void *', vtables[implementing]);
    koffi.encode(address, POINTER_SIZE, 'uint32', slot);
    koffi.encode(address, PINS_OFFSET, 'void *', pins ?? 0n);
    const { memory } = this;
    const release = (implementing === 'certificate-validation' ? this.#hereCertificate : this.#here).Release!;
    let disposed = false;
    const detach = (): void => {
      memory.detach(slot, serial);
      const ordered = this.#routes.get(serial);
      this.#routes.delete(serial);
      for (const record of ordered?.early.values() ?? []) drop(record);
    };
    return {
      address,
      get refCount() {
        return memory.refCount(slot, serial);
      },
      detach,
      dispose() {
        detach();
        if (disposed) return;
        disposed = true;
        release(address);
      },
    };
  }

  /** Delivers what the receiver writes to the ring, for the life of the process. */
  async #pump(): Promise<void> {
    for (;;) {
      const seen = this.#ring.drain((record) => {
        try {
          this.#accept(record);
        } catch (error) {
          // As from a message listener: thrown where the application sees it, the ring still drained.
          setImmediate(() => {
            throw error;
          });
        }
      });
      await this.#ring.written(seen);
    }
  }

  /** A record from either thread: delivered at its turn, dropped if its object was detached. */
  #accept(record: Forwarded): void {
    const ordered = this.#routes.get(record.serial);
    if (ordered === undefined) return drop(record);
    // Nearly always: the record is the next one and none waits, so it goes straight through.
    if (record.seq === ordered.next && ordered.early.size === 0) {
      ordered.next++;
      return deliver(ordered.route, record);
    }
    ordered.early.set(record.seq, record);
    for (let next = ordered.early.get(ordered.next); next !== undefined; next = ordered.early.get(ordered.next)) {
      ordered.early.delete(ordered.next++);
      deliver(ordered.route, next);
      // The route may have detached its object meanwhile: what is left is then dropped.
      if (this.#routes.get(record.serial) !== ordered) return;
    }
  }

  /** A synchronous call from this thread into one of our objects, made here; undefined if not ours. */
  callHere(self: Pointer, method: ComMethod, args: readonly unknown[]): number | undefined {
    if (this.memory.status !== READY || self === 0n) return undefined;
    const vtable = koffi.decode(self, 'void *') as Pointer;
    const hosted =
      vtable === this.memory.vtable
        ? { iface: IBackgroundCopyCallback3, methods: this.#here }
        : vtable === this.memory.statusVtable
          ? { iface: IDODownloadStatusCallback, methods: this.#hereStatus }
          : vtable === this.memory.certificateVtable
            ? { iface: IBackgroundCopyServerCertificateValidationCallback, methods: this.#hereCertificate }
            : undefined;
    if (hosted === undefined) return undefined;
    const { iface, methods } = hosted;
    const name = iface.methods[method.slot]?.name;
    const run = name === undefined ? undefined : methods[name];
    if (run === undefined) return undefined;
    // As koffi would pass them natively: a Buffer (a GUID, an out-parameter) by its address.
    return run(self, ...args.map((arg) => (ArrayBuffer.isView(arg) ? (koffi.address(arg) as Pointer) : arg)));
  }
}

let receiver: Receiver | undefined;

function start(): Receiver {
  const started = new Receiver(() => {
    if (receiver === started) receiver = undefined;
  });
  receiver = started;
  return started;
}

/** Starts the receiver in the background if it is not running. */
export function startReceiver(): void {
  receiver ??= start();
}

/** Starts the receiver if needed; resolves once it can host objects. Never blocks this thread. */
export async function receiverReady(): Promise<void> {
  await (receiver ?? start()).whenReady();
}

/**
 * The receiver, ready. If nobody awaited {@link receiverReady}, this blocks the calling thread once,
 * while the worker starts (the service may QueryInterface an object as soon as it has its address,
 * so the vtable must exist before an object does).
 */
export function readyReceiver(): Receiver {
  const current = receiver ?? start();
  current.waitReady();
  return current;
}

/** Callback objects not yet freed (ours or a service's reference outstanding). */
export function liveReceiverObjects(): number {
  return receiver?.memory.live ?? 0;
}

/** Trampolines the receiver registered once it runs: one per slot of each interface it hosts. */
export function receiverTrampolines(): number {
  const hosted = [IBackgroundCopyCallback3, IDODownloadStatusCallback, IBackgroundCopyServerCertificateValidationCallback];
  return receiver?.memory.status === READY ? hosted.reduce((sum, iface) => sum + iface.methods.length, 0) : 0;
}

/** For invokeSync: a call from this thread into one of our callback objects runs on this thread. */
export function callHere(self: Pointer, method: ComMethod, args: readonly unknown[]): number | undefined {
  return receiver?.callHere(self, method, args);
}
