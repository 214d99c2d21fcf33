import { IBackgroundCopyCallback2, IUnknown } from '../../src/com/interfaces.js';
import { invokeAsync, invokeSync } from '../../src/com/invoke.js';
import { isFailure } from '../../src/com/hresult.js';
import type { Pointer } from '../../src/com/native-types.js';
import type { ComObject } from '../../src/com/com-object.js';

/**
 * How the loopback service calls a registered IBackgroundCopyCallback: from worker threads (koffi
 * `.async`, as BITS calls from its RPC threads), at most four at once for the whole "user", one at a
 * time per job and lane, terminal notifications called again until they answer S_OK.
 */

export type Kind = 'transferred' | 'error' | 'modification' | 'fileTransferred';

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
}

/** Where a job's notifications go, and what the job asks for. */
export interface NotifyTarget {
  /** The registered callback (IBackgroundCopyCallback or ...2), held with one reference by the service. */
  readonly address: Pointer;
  readonly supportsFileTransferred: boolean;
}

export interface Delivery {
  readonly kind: Kind;
  /** Creates the interface pointers to pass (job, error or file); the notifier releases what it created. */
  readonly args: () => { args: Array<Pointer | number>; created: ComObject[] };
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
}

interface Lane {
  queue: Delivery[];
  busy: boolean;
  held: boolean;
}

const METHOD: Record<Kind, 'JobTransferred' | 'JobError' | 'JobModification' | 'FileTransferred'> = {
  transferred: 'JobTransferred',
  error: 'JobError',
  modification: 'JobModification',
  fileTransferred: 'FileTransferred',
};

export class Notifier {
  readonly #lanes = new Map<string, Lane>();
  readonly #waiting: Array<() => void> = [];
  #inFlight = 0;
  #modificationSequence = 0;
  #pending = 0;
  #idle: Array<() => void> = [];
  readonly stats: NotifierStats = {
    calls: { transferred: 0, error: 0, modification: 0, fileTransferred: 0 },
    failures: 0,
    dropped: 0,
    maxInFlight: 0,
    holdTimes: [],
  };

  constructor(private readonly options: NotifierOptions) {}

  /** Queues a notification for `jobKey`, sent to whatever target `target()` names when its turn comes. */
  enqueue(jobKey: string, target: () => NotifyTarget | undefined, delivery: Delivery): void {
    const isModification = delivery.kind === 'modification';
    const laneKey = `${jobKey}:${isModification ? 'low' : 'high'}`;
    let lane = this.#lanes.get(laneKey);
    if (lane === undefined) {
      lane = { queue: [], busy: false, held: isModification && this.options.holdModificationsUntilTerminal };
      this.#lanes.set(laneKey, lane);
    }
    if (isModification) {
      const sequence = this.#modificationSequence++;
      const dropped =
        (this.options.coalesceModifications && lane.queue.length > 0) || this.options.dropModification?.(sequence) === true;
      if (dropped) {
        (this.stats as { dropped: number }).dropped++;
        return;
      }
    }
    lane.queue.push(delivery);
    this.#pending++;
    void this.#drain(lane, jobKey, target);
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Forgets a job's lanes (it left the queue). */
  forget(jobKey: string): void {
    for (const suffix of ['low', 'high']) {
      const lane = this.#lanes.get(`${jobKey}:${suffix}`);
      if (lane === undefined) continue;
      this.#settle(lane.queue.length);
      lane.queue.length = 0;
    }
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

  async #drain(lane: Lane, jobKey: string, target: () => NotifyTarget | undefined): Promise<void> {
    if (lane.busy || lane.held) return;
    lane.busy = true;
    try {
      for (let delivery = lane.queue.shift(); delivery !== undefined; delivery = lane.queue.shift()) {
        await this.#deliver(delivery, jobKey, target);
        this.#settle(1);
      }
    } finally {
      lane.busy = false;
    }
  }

  async #deliver(delivery: Delivery, jobKey: string, target: () => NotifyTarget | undefined, replays = this.options.replayTerminal): Promise<void> {
    const terminal = delivery.kind === 'transferred' || delivery.kind === 'error';
    for (;;) {
      const to = target();
      if (to === undefined || !delivery.stillValid()) return;
      if (delivery.kind === 'fileTransferred' && !to.supportsFileTransferred) return;
      const { args, created } = delivery.args();
      // Like an RPC stub, hold the callback for the duration of the call.
      invokeSync(to.address, IUnknown.method('AddRef'));
      await this.#slot();
      const started = performance.now();
      let hr: number;
      try {
        hr = await invokeAsync(to.address, IBackgroundCopyCallback2.method(METHOD[delivery.kind]), ...args);
      } finally {
        this.stats.holdTimes.push(performance.now() - started);
        this.#freeSlot();
        invokeSync(to.address, IUnknown.method('Release'));
        for (const object of created) object.release();
      }
      this.stats.calls[delivery.kind]++;
      if (terminal) this.#releaseHeldModifications(jobKey, target);
      if (!terminal) return;
      if (isFailure(hr)) {
        (this.stats as { failures: number }).failures++;
        await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
        continue;
      }
      if (replays-- <= 0) return;
    }
  }

  #releaseHeldModifications(jobKey: string, target: () => NotifyTarget | undefined): void {
    const lane = this.#lanes.get(`${jobKey}:low`);
    if (lane === undefined || !lane.held) return;
    lane.held = false;
    void this.#drain(lane, jobKey, target);
  }
}
