import { Subject } from 'rxjs';
import { supports } from '../com/backend.js';
import { CallbackObject, type Notification } from '../com/callback-object.js';
import { NotifyFlags, isFinalState, type FinalJobState, type JobState } from '../com/enums.js';
import { ComError, InvalidArgumentError, ReleasedError, unlessComError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import {
  BG_E_ERROR_INFORMATION_UNAVAILABLE,
  BG_E_INVALID_STATE,
  DO_E_INVALID_STATE,
  E_NOTIMPL,
  hresultName,
  hresultMessage,
} from '../com/hresult.js';
import { watchJob, type BitsJob, type JobErrorInfo, type JobProgress } from '../com/job.js';
import { TerminalLedger } from './terminal-ledger.js';
import {
  NOTIFY_FLAG_OF,
  POLLED_INTERESTS,
  type EventSource,
  type Interest,
  type JobEvent,
  type JobSnapshot,
  type TransferredEvent,
  type ErrorEvent,
} from './events.js';

/**
 * The per-job hub: one per job GUID per process, shared by every Observable of that job whatever
 * handle it came from. It owns the job's registration with the service (SetNotifyFlags as the union
 * of what live subscriptions want, SetNotifyInterface with its own callback object), turns
 * notifications into events outside the native call, deduplicates terminal events, replays what
 * happened before anyone listened, and polls as a backstop while someone needs state or errors.
 * When the job leaves the queue (acknowledged or cancelled, by this process or another), every
 * subscription hears the final state and completes: nothing more can happen to the job.
 */

export interface HubOptions {
  /** Milliseconds between backstop polls while state, progress, modifications or errors are observed. Default 1,000. */
  readonly pollInterval?: number;
  /** Milliseconds to stay attached after the last subscriber leaves, so that a quick re-subscribe does not churn. Default 0. */
  readonly detachDelay?: number;
}

const DEFAULT_POLL_INTERVAL = 1000;

/** What a subscription asked for, and how it hears that the hub failed or that the job is gone. */
interface Registration {
  readonly job: BitsJob;
  readonly interests: ReadonlySet<Interest>;
  readonly pollInterval: number;
  readonly detachDelay: number;
  readonly end: RegistrationEnd;
}

export interface RegistrationEnd {
  /** A COM error while attaching or reading the job. */
  readonly fail: (error: unknown) => void;
  /** The job left the queue. */
  readonly complete: () => void;
}

export function checkHubOptions(options: HubOptions): Required<HubOptions> {
  const { pollInterval = DEFAULT_POLL_INTERVAL, detachDelay = 0 } = options;
  if (typeof pollInterval !== 'number' || !Number.isInteger(pollInterval) || pollInterval < 1) {
    throw new InvalidArgumentError('pollInterval', `expected a whole number of milliseconds >= 1, got ${String(pollInterval)}`);
  }
  if (typeof detachDelay !== 'number' || !Number.isInteger(detachDelay) || detachDelay < 0) {
    throw new InvalidArgumentError('detachDelay', `expected a whole number of milliseconds >= 0, got ${String(detachDelay)}`);
  }
  return { pollInterval, detachDelay };
}

/** Whether two progress readings are the same (all four counts). */
export function sameProgress(a: JobProgress | undefined, b: JobProgress | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.bytesTotal === b.bytesTotal &&
    a.bytesTransferred === b.bytesTransferred &&
    a.filesTotal === b.filesTotal &&
    a.filesTransferred === b.filesTransferred
  );
}

/** What GetError cannot tell (Wine answers BG_E_ERROR_INFORMATION_UNAVAILABLE for refused connections). */
const NO_ERROR_INFORMATION: JobErrorInfo = {
  context: 'unknown',
  hresult: BG_E_ERROR_INFORMATION_UNAVAILABLE,
  code: hresultName(BG_E_ERROR_INFORMATION_UNAVAILABLE),
  description: hresultMessage(BG_E_ERROR_INFORMATION_UNAVAILABLE) ?? '',
  contextDescription: undefined,
  protocol: undefined,
  file: undefined,
};

