import type { ComMethod } from '../../src/com/interface-table.js';
import { encodeGuid, type Guid } from '../../src/com/guid.js';
import { IBackgroundCopyCallback2, IBackgroundCopyCallback3, IUnknown } from '../../src/com/interfaces.js';
import { invokeAsync, invokeSync } from '../../src/com/invoke.js';
import { isFailure } from '../../src/com/hresult.js';
import { pointerSlot, readPointer, type Pointer } from '../../src/com/native-types.js';
import type { ComObject } from '../../src/com/com-object.js';
import type { ClientProcess } from './process.js';
import type { NotificationKind } from '../../src/com/enums.js';

/**
 * How the loopback service calls a registered IBackgroundCopyCallback: from threads other than the
 * JS thread (invokeAsync, as BITS calls from its RPC threads), at most four at once for the whole
 * "user", one at a time per job and lane, terminal notifications called again until they answer
 * S_OK, modifications lossy and, if asked, rate-limited.
 */

/** IBackgroundCopyCallback2's notifications, and IBackgroundCopyCallback3's FileRangesTransferred. */
export type Kind = NotificationKind | 'fileRangesTransferred';

export interface NotifierOptions {
  /** BITS's per-user limit on notifications in flight. */
  readonly maxConcurrent: number;
  /** How long before a JobTransferred/JobError that failed is called again. */
  readonly retryMs: number;
  /** Extra deliveries of each terminal notification after it succeeded (BITS delivers at least once). */
  readonly replayTerminal: number;
  /** Drop a JobModification while another one for the same job is still queued (BITS coalesces under load). */
  readonly coalesceModifications: boolean;
  /** Drop the n-th modification when this says so (lossy delivery). */
  readonly dropModification: ((sequence: number) => boolean) | undefined;
  /** Hold JobModification until the job's terminal notification went out (modifications run on lower-priority threads). */
  readonly holdModificationsUntilTerminal: boolean;
  /**
   * At most one JobModification per job in this many milliseconds; those in between are coalesced
   * into one trailing call at the end of the interval. BITS 10.1 (Windows 10 1703) and later do so
   * by default with 500 ms (job property BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS, see
   * "IBackgroundCopyJob5::SetProperty" and bits-com.md). 0 turns it off, the loopback's default so
   * that the library's tests stay fast; a regression test sets 500 to be Windows.
   */
  readonly minimumNotificationIntervalMs: number;
}

/** Where a job's notifications go, and what the job asks for. */
export interface NotifyTarget {
  /** The registered callback (IBackgroundCopyCallback or ...2), held with one reference by the service. */
  readonly address: Pointer;
  readonly supportsFileTransferred: boolean;
  /** The client process the callback lives in: the job pointer it receives must be one of that process's. */
  readonly process: ClientProcess;
}

export interface Delivery {
  readonly kind: Kind;
  /** Creates the interface pointers to pass to `to` (job, error or file); the notifier releases what it created. */
  readonly args: (to: NotifyTarget) => { args: Array<Pointer | number | Buffer>; created: ComObject[] };
  /** Whether this notification still applies when its turn comes (e.g. the job is still TRANSFERRED). */
  readonly stillValid: () => boolean;
}

export interface NotifierStats {
  readonly calls: Record<Kind, number>;
  readonly failures: number;
  readonly dropped: number;
  readonly maxInFlight: number;
  /** How long each call held the calling worker thread, in milliseconds. */
  readonly holdTimes: number[];
  /** Calls made inside one of the library's calls on the job (`notifiesDuringCalls`). */
  readonly duringCalls: number;
}

/** A queued notification: how many replays it still owes, and whether it failed last time. */
interface Item {
  readonly delivery: Delivery;
  readonly replays: number;
  readonly retryFirst: boolean;
}

interface Lane {
  readonly queue: Item[];
  readonly target: () => NotifyTarget | undefined;
  readonly jobKey: string;
  busy: boolean;
  held: boolean;
}

/** The rate limit of one job's modifications: when the last went out, and the trailing one waiting. */
interface Limiter {
  last: number;
  trailing: NodeJS.Timeout | undefined;
}

/** Called as methods chosen at run time: each delivery builds its kind's arguments (`Delivery.args`). */
const METHOD: Readonly<Record<Kind, ComMethod>> = {
  transferred: IBackgroundCopyCallback2.method('JobTransferred'),
  error: IBackgroundCopyCallback2.method('JobError'),
  modification: IBackgroundCopyCallback2.method('JobModification'),
  fileTransferred: IBackgroundCopyCallback2.method('FileTransferred'),
  fileRangesTransferred: IBackgroundCopyCallback3.method('FileRangesTransferred'),
};

