import koffi from 'koffi';
import { decodeGuid, type Guid } from './guid.js';
import { E_NOINTERFACE, E_POINTER, E_UNEXPECTED, S_OK, toSignedHresult, TRUST_E_FAIL } from './hresult.js';
import { IDODownloadStatusCallback } from './do-interfaces.js';
import { DO_DOWNLOAD_STATUS } from './do-native-types.js';
import { IBackgroundCopyCallback3, IBackgroundCopyServerCertificateValidationCallback, IUnknown } from './interfaces.js';
import { decodeFileRanges, type FileRange } from './file-ranges.js';
import { matchesPins } from './certificate-pins.js';
import { POINTER_SIZE, type Pointer } from './native-types.js';
import type { NotificationKind } from './enums.js';

/**
 * What the receiver thread (receiver-worker.ts) and the main thread (receiver-thread.ts) share about
 * callback objects: their state in one SharedArrayBuffer, and the methods of the three interfaces
 * they implement, which run on whichever of the two threads a call lands on: IBackgroundCopyCallback3
 * (BITS, with Callback2's methods), IDODownloadStatusCallback (Delivery Optimization) and
 * IBackgroundCopyServerCertificateValidationCallback (BITS 10.3).
 *
 * Every object is a native block `{ lpVtbl, slot, pins }` sharing its interface's one vtable (`pins`:
 * a certificate validation object's pins, NULL for the others). Its reference count, flags,
 * serial number and notification counter live in the shared buffer at `slot`, changed only with
 * Atomics, so AddRef and Release are right from any thread and need no round trip. The buffer is
 * growable and every view of it tracks its length: the receiver sees new slots without a message.
 */

export type { NotificationKind } from './enums.js';

/** DO_DOWNLOAD_STATUS as OnStatusChange passed it, copied during the call (it lives only that long). */
export interface DoStatusRecord {
  readonly bytesTotal: bigint;
  readonly bytesTransferred: bigint;
  /** DODownloadState. */
  readonly state: number;
  /** Unsigned HRESULTs. */
  readonly error: number;
  readonly extendedError: number;
}

/**
 * A FileRangesTransferred call's record: the file it names (AddRef'd) and its ranges, copied during
 * the call, since the service frees the array once the call returns.
 */
export interface RangesRecord {
  readonly serial: number;
  readonly seq: number;
  readonly pointer: Pointer | null;
  readonly ranges: readonly FileRange[];
}

/** A call's record for the main thread, numbered per object (`seq`) so that it is delivered in order. */
export type Forwarded =
  | { readonly serial: number; readonly seq: number; readonly kind: NotificationKind; readonly pointer: Pointer | null }
  | RangesRecord
  | { readonly serial: number; readonly seq: number; readonly status: DoStatusRecord }
  | { readonly serial: number; readonly seq: number; readonly iid: Guid };

/** What the receiver posts to the main thread (BITS's notifications mostly go through the ring instead). */
export type ReceiverMessage =
  | Forwarded
  | { readonly ready: true }
  | { readonly freed: number }
  | { readonly fault: string };

/**
 * Header cells (int32 indices): the receiver's status, the live object count; the vtables at bytes 8
 * (IBackgroundCopyCallback3), 16 (IDODownloadStatusCallback) and 24
 * (IBackgroundCopyServerCertificateValidationCallback).
 */
const STATUS = 0;
const LIVE = 1;
const HEADER_BYTES = 32;
export const STARTING = 0;
export const READY = 1;
export const FAILED = 2;

/** Per slot (int32 cells): references, flags, the owner's serial number, the next notification number. */
const SLOT_CELLS = 4;
const REFS = 0;
const FLAGS = 1;
const SERIAL = 2;
const SEQ = 3;
const DETACHED = 1;
const REPORTS_QUERIES = 2;

/** Slots added at a time, and the most live objects a process may have (the buffer's reserved size). */
export const SLOTS_PER_GROWTH = 1024;
const MAX_SLOTS = 1 << 20;