/** The state a terminal event belongs to: it stands while the job stays there. */
function stateOf(event: TransferredEvent | ErrorEvent): JobState {
  if (event.type === 'transferred') return 'transferred';
  return event.transient ? 'transientError' : 'error';
}

/**
 * The state the job ended in, if a failed call was refused because the job already left the queue.
 * BITS (and Wine, whose SetNotifyFlags and SetNotifyInterface check it first) answer
 * BG_E_INVALID_STATE on a job that is acknowledged or cancelled, and another process can do either
 * at any moment.
 */
async function finalStateAfter(error: unknown, job: BitsJob): Promise<FinalJobState | undefined> {
  if (!(error instanceof ComError) || (error.hresult !== BG_E_INVALID_STATE && error.hresult !== DO_E_INVALID_STATE)) return undefined;
  const state = await unlessComError(job.getState());
  return state !== undefined && isFinalState(state) ? state : undefined;
}

/** The service's error count, or undefined where it has none (Wine answers E_NOTIMPL). */
async function errorCount(job: BitsJob): Promise<number | undefined> {
  try {
    return await job.getErrorCount();
  } catch (error) {
    if (error instanceof ComError && error.hresult === E_NOTIMPL) return undefined;
    throw error;
  }
}

/**
 * koffi's relay of the service's calls does not hold the event loop, so a script waiting for a
 * notification would exit. One ref'd timer holds the process while any hub is attached.
 */
