import type { ComObject } from '../com/com-object.js';
import { isFailure } from '../com/hresult.js';
import type { ComMethod } from '../com/interface-table.js';
import { IBackgroundCopyCallback2, IUnknown } from '../com/interfaces.js';
import { invokeAsync, invokeSync } from '../com/invoke.js';
import type { Pointer } from '../com/native-types.js';
import type { NotificationKind } from '../com/enums.js';

/**
 * How the portable engine calls a registered IBackgroundCopyCallback: as BITS does, off the JS thread
 * (invokeAsync, on a call thread), one call at a time per job and in order, FileTransferred before
 * JobTransferred, a terminal call that fails called again later, and JobModification at most once per
 * interval (BITS 10.1's default MINIMUM_NOTIFICATION_INTERVAL_MS of 500 ms), the last one trailing.
 */

export type { NotificationKind } from '../com/enums.js';

/** Called as methods chosen at run time: each kind's arguments are built where its notification is made. */
const METHOD: Readonly<Record<NotificationKind, ComMethod>> = {
  transferred: IBackgroundCopyCallback2.method('JobTransferred'),
  error: IBackgroundCopyCallback2.method('JobError'),
  modification: IBackgroundCopyCallback2.method('JobModification'),
  fileTransferred: IBackgroundCopyCallback2.method('FileTransferred'),
};

/** Where one job's notifications go. */
export interface NotifyTarget {
  /** The registered callback, on which the engine holds one reference. */
  readonly address: Pointer;
  readonly supportsFileTransferred: boolean;
}

/** One notification: the COM objects it passes are made when its turn comes and released after the call. */
export interface Notification {
  readonly kind: NotificationKind;
  /** The job (and the error or file) objects to pass; the notifier releases them after the call. */
  readonly objects: () => readonly ComObject[];
  /** Still true when its turn comes? (A transferred job suspended meanwhile is not notified as transferred.) */
  readonly stillValid: () => boolean;
}

export interface NotifierOptions {
  readonly minimumModificationIntervalMs: number;
  /** Before a failed JobTransferred/JobError is called again. */
  readonly terminalRetryMs: number;
  /** A failed terminal call is given up after this many attempts. */
  readonly terminalAttempts: number;
}

export const NOTIFIER_DEFAULTS: NotifierOptions = { minimumModificationIntervalMs: 500, terminalRetryMs: 1000, terminalAttempts: 10 };

interface Lane {
  readonly queue: Array<{ notification: Notification; attempt: number }>;
  busy: boolean;
  /** When the last JobModification went out, and whether one waits for the interval's end. */
  lastModification: number;
  trailing: NodeJS.Timeout | undefined;
}

export class Notifier {
  readonly #lanes = new Map<string, Lane>();
  #pending = 0;
  #idle: Array<() => void> = [];

  constructor(
    private readonly options: NotifierOptions,
    private readonly target: (jobId: string) => NotifyTarget | undefined,
  ) {}

  /** Queues a notification of `jobId` for whatever callback is registered when its turn comes. */
  enqueue(jobId: string, notification: Notification): void {
    const lane = this.#lane(jobId);
    if (notification.kind === 'modification') {
      if (lane.trailing !== undefined || lane.queue.some((item) => item.notification.kind === 'modification')) return;
      const wait = lane.lastModification + this.options.minimumModificationIntervalMs - Date.now();
      if (wait > 0) {
        this.#pending++;
        lane.trailing = setTimeout(() => {
          lane.trailing = undefined;
          this.#push(jobId, lane, notification);
          this.#settle();
        }, wait);
        lane.trailing.unref();
        return;
      }
    }
    this.#push(jobId, lane, notification);
  }

  /** The job left the queue: what is still queued for it goes nowhere. */
  forget(jobId: string): void {
    const lane = this.#lanes.get(jobId);
    if (lane === undefined) return;
    if (lane.trailing !== undefined) {
      clearTimeout(lane.trailing);
      lane.trailing = undefined;
      this.#settle();
    }
    for (let n = lane.queue.length; n > 0; n--) this.#settle();
    lane.queue.length = 0;
    if (!lane.busy) this.#lanes.delete(jobId);
  }

  /** Resolves when nothing is queued, trailing or in flight. */
  idle(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  #lane(jobId: string): Lane {
    let lane = this.#lanes.get(jobId);
    if (lane === undefined) {
      lane = { queue: [], busy: false, lastModification: 0, trailing: undefined };
      this.#lanes.set(jobId, lane);
    }
    return lane;
  }

  #push(jobId: string, lane: Lane, notification: Notification): void {
    this.#pending++;
    lane.queue.push({ notification, attempt: 1 });
    void this.#drain(jobId, lane);
  }

  async #drain(jobId: string, lane: Lane): Promise<void> {
    if (lane.busy) return;
    lane.busy = true;
    try {
      for (let item = lane.queue.shift(); item !== undefined; item = lane.queue.shift()) {
        const { notification, attempt } = item;
        const hr = await this.#call(jobId, notification);
        if (notification.kind === 'modification') lane.lastModification = Date.now();
        const terminal = notification.kind === 'transferred' || notification.kind === 'error';
        if (hr !== undefined && isFailure(hr) && terminal && attempt < this.options.terminalAttempts) {
          // The callback could not take it now: BITS calls again later, in order with what follows.
          await new Promise((resolve) => setTimeout(resolve, this.options.terminalRetryMs).unref());
          lane.queue.unshift({ notification, attempt: attempt + 1 });
          continue;
        }
        this.#settle();
      }
    } finally {
      lane.busy = false;
      if (lane.queue.length === 0 && lane.trailing === undefined) this.#lanes.delete(jobId);
    }
  }

  /** The call, or undefined when nobody is registered or the notification no longer applies. */
  async #call(jobId: string, notification: Notification): Promise<number | undefined> {
    const target = this.target(jobId);
    if (target === undefined || !notification.stillValid()) return undefined;
    if (notification.kind === 'fileTransferred' && !target.supportsFileTransferred) return undefined;
    const objects = notification.objects();
    // The registration may be replaced while the call is on its way: the call holds its own reference.
    invokeSync(target.address, IUnknown.method('AddRef'));
    try {
      const args = notification.kind === 'modification' ? [objects[0]!.address, 0] : objects.map((object) => object.address);
      return await invokeAsync(target.address, METHOD[notification.kind], ...args);
    } catch {
      // A callback whose process or thread went away: nothing to deliver to.
      return undefined;
    } finally {
      invokeSync(target.address, IUnknown.method('Release'));
      for (const object of objects) object.release();
    }
  }

  #settle(): void {
    this.#pending--;
    if (this.#pending > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
