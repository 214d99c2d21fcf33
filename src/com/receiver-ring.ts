import { NOTIFY_FLAG_OF_KIND, type NotificationKind } from './enums.js';
import type { Pointer } from './native-types.js';
import type { Forwarded } from './receiver-core.js';

/**
 * How the receiver thread hands notifications to the main thread: a single-producer, single-consumer
 * ring in shared memory. The main thread sleeps in `Atomics.waitAsync` and, once woken, takes every
 * record written meanwhile. Waking through a shared counter costs a few microseconds less than a
 * `postMessage` (no structured clone, no MessagePort event), and a burst of notifications costs one
 * wake-up instead of one each. A full ring refuses a record, which the receiver then posts: records
 * carry a per-object number, so the main thread delivers them in order whichever way they came.
 */

export interface RingRecord {
  readonly serial: number;
  readonly seq: number;
  readonly kind: NotificationKind;
  readonly pointer: Pointer | null;
}

/**
 * Whether a record has the ring's shape: a BITS notification carrying at most one pointer. The others
 * (FileRangesTransferred's ranges, DO statuses, QueryInterface reports) have no room in it: posted.
 */
export function fitsRing(record: Forwarded): record is Forwarded & RingRecord {
  return 'kind' in record;
}

/** ES2024's Atomics.waitAsync (Node 16+), not yet in this project's `lib`. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { readonly async: false; readonly value: 'not-equal' | 'timed-out' } | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { readonly waitAsync: WaitAsync }).waitAsync;

const KINDS = Object.keys(NOTIFY_FLAG_OF_KIND) as NotificationKind[];

/** Records the ring holds; a power of two, so that a counter masks into an index. */
const CAPACITY = 1024;
/** Header (int32 cells): records written, records read. Both count up for ever, wrapping as int32. */
const WRITTEN = 0;
const READ = 1;
const HEADER_BYTES = 8;
/** Per record: serial, seq, kind, has-pointer (int32 each), then the pointer (uint64). */
const RECORD_BYTES = 24;
const RECORD_CELLS = RECORD_BYTES / 4;
const RECORD_WORDS = RECORD_BYTES / 8;

export class NotificationRing {
  readonly #cells: Int32Array;
  readonly #pointers: BigUint64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.#cells = new Int32Array(buffer);
    this.#pointers = new BigUint64Array(buffer, HEADER_BYTES);
  }

  static allocate(): NotificationRing {
    return new NotificationRing(new SharedArrayBuffer(HEADER_BYTES + CAPACITY * RECORD_BYTES));
  }

  /** The receiver's side. False when the ring is full (the main thread is busy): post the record instead. */
  write(record: RingRecord): boolean {
    const written = this.#cells[WRITTEN]!; // only this thread changes it
    if (((written - Atomics.load(this.#cells, READ)) | 0) >= CAPACITY) return false;
    const index = written & (CAPACITY - 1);
    const cell = HEADER_BYTES / 4 + index * RECORD_CELLS;
    this.#cells[cell] = record.serial;
    this.#cells[cell + 1] = record.seq;
    this.#cells[cell + 2] = KINDS.indexOf(record.kind);
    this.#cells[cell + 3] = record.pointer === null ? 0 : 1;
    this.#pointers[index * RECORD_WORDS + 2] = record.pointer ?? 0n;
    // The atomic store publishes the plain writes above to the reader.
    Atomics.store(this.#cells, WRITTEN, (written + 1) | 0);
    Atomics.notify(this.#cells, WRITTEN);
    return true;
  }

  /** The main thread's side: hands over every record written so far, in order; returns the count it read up to. */
  drain(deliver: (record: RingRecord) => void): number {
    const written = Atomics.load(this.#cells, WRITTEN);
    for (let read = this.#cells[READ]!; read !== written; ) {
      const index = read & (CAPACITY - 1);
      const cell = HEADER_BYTES / 4 + index * RECORD_CELLS;
      const record: RingRecord = {
        serial: this.#cells[cell]!,
        seq: this.#cells[cell + 1]!,
        kind: KINDS[this.#cells[cell + 2]!]!,
        pointer: this.#cells[cell + 3] === 0 ? null : this.#pointers[index * RECORD_WORDS + 2]!,
      };
      read = (read + 1) | 0;
      // The slot is free once copied, before delivery (which may take a while).
      Atomics.store(this.#cells, READ, read);
      deliver(record);
    }
    return written;
  }

  /**
   * Resolves once a record is written after `seen` (at once if one already was). A pending wait does
   * not keep the process alive, as the receiver never does.
   */
  async written(seen: number): Promise<void> {
    const wait = waitAsync(this.#cells, WRITTEN, seen);
    if (wait.async) await wait.value;
  }
}