const keepAlive = {
  count: 0,
  timer: undefined as NodeJS.Timeout | undefined,
  acquire(): void {
    if (this.count++ === 0) this.timer = setInterval(() => undefined, 0x7fffffff);
  },
  release(): void {
    if (--this.count === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  },
};

export class JobHub {
  /** Every event of the job, in arrival order; each Observable filters what it asked for. */
  readonly events = new Subject<JobEvent>();
  /** State and progress each time the hub looks. */
  readonly snapshots = new Subject<JobSnapshot>();
  /**
   * The terminal event of the job's current stay (transferred, error or transient error), told at
   * once to every subscriber that arrives while it stands.
   */
  lastTerminal: TransferredEvent | ErrorEvent | undefined;

  readonly #registrations = new Set<Registration>();
  /** The hub's own reference to the job and its callback object, while attached. */
  #attached: { job: BitsJob; callback: CallbackObject; registered: boolean; unhook: () => void; left: boolean } | undefined;
  #flags: number | undefined;
  readonly #ledger = new TerminalLedger();
  #lastState: JobState | undefined;
  #lastProgress: JobProgress | undefined;
  #lastCallbackAt = 0;
  #pollTimer: NodeJS.Timeout | undefined;
  #detachTimer: NodeJS.Timeout | undefined;
  #detachDue = false;
  #lastDetachDelay = 0;
  #refreshWanted = false;
  /** A subscription for terminal events arrived: look at the job, as a fresh attach does. */
  #replayWanted = false;
  #reconcileScheduled = false;
  /** Every COM operation and every notification runs through this chain, one at a time, in order. */
  #work: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(
    readonly id: Guid,
    private readonly onIdle: (hub: JobHub) => void,
  ) {}

  /** Registers what a subscription wants; the returned function unregisters it. */
  register(job: BitsJob, interests: ReadonlySet<Interest>, options: Required<HubOptions>, end: RegistrationEnd): () => void {
    const registration: Registration = { job, interests, ...options, end };
    this.#registrations.add(registration);
    this.#detachDue = false;
    if (this.#detachTimer !== undefined) {
      clearTimeout(this.#detachTimer);
      this.#detachTimer = undefined;
    }
    if (interests.has('state') || interests.has('progress')) this.#refreshWanted = true;
    // Whatever happened before this subscription is told at once, on an attached hub as on a fresh one:
    // the hub may not know it yet (nobody asked for that notification, and it is not polled for).
    if (interests.has('transferred') || interests.has('error')) this.#replayWanted = true;
    this.#scheduleReconcile();
    return () => {
      if (!this.#registrations.delete(registration)) return;
      if (this.#registrations.size === 0) this.#lastDetachDelay = registration.detachDelay;
      this.#scheduleReconcile();
    };
  }

  /** Resolves when no work is queued (for tests and for orderly shutdown). */
  async idle(): Promise<void> {
    while (this.#pending > 0 || this.#reconcileScheduled) {
      await this.#work;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Many changes in one tick make one reconciliation, so 1,000 subscriptions make one SetNotifyFlags. */
  #scheduleReconcile(): void {
    if (this.#reconcileScheduled) return;
    this.#reconcileScheduled = true;
    queueMicrotask(() => {
      this.#reconcileScheduled = false;
      this.#enqueue(() => this.#reconcile());
    });
  }

  #enqueue(task: () => Promise<void>): void {
    this.#pending++;
    this.#work = this.#work
      .then(task)
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#pending--;
        if (this.#pending === 0 && !this.#reconcileScheduled && this.#registrations.size === 0 && this.#attached === undefined) {
          this.onIdle(this);
        }
      });
  }

  #wantedFlags(): number {
    let flags = 0;
    for (const registration of this.#registrations) for (const interest of registration.interests) flags |= NOTIFY_FLAG_OF[interest];
    return flags;
  }

  #wants(interest: Interest): boolean {
    for (const registration of this.#registrations) if (registration.interests.has(interest)) return true;
    return false;
  }

  /** Whether anyone needs the job's state and progress (state$, progress$, modification events). */
  #wantsSnapshots(): boolean {
    return this.#wants('state') || this.#wants('progress') || this.#wants('modification');
  }

  #pollInterval(): number | undefined {
    let interval: number | undefined;
    for (const registration of this.#registrations) {
      if ([...registration.interests].some((interest) => POLLED_INTERESTS.has(interest))) {
        interval = Math.min(interval ?? Infinity, registration.pollInterval);
      }
    }
    return interval;
  }

  async #reconcile(): Promise<void> {
    if (this.#registrations.size > 0) {
      const flags = this.#wantedFlags();
      const replayWanted = this.#replayWanted;
      this.#replayWanted = false;
      // A fresh attach looks at the job itself.
      if (this.#attached === undefined) await this.#attach(flags);
      else if (flags === this.#flags || (await this.#setFlags(this.#attached.job, flags))) {
        if (replayWanted) await this.#replay(this.#attached.job);
      }
      if (this.#attached === undefined) return;
      if (this.#refreshWanted) {
        this.#refreshWanted = false;
        await this.#refresh('backstop', false);
      }
      this.#schedulePoll();
      return;
    }
    if (this.#attached === undefined) return;
    if (this.#lastDetachDelay > 0 && !this.#detachDue) {
      this.#detachTimer ??= setTimeout(() => {
        this.#detachTimer = undefined;
        this.#detachDue = true;
        this.#scheduleReconcile();
      }, this.#lastDetachDelay);
      return;
    }
    await this.#detach();
  }

  async #attach(flags: number): Promise<void> {
    const source = [...this.#registrations].find((registration) => !registration.job.released)?.job;
    if (source === undefined) throw new ReleasedError('IBackgroundCopyJob', 'subscribe');
    const job = await source.duplicate();
    const callback = this.#newCallback();
    keepAlive.acquire();
    const unhook = watchJob(this.id, {
      leave: (call) => this.#exclusive(() => this.#leave(call)),
      resume: (call) =>
        this.#exclusive(async () => {
          await call();
          this.#newAttempt();
        }),
    });
    const attached = { job, callback, registered: false, unhook, left: false };
    this.#attached = attached;
    if (!(await this.#setFlags(job, flags))) return;
    try {
      await job.setNotifyInterface(callback);
      attached.registered = true;
    } catch (error) {
      await this.#finishIfLeft(error, job, 'replay');
      return;
    }
    await this.#replay(job);
  }

  /** Nothing missed: whatever the job came to before we listened is reported now, as a replay. */
  async #replay(job: BitsJob): Promise<void> {
    const state = await job.getState();
    // Before #remember, which would make #finish think the final state was already reported.
    if (isFinalState(state)) {
      await this.#finish(state, 'replay');
      return;
    }
    this.#remember(state, undefined);
    await this.#observeState(state, 'replay');
  }

  /** SetNotifyFlags; false if the job turned out to have left the queue (the hub has then finished). */
  async #setFlags(job: BitsJob, flags: number): Promise<boolean> {
    try {
      await job.setNotifyFlags(flags);
      this.#flags = flags;
      return true;
    } catch (error) {
      await this.#finishIfLeft(error, job, 'replay');
      return false;
    }
  }

  async #detach(): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined) return;
    this.#attached = undefined;
    this.#flags = undefined;
    this.#ledger.newAttempt();
    this.lastTerminal = undefined;
    this.#lastState = undefined;
    this.#lastProgress = undefined;
    this.#stopPolling();
    keepAlive.release();
    attached.unhook();
    attached.callback.detach();
    try {
      if (!attached.left && attached.registered) await clearRegistration(attached.job, attached.callback);
    } finally {
      attached.callback.dispose();
      await attached.job.release();
    }
  }

  /**
   * This process completes or cancels the job. Our registration is cleared first, while the service
   * still accepts it; then the job has either left the queue (subscriptions end at once) or stayed
   * (the call failed, or recent Wine kept a partly completed job), and we register again, looking
   * for what we may have missed meanwhile.
   */
  async #leave(call: () => Promise<JobState>): Promise<void> {
    await this.#unregister();
    let state: JobState;
    try {
      state = await call();
    } catch (error) {
      await this.#registerAgain().catch((again: unknown) => this.#fail(again));
      throw error;
    }
    if (isFinalState(state)) await this.#finish(state, 'action');
    else await this.#registerAgain();
  }

  async #unregister(): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined || !attached.registered) return;
    try {
      await attached.job.setNotifyInterface(null);
    } catch (error) {
      if (!(error instanceof ComError)) throw error;
      // Another process got there first; the caller's Complete or Cancel will say so.
      const state = await finalStateAfter(error, attached.job);
      if (state !== undefined) await this.#finish(state, 'backstop');
      // Otherwise the registration stands, and the hub goes on hearing the job through it.
      return;
    }
    attached.registered = false;
    attached.callback.detach();
  }

  async #registerAgain(): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined || attached.registered || attached.left) return;
    // The old object was detached (late calls to it are dropped); the service gets a fresh one.
    attached.callback.dispose();
    attached.callback = this.#newCallback();
    await attached.job.setNotifyInterface(attached.callback);
    attached.registered = true;
    await this.#replay(attached.job);
  }

  #newCallback(): CallbackObject {
    return new CallbackObject((notification) => this.#onNotification(notification));
  }

  /** A refused call: if the job has left the queue the hub finishes, otherwise the error stands. */
  async #finishIfLeft(error: unknown, job: BitsJob, source: EventSource): Promise<void> {
    const state = await finalStateAfter(error, job);
    if (state === undefined) throw error;
    await this.#finish(state, source);
  }

  /**
   * The job left the queue. Subscribers of state, progress and modifications hear the final state
   * (unless they already did), then every subscription completes and the hub lets go of the job. A
   * later subscription attaches anew and hears the same at once.
   */
  async #finish(state: FinalJobState, source: EventSource): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined || attached.left) return;
    attached.left = true;
    this.#stopPolling();
    if (state !== this.#lastState && this.#wantsSnapshots()) {
      // The service may no longer answer for a job that is gone; the last reading then stands.
      const progress = (await unlessComError(attached.job.getProgress())) ?? this.#lastProgress;
      this.#remember(state, progress);
      if (progress !== undefined) {
        this.snapshots.next({ state, progress });
        if (this.#wants('modification')) this.events.next({ type: 'modification', jobId: this.id, source, state, progress });
      }
    }
    const registrations = [...this.#registrations];
    this.#registrations.clear();
    // Before anyone hears the end: a subscriber that subscribes again from its `complete` handler must
    // not be told a transfer of a job that has since left the queue.
    this.lastTerminal = undefined;
    for (const registration of registrations) registration.end.complete();
    await this.#detach();
    // Whoever subscribed meanwhile attaches anew (and hears the same).
    if (this.#registrations.size > 0) this.#scheduleReconcile();
  }

  /** This process resumed the job: whatever it ends in next is a new terminal event, whatever the error count says. */
  #newAttempt(): void {
    this.#ledger.newAttempt();
    this.lastTerminal = undefined;
  }

  /** Runs `task` on the hub's chain, in order with everything else, and answers its outcome to the caller. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#enqueue(async () => {
        try {
          resolve(await task());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  /** Called inside the native call: only queue the work, so the service's thread is let go at once. */
  #onNotification(notification: Notification): void {
    if (notification.kind === 'modification') this.#lastCallbackAt = Date.now();
    this.#enqueue(() => this.#process(notification));
  }

  async #process(notification: Notification): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined) {
      if (notification.kind === 'error') await notification.error?.release();
      if (notification.kind === 'fileTransferred') await notification.file?.release();
      return;
    }
    switch (notification.kind) {
      case 'transferred':
        this.#emitTransferred('callback');
        return;
      case 'modification':
        await this.#refresh('callback', true);
        return;
      case 'error': {
        const { error } = notification;
        try {
          const info = error === undefined ? NO_ERROR_INFORMATION : await attached.job.readNotifiedError(error);
          this.#emitError(info, false, await errorCount(attached.job), 'callback');
        } finally {
          await error?.release();
        }
        return;
      }
      case 'fileTransferred': {
        const { file } = notification;
        if (file === undefined) return;
        try {
          const info = await attached.job.readNotifiedFile(file);
          this.events.next({ type: 'fileTransferred', jobId: this.id, source: 'callback', file: info });
        } finally {
          await file.release();
        }
      }
    }
  }

  /** Looks at the job: a snapshot, a modification event if something changed, terminal events if it finished. */
  async #refresh(source: EventSource, fromCallback: boolean): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined) return;
    const state = await attached.job.getState();
    // Someone watching only for errors needs the state alone: one call per poll, not two.
    if (!fromCallback && !this.#wantsSnapshots()) {
      this.#remember(state, undefined);
      await this.#observeState(state, source);
      return;
    }
    const progress = await attached.job.getProgress();
    const changed = state !== this.#lastState || !sameProgress(progress, this.#lastProgress);
    this.#remember(state, progress);
    this.snapshots.next({ state, progress });
    if ((fromCallback || changed) && this.#wants('modification')) {
      this.events.next({ type: 'modification', jobId: this.id, source, state, progress });
    }
    await this.#observeState(state, source);
  }

  #remember(state: JobState, progress: JobProgress | undefined): void {
    // Leaving a terminal state ends its stay: its terminal event may come again, and is no longer news.
    this.#ledger.observe(state);
    if (this.lastTerminal !== undefined && stateOf(this.lastTerminal) !== state) this.lastTerminal = undefined;
    this.#lastState = state;
    if (progress !== undefined) this.#lastProgress = progress;
  }

  async #observeState(state: JobState, source: EventSource): Promise<void> {
    const attached = this.#attached;
    if (attached === undefined) return;
    if (isFinalState(state)) {
      await this.#finish(state, source);
    } else if (state === 'transferred') {
      this.#emitTransferred(source);
    } else if ((state === 'error' || state === 'transientError') && this.#wants('error')) {
      const count = await errorCount(attached.job);
      if (this.#ledger.toldError(state === 'transientError', count)) return;
      const info = (await attached.job.getError()) ?? NO_ERROR_INFORMATION;
      this.#emitError(info, state === 'transientError', count, source);
    }
  }

  #emitTransferred(source: EventSource): void {
    if (!this.#ledger.admitTransferred()) return;
    const event: TransferredEvent = { type: 'transferred', jobId: this.id, source };
    this.lastTerminal = event;
    this.events.next(event);
  }

  /** Exactly once per error: see {@link TerminalLedger}. */
  #emitError(error: JobErrorInfo, transient: boolean, count: number | undefined, source: EventSource): void {
    if (!this.#ledger.admitError(transient, count)) return;
    const event: ErrorEvent = { type: 'error', jobId: this.id, source, error, transient };
    this.lastTerminal = event;
    this.events.next(event);
  }

  /** The backstop: polls while someone needs state, progress or errors, less while callbacks keep coming. */
  #schedulePoll(): void {
    const interval = this.#pollInterval();
    if (interval === undefined || this.#attached === undefined) {
      this.#stopPolling();
      return;
    }
    if (this.#pollTimer !== undefined) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      if (Date.now() - this.#lastCallbackAt < interval) {
        this.#schedulePoll();
        return;
      }
      this.#enqueue(async () => {
        await this.#refresh('backstop', false);
        this.#schedulePoll();
      });
    }, interval);
    // The keep-alive handle holds the process; the poll timer alone must not.
    this.#pollTimer.unref();
  }

  #stopPolling(): void {
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  /** A COM call failed: every subscription errors with it, and the hub lets go of the job. */
  async #fail(error: unknown): Promise<void> {
    const registrations = [...this.#registrations];
    this.#registrations.clear();
    for (const registration of registrations) registration.end.fail(error);
    await this.#detach().catch(() => undefined);
  }
}