/** Whether the object answers QueryInterface for `iid` (the reference it hands out is given back at once). */
function answers(address: Pointer, iid: Guid): boolean {
  const slot = pointerSlot();
  if (isFailure(invokeSync(address, IUnknown.method('QueryInterface'), encodeGuid(iid), slot))) return false;
  const pointer = readPointer(slot);
  if (pointer === 0n) return false;
  invokeSync(pointer, IUnknown.method('Release'));
  return true;
}

const isTerminal = (kind: Kind): boolean => kind === 'transferred' || kind === 'error';

export class Notifier {
  readonly #lanes = new Map<string, Lane>();
  readonly #limiters = new Map<string, Limiter>();
  readonly #waiting: Array<() => void> = [];
  #inFlight = 0;
  #modificationSequence = 0;
  #pending = 0;
  #idle: Array<() => void> = [];
  readonly stats: NotifierStats = {
    calls: { transferred: 0, error: 0, modification: 0, fileTransferred: 0, fileRangesTransferred: 0 },
    failures: 0,
    dropped: 0,
    maxInFlight: 0,
    holdTimes: [],
    duringCalls: 0,
  };

  /** `startsLate`: deliveries begin a macrotask after they are queued, leaving room for {@link deliverNow}. */
  constructor(
    private readonly options: NotifierOptions,
    private readonly startsLate: boolean,
  ) {}

  /** Queues a notification for `jobKey`, sent to whatever target `target()` names when its turn comes. */
  enqueue(jobKey: string, target: () => NotifyTarget | undefined, delivery: Delivery): void {
    const isModification = delivery.kind === 'modification';
    const lane = this.#lane(jobKey, isModification ? 'low' : 'high', target);
    if (isModification) {
      const sequence = this.#modificationSequence++;
      const dropped =
        (this.options.coalesceModifications && lane.queue.length > 0) || this.options.dropModification?.(sequence) === true;
      const limited = dropped ? 'coalesced' : this.#rateLimit(lane, delivery);
      if (limited === 'coalesced') this.#count('dropped');
      if (limited !== 'now') return;
    }
    this.#pending++;
    this.#push(lane, { delivery, replays: this.options.replayTerminal, retryFirst: false });
  }

  /**
   * Delivers the job's queued notifications now, synchronously, from inside a call the library is
   * making on the job: the terminal lane first (modifications run on lower-priority threads), each
   * lane only if no delivery of it is already on its way. A terminal call that fails, or still owes
   * replays, goes back to the asynchronous path.
   */
  deliverNow(jobKey: string): void {
    for (const suffix of ['high', 'low']) {
      const lane = this.#lanes.get(`${jobKey}:${suffix}`);
      if (lane === undefined || lane.busy || lane.held) continue;
      for (let item = lane.queue.shift(); item !== undefined; item = lane.queue.shift()) {
        const hr = this.#callNow(item.delivery, lane);
        if (hr !== undefined && isTerminal(item.delivery.kind)) {
          this.#releaseHeldModifications(jobKey);
          if (isFailure(hr) || item.replays > 0) {
            const again = isFailure(hr) ? { ...item, retryFirst: true } : { ...item, replays: item.replays - 1 };
            lane.queue.unshift(again);
            this.#scheduleDrain(lane);
            break;
          }
        }
        this.#settle(1);
      }
    }
  }

  /** Resolves when nothing is queued, waiting for its interval or in flight. */
  idle(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Forgets a job's lanes and its trailing modification (it left the queue). */
  forget(jobKey: string): void {
    for (const suffix of ['low', 'high']) {
      const lane = this.#lanes.get(`${jobKey}:${suffix}`);
      if (lane === undefined) continue;
      this.#settle(lane.queue.length);
      lane.queue.length = 0;
    }
    const limiter = this.#limiters.get(jobKey);
    if (limiter?.trailing !== undefined) {
      clearTimeout(limiter.trailing);
      limiter.trailing = undefined;
      this.#settle(1);
    }
  }

  #lane(jobKey: string, suffix: 'low' | 'high', target: () => NotifyTarget | undefined): Lane {
    let lane = this.#lanes.get(`${jobKey}:${suffix}`);
    if (lane === undefined) {
      lane = { queue: [], target, jobKey, busy: false, held: suffix === 'low' && this.options.holdModificationsUntilTerminal };
      this.#lanes.set(`${jobKey}:${suffix}`, lane);
    }
    return lane;
  }