/** ES2024 growable SharedArrayBuffer (Node 20+), not yet in this project's `lib`. */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  grow(byteLength: number): void;
}
type GrowableConstructor = new (byteLength: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

export class CallbackMemory {
  readonly #cells: Int32Array;
  readonly #vtable: BigUint64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    // Without a length: the view follows the buffer as the main thread grows it.
    this.#cells = new Int32Array(buffer);
    this.#vtable = new BigUint64Array(buffer, 8, 3);
  }

  /** A new buffer with room for the header only. */
  static allocate(): CallbackMemory {
    const Growable = SharedArrayBuffer as unknown as GrowableConstructor;
    return new CallbackMemory(new Growable(HEADER_BYTES, { maxByteLength: HEADER_BYTES + MAX_SLOTS * SLOT_CELLS * 4 }));
  }

  get status(): number {
    return Atomics.load(this.#cells, STATUS);
  }

  /** Blocks this thread until the receiver left STARTING, or `timeoutMs` passed. */
  waitWhileStarting(timeoutMs: number): void {
    Atomics.wait(this.#cells, STATUS, STARTING, timeoutMs);
  }

  /** The receiver's vtables, and READY for a thread waiting on it. */
  publish(vtable: Pointer, statusVtable: Pointer, certificateVtable: Pointer): void {
    this.#vtable[0] = vtable;
    this.#vtable[1] = statusVtable;
    this.#vtable[2] = certificateVtable;
    Atomics.store(this.#cells, STATUS, READY);
    Atomics.notify(this.#cells, STATUS);
  }

  fail(): void {
    Atomics.store(this.#cells, STATUS, FAILED);
    Atomics.notify(this.#cells, STATUS);
  }

  get vtable(): Pointer {
    return this.#vtable[0]!;
  }

  /** The vtable of IDODownloadStatusCallback objects. */
  get statusVtable(): Pointer {
    return this.#vtable[1]!;
  }

  /** The vtable of IBackgroundCopyServerCertificateValidationCallback objects. */
  get certificateVtable(): Pointer {
    return this.#vtable[2]!;
  }

  get live(): number {
    return Atomics.load(this.#cells, LIVE);
  }

  get slots(): number {
    return (this.buffer.byteLength - HEADER_BYTES) / (SLOT_CELLS * 4);
  }

  /** Makes room for SLOTS_PER_GROWTH more objects; a RangeError past MAX_SLOTS live objects. */
  grow(): void {
    (this.buffer as GrowableSharedArrayBuffer).grow(this.buffer.byteLength + SLOTS_PER_GROWTH * SLOT_CELLS * 4);
  }

  #cell(slot: number, field: number): number {
    return HEADER_BYTES / 4 + slot * SLOT_CELLS + field;
  }

  /** Fills a free slot for a new object with one reference, owned by the caller. */
  claim(slot: number, serial: number, reportsQueries: boolean): void {
    Atomics.store(this.#cells, this.#cell(slot, SERIAL), serial);
    Atomics.store(this.#cells, this.#cell(slot, SEQ), 0);
    Atomics.store(this.#cells, this.#cell(slot, FLAGS), reportsQueries ? REPORTS_QUERIES : 0);
    Atomics.store(this.#cells, this.#cell(slot, REFS), 1);
    Atomics.add(this.#cells, LIVE, 1);
  }

  /** References held on the object `serial` at `slot`: 0 once it was freed, even if the slot was reused. */
  refCount(slot: number, serial: number): number {
    return this.serial(slot) === serial ? Atomics.load(this.#cells, this.#cell(slot, REFS)) : 0;
  }

  serial(slot: number): number {
    return Atomics.load(this.#cells, this.#cell(slot, SERIAL));
  }

  /** Later notifications to the object are answered and dropped; a no-op if it was freed meanwhile. */
  detach(slot: number, serial: number): void {
    if (this.refCount(slot, serial) > 0) Atomics.or(this.#cells, this.#cell(slot, FLAGS), DETACHED);
  }

  flags(slot: number): number {
    return Atomics.load(this.#cells, this.#cell(slot, FLAGS));
  }

  addRef(slot: number): number {
    return Atomics.add(this.#cells, this.#cell(slot, REFS), 1) + 1;
  }

  /** Drops a reference; the block is freed by whichever thread drops the last one. */
  release(slot: number): number {
    return Atomics.sub(this.#cells, this.#cell(slot, REFS), 1) - 1;
  }

  nextSeq(slot: number): number {
    return Atomics.add(this.#cells, this.#cell(slot, SEQ), 1);
  }

  forgetLive(): void {
    Atomics.sub(this.#cells, LIVE, 1);
  }
}

/** One thread's side: where records go, and where a slot freed on this thread is handed back. */
export interface CallbackHost {
  readonly memory: CallbackMemory;
  forward(record: Forwarded): void;
  freed(slot: number): void;
  /** An exception inside a method: reported, never thrown at the caller. */
  fault(error: unknown, method: string): void;
}

type CallbackMethodName = (typeof IBackgroundCopyCallback3.methods)[number]['name'];
type StatusMethodName = (typeof IDODownloadStatusCallback.methods)[number]['name'];
type CertificateMethodName = (typeof IBackgroundCopyServerCertificateValidationCallback.methods)[number]['name'];
export type CallbackMethod = (self: Pointer | null, ...args: unknown[]) => number;

const missing = (pointer: unknown): boolean => pointer === null || pointer === undefined || pointer === 0n;

/** AddRef through the pointer's own vtable, from this thread: per AddRef address, its koffi function. */
const addRefs = new Map<Pointer, (self: Pointer) => number>();
function addRefForeign(pointer: Pointer): void {
  const method = IUnknown.method('AddRef');
  const entry = koffi.decode(koffi.decode(pointer, 'void *') as Pointer, method.slot * POINTER_SIZE, 'void *') as Pointer;
  let call = addRefs.get(entry);
  if (call === undefined) {
    call = koffi.decode(entry, method.proto) as (self: Pointer) => number;
    addRefs.set(entry, call);
  }
  call(pointer);
}

/** The slot of a live object at `self`, or undefined for NULL or a block no longer ours. */
function slotOf(memory: CallbackMemory, self: Pointer | null): number | undefined {
  if (self === null || self === 0n) return undefined;
  const slot = koffi.decode(self, POINTER_SIZE, 'uint32') as number;
  return slot < memory.slots ? slot : undefined;
}

/** QueryInterface, AddRef and Release of an object answering `iids`, on one thread. */
function unknownMethods(
  host: CallbackHost,
  iids: readonly Guid[],
  name: string,
  /** Frees what the object's block points to, just before the block itself. */
  beforeFree?: (self: Pointer) => void,
): Record<'QueryInterface' | 'AddRef' | 'Release', CallbackMethod> {
  const { memory } = host;
  return {
    QueryInterface: (self, riid, out) => {
      if (missing(out) || missing(riid)) return toSignedHresult(E_POINTER);
      try {
        koffi.encode(out as Pointer, 'void *', 0n);
        const slot = slotOf(memory, self);
        if (slot === undefined) return toSignedHresult(E_UNEXPECTED);
        const iid = decodeGuid(new Uint8Array(koffi.view(riid as Pointer, 16).slice(0)));
        const flags = memory.flags(slot);
        if ((flags & REPORTS_QUERIES) !== 0 && (flags & DETACHED) === 0) {
          host.forward({ serial: memory.serial(slot), seq: memory.nextSeq(slot), iid });
        }
        if (!iids.includes(iid)) return toSignedHresult(E_NOINTERFACE);
        memory.addRef(slot);
        koffi.encode(out as Pointer, 'void *', self);
        return S_OK;
      } catch (error) {
        host.fault(error, `${name}::QueryInterface`);
        return toSignedHresult(E_NOINTERFACE);
      }
    },
    AddRef: (self) => {
      const slot = slotOf(memory, self);
      return slot === undefined ? 0 : memory.addRef(slot);
    },
    Release: (self) => {
      const slot = slotOf(memory, self);
      if (slot === undefined) return 0;
      const left = memory.release(slot);
      if (left === 0) {
        beforeFree?.(self!);
        koffi.free(self!);
        memory.forgetLive();
        host.freed(slot);
      }
      return left;
    },
  };
}

/**
 * The methods of every BITS callback object, for one thread. Notifications answer S_OK at once, whatever
 * happens: an error HRESULT from JobTransferred/JobError makes BITS call again and again, and each
 * call holds one of the user's four notification slots. The pointer a JobError, FileTransferred or
 * FileRangesTransferred carries is AddRef'd here, before answering, since the service may release it
 * right after (the job and the file are the service's: never Released on its behalf).
 */
export function callbackMethods(host: CallbackHost): Record<CallbackMethodName, CallbackMethod> {
  const { memory } = host;
  const name = 'IBackgroundCopyCallback3';
  /** The carried pointer, AddRef'd to outlive the call; null for a NULL one. */
  const keep = (carried: unknown): Pointer | null => {
    if (missing(carried)) return null;
    addRefForeign(carried as Pointer);
    return carried as Pointer;
  };
  /**
   * Runs `record` for a call to a live object: S_OK at once, and nothing taken, when the object is
   * detached (a late call: a replay, a retry in flight). `record` takes the object's next number last,
   * once nothing can fail: a number taken and never forwarded would hold back every later record.
   */
  const answer = (self: Pointer | null, method: string, record: (slot: number) => Forwarded): number => {
    try {
      const slot = slotOf(memory, self);
      if (slot === undefined) return toSignedHresult(E_UNEXPECTED);
      if ((memory.flags(slot) & DETACHED) === 0) host.forward(record(slot));
    } catch (error) {
      host.fault(error, `${name}::${method}`);
    }
    return S_OK;
  };
  const notify =
    (kind: NotificationKind, method: string, carries: boolean): CallbackMethod =>
    (self, ...args) =>
      answer(self, method, (slot) => {
        const pointer = carries ? keep(args[1]) : null;
        return { serial: memory.serial(slot), seq: memory.nextSeq(slot), kind, pointer };
      });
  return {
    ...unknownMethods(host, IBackgroundCopyCallback3.iids, name),
    JobTransferred: notify('transferred', 'JobTransferred', false),
    JobError: notify('error', 'JobError', true),
    JobModification: notify('modification', 'JobModification', false),
    FileTransferred: notify('fileTransferred', 'FileTransferred', true),
    FileRangesTransferred: (self, _job, file, rangeCount, ranges) =>
      answer(self, 'FileRangesTransferred', (slot) => {
        // Copied before the file is kept: a decoding failure then leaves no reference behind.
        const copied = missing(ranges) ? [] : decodeFileRanges(ranges as Pointer, rangeCount as number);
        const pointer = keep(file);
        return { serial: memory.serial(slot), seq: memory.nextSeq(slot), pointer, ranges: copied };
      }),
  };
}

/**
 * The methods of every Delivery Optimization status callback, for one thread. OnStatusChange copies
 * the 32-byte status (it lives only during the call), forwards it and answers S_OK at once. The
 * download it names is borrowed and not kept: each callback object serves one download, which its
 * route on the main thread already knows.
 */
export function statusCallbackMethods(host: CallbackHost): Record<StatusMethodName, CallbackMethod> {
  const { memory } = host;
  return {
    ...unknownMethods(host, IDODownloadStatusCallback.iids, 'IDODownloadStatusCallback'),
    OnStatusChange: (self, _download, status) => {
      try {
        const slot = slotOf(memory, self);
        if (slot === undefined) return toSignedHresult(E_UNEXPECTED);
        if ((memory.flags(slot) & DETACHED) !== 0 || missing(status)) return S_OK;
        const raw = koffi.decode(status as Pointer, DO_DOWNLOAD_STATUS) as {
          BytesTotal: number | bigint;
          BytesTransferred: number | bigint;
          State: number;
          Error: number;
          ExtendedError: number;
        };
        host.forward({
          serial: memory.serial(slot),
          seq: memory.nextSeq(slot),
          status: {
            bytesTotal: BigInt(raw.BytesTotal),
            bytesTransferred: BigInt(raw.BytesTransferred),
            state: raw.State,
            error: raw.Error >>> 0,
            extendedError: raw.ExtendedError >>> 0,
          },
        });
      } catch (error) {
        host.fault(error, 'IDODownloadStatusCallback::OnStatusChange');
      }
      return S_OK;
    },
  };
}

/** Where a certificate validation object's block keeps the address of its pins (after lpVtbl and the slot). */
export const PINS_OFFSET = 2 * POINTER_SIZE;

function pinsOf(self: Pointer): Pointer {
  return koffi.decode(self, PINS_OFFSET, 'void *') as Pointer;
}

/**
 * The methods of every server certificate validation object, for one thread. BITS waits for the
 * answer during its TLS handshake, so it is decided here, at once, from data: the certificate matches
 * the object's pins (certificate-pins.ts) or it is refused with TRUST_E_FAIL, which BITS reports as a
 * transient error in the SERVER_CERTIFICATE_CALLBACK context. Never S_OK by accident: whatever goes
 * wrong answers the refusal too (koffi would answer 0, S_OK, for an exception, and accept the
 * certificate). Detaching (our reference dropped) does not change the answer: the service still holds
 * the object, and the pins stay its policy until the service lets go.
 */
export function certificateValidationMethods(host: CallbackHost): Record<CertificateMethodName, CallbackMethod> {
  const { memory } = host;
  const name = 'IBackgroundCopyServerCertificateValidationCallback';
  return {
    ...unknownMethods(host, IBackgroundCopyServerCertificateValidationCallback.iids, name, (self) => koffi.free(pinsOf(self))),
    ValidateServerCertificate: (self, _job, _file, certLength, certData) => {
      try {
        if (slotOf(memory, self) === undefined) return toSignedHresult(E_UNEXPECTED);
        const length = certLength as number;
        if (missing(certData) || length === 0) return toSignedHresult(TRUST_E_FAIL);
        const der = Buffer.from(new Uint8Array(koffi.view(certData as Pointer, length)));
        return matchesPins(pinsOf(self!), der) ? S_OK : toSignedHresult(TRUST_E_FAIL);
      } catch (error) {
        host.fault(error, `${name}::ValidateServerCertificate`);
        return toSignedHresult(TRUST_E_FAIL);
      }
    },
  };
}