/**
 * Undoes our registration, but only what is still ours: last writer wins, so another process may
 * have registered its own callback since (and set the flags it needs), and clearing those would
 * deafen it. A refused SetNotifyFlags must not keep our interface registered either.
 */
async function clearRegistration(job: BitsJob, callback: CallbackObject): Promise<void> {
  // A job that left the queue behind our back (another process, the service) has nothing to clear.
  if ((await unlessComError(job.notifyInterfaceIs(callback))) !== true) return;
  if (supports(job.backend, 'BG_NOTIFY_DISABLE')) await unlessComError(job.setNotifyFlags(NotifyFlags.Disable));
  await unlessComError(job.setNotifyInterface(null));
}

const hubs = new Map<Guid, JobHub>();

/** The hub of a job, created on first use and dropped when it has detached and nobody is registered. */
export function hubFor(job: BitsJob): JobHub {
  let hub = hubs.get(job.id);
  if (hub === undefined) {
    hub = new JobHub(job.id, (idle) => {
      if (hubs.get(idle.id) === idle) hubs.delete(idle.id);
    });
    hubs.set(job.id, hub);
  }
  return hub;
}

/** Resolves when every hub has finished its queued work (including hubs that work created). */
export async function whenHubsIdle(): Promise<void> {
  for (;;) {
    const current = [...hubs.values()];
    await Promise.all(current.map((hub) => hub.idle()));
    await new Promise((resolve) => setImmediate(resolve));
    if ([...hubs.values()].every((hub) => current.includes(hub))) return;
  }
}

/** Hubs alive right now (attached, or with registrations or work pending). */
export function liveHubs(): number {
  return hubs.size;
}