  /**
   * MINIMUM_NOTIFICATION_INTERVAL_MS: the first modification of an interval goes out, the next one
   * waits for the interval's end (counted as pending), and any more meanwhile are dropped into it.
   */
  #rateLimit(lane: Lane, delivery: Delivery): 'now' | 'trailing' | 'coalesced' {
    const interval = this.options.minimumNotificationIntervalMs;
    if (interval <= 0) return 'now';
    let limiter = this.#limiters.get(lane.jobKey);
    if (limiter === undefined) {
      limiter = { last: -Infinity, trailing: undefined };
      this.#limiters.set(lane.jobKey, limiter);
    }
    if (limiter.trailing !== undefined) return 'coalesced';
    const wait = limiter.last + interval - performance.now();
    if (wait <= 0) {
      limiter.last = performance.now();
      return 'now';
    }
    const waiting = limiter;
    this.#pending++;
    waiting.trailing = setTimeout(() => {
      waiting.trailing = undefined;
      waiting.last = performance.now();
      this.#push(lane, { delivery, replays: 0, retryFirst: false });
    }, wait);
    return 'trailing';
  }

  #push(lane: Lane, item: Item): void {
    lane.queue.push(item);
    this.#scheduleDrain(lane);
  }

  #scheduleDrain(lane: Lane): void {
    if (this.startsLate) setImmediate(() => void this.#drain(lane));
    else void this.#drain(lane);
  }

  #count(stat: 'dropped' | 'failures' | 'duringCalls'): void {
    (this.stats as Record<typeof stat, number>)[stat]++;
  }

  #settle(count: number): void {
    this.#pending -= count;
    if (this.#pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #slot(): Promise<void> {
    if (this.#inFlight < this.options.maxConcurrent) {
      this.#inFlight++;
    } else {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    const stats = this.stats as { maxInFlight: number };
    stats.maxInFlight = Math.max(stats.maxInFlight, this.#inFlight);
  }

  #freeSlot(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#inFlight--;
    else next();
  }

  async #drain(lane: Lane): Promise<void> {
    if (lane.busy || lane.held) return;
    lane.busy = true;
    try {
      for (let item = lane.queue.shift(); item !== undefined; item = lane.queue.shift()) {
        await this.#deliver(item, lane);
        this.#settle(1);
      }
    } finally {
      lane.busy = false;
    }
  }

  /** Where a delivery goes now, or undefined if it no longer applies (no target, flags changed...). */
  #addressee(delivery: Delivery, lane: Lane): NotifyTarget | undefined {
    const to = lane.target();
    if (to === undefined || !delivery.stillValid()) return undefined;
    if (delivery.kind === 'fileTransferred' && !to.supportsFileTransferred) return undefined;
    // The registration chose Callback2 or Callback; Callback3 is asked for when there are ranges to
    // report, and its method is called on the registered pointer (one object, one vtable).
    if (delivery.kind === 'fileRangesTransferred' && !answers(to.address, IBackgroundCopyCallback3.iid)) return undefined;
    return to;
  }

  /** One synchronous call inside a library call; undefined if the notification no longer applies. */
  #callNow(delivery: Delivery, lane: Lane): number | undefined {
    const to = this.#addressee(delivery, lane);
    if (to === undefined) return undefined;
    const { args, created } = delivery.args(to);
    invokeSync(to.address, IUnknown.method('AddRef'));
    let hr: number;
    try {
      hr = invokeSync(to.address, METHOD[delivery.kind], ...args);
    } finally {
      invokeSync(to.address, IUnknown.method('Release'));
      for (const object of created) object.release();
    }
    this.stats.calls[delivery.kind]++;
    this.#count('duringCalls');
    if (isFailure(hr)) this.#count('failures');
    return hr;
  }

  async #deliver(item: Item, lane: Lane): Promise<void> {
    const { delivery } = item;
    let replays = item.replays;
    if (item.retryFirst) await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
    for (;;) {
      const to = this.#addressee(delivery, lane);
      if (to === undefined) return;
      const { args, created } = delivery.args(to);
      // Like an RPC stub, hold the callback for the duration of the call.
      invokeSync(to.address, IUnknown.method('AddRef'));
      await this.#slot();
      const started = performance.now();
      let hr: number;
      try {
        hr = await invokeAsync(to.address, METHOD[delivery.kind], ...args);
      } finally {
        this.stats.holdTimes.push(performance.now() - started);
        this.#freeSlot();
        invokeSync(to.address, IUnknown.method('Release'));
        for (const object of created) object.release();
      }
      this.stats.calls[delivery.kind]++;
      if (!isTerminal(delivery.kind)) return;
      this.#releaseHeldModifications(lane.jobKey);
      if (isFailure(hr)) {
        this.#count('failures');
        await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
        continue;
      }
      if (replays-- <= 0) return;
    }
  }

  #releaseHeldModifications(jobKey: string): void {
    const lane = this.#lanes.get(`${jobKey}:low`);
    if (lane === undefined || !lane.held) return;
    lane.held = false;
    this.#scheduleDrain(lane);
  }
}
