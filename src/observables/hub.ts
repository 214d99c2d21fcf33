import { Subject, type Observable } from 'rxjs';
import { CallbackObject, type Notification } from '../com/callback-object.js';
import { NotifyFlags, isFinalState, type FinalJobState, type JobState } from '../com/enums.js';
import { ComError, ReleasedError, unlessComError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import {
  BG_E_ERROR_INFORMATION_UNAVAILABLE,
  BG_E_INVALID_STATE,
  BG_E_NOT_FOUND,
  E_NOTIMPL,
  hresultMessage,
  hresultName,
  isServiceGone,
} from '../com/hresult.js';
import { watchJob, type BitsJob, type JobErrorInfo, type JobProgress } from '../com/job.js';
import { reopenJob } from '../com/reopen.js';
import { AttachMachine, type AttachState } from './attach-state.js';
import type { ErrorEvent, EventSource, HubEvent, Interest, JobSnapshot, TransferredEvent } from './events.js';
import type { CheckedHubOptions } from './hub-options.js';
import { HubRegistry } from './hub-registry.js';
import { holdProcess, releaseProcess } from './keep-alive.js';
import {
  displacedPolicyOf,
  pollIntervalOf,
  shortest,
  unionOfFlags,
  wants,
  wantsSnapshots,
  type Registration,
  type RegistrationEnd,
} from './registrations.js';
import { ServiceUnavailableError } from './service-unavailable-error.js';
import { TerminalLedger } from './terminal-ledger.js';
import { Ticker } from './ticker.js';

export { checkHubOptions, type HubOptions, type DisplacedPolicy } from './hub-options.js';
export type { RegistrationEnd } from './registrations.js';
export type { AttachState } from './attach-state.js';

/**
 * The per-job hub: one per job GUID per process, shared by every Observable of that job whatever
 * handle it came from. It owns the job's registration with the service (SetNotifyFlags as the union
 * of what live subscriptions want, SetNotifyInterface with its own callback object) through an
 * explicit attach state machine (attach-state.ts), turns notifications into events outside the
 * native call, tells each terminal event once (terminal-ledger.ts), replays what happened before
 * anyone listened, polls as a backstop while someone needs state or errors, and renews its
 * registration as a lease: a service that went away is reconnected, a registration another process
 * took is noticed (and polled around), a job finished elsewhere ends the streams.
 */

/** A change of a hub's registration with the service. */
export interface RegistrationChange {
  readonly jobId: Guid;
  readonly state: AttachState;
  readonly previous: AttachState;
}

const changes = new Subject<RegistrationChange>();

/**
 * Every change of every hub's registration: `displaced` (another process took the job's notify
 * interface; the job's streams go on by polling), `reconnecting` (the service went away), `attached`
 * again, and the rest of {@link AttachState}. For applications that want to say so, or log it.
 */
export const registrationChanges$: Observable<RegistrationChange> = changes.asObservable();

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

/** Back-off between reconnection attempts: 50 ms, doubling, at most 5 s. */
const RECONNECT_FIRST_DELAY = 50;
const RECONNECT_MAX_DELAY = 5000;

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
  if (!(error instanceof ComError) || error.hresult !== BG_E_INVALID_STATE) return undefined;
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
 * Undoes our registration, but only what is still ours: last writer wins, so another process may
 * have registered its own callback since (and set the flags it needs), and clearing those would
 * deafen it. The flags go back to what the job had before we came (a job with a notify command line
 * must still run it); a refused SetNotifyFlags must not keep our interface registered either.
 */
async function clearRegistration(job: BitsJob, callback: CallbackObject, flagsBefore: number | undefined): Promise<void> {
  // A job that left the queue behind our back (another process, the service) has nothing to clear.
  if ((await unlessComError(job.notifyInterfaceIs(callback))) !== true) return;
  await unlessComError(job.setNotifyFlags(flagsBefore ?? NotifyFlags.Disable));
  await unlessComError(job.setNotifyInterface(null));
}

let displacementWarned = false;

export class JobHub {
  /** Every event of the job, in arrival order; each Observable filters what it asked for. */
  readonly events = new Subject<HubEvent>();
  /** State and progress each time the hub looks. */
  readonly snapshots = new Subject<JobSnapshot>();
  /**
   * The terminal event of the job's current stay (transferred, error or transient error), told at
   * once to every subscriber that arrives while it stands.
   */
  lastTerminal: TransferredEvent | ErrorEvent | undefined;

  readonly #registrations = new Set<Registration>();
  readonly #machine: AttachMachine;
  /** The hub's own reference to the job, while it holds one (every state but `detached`). */
  #job: BitsJob | undefined;
  #callback: CallbackObject | undefined;
  #unhook: (() => void) | undefined;
  /** The flags we set, and those the job had before we came (restored on detach). */
  #flags: number | undefined;
  #flagsBefore: number | undefined;
  readonly #ledger = new TerminalLedger();
  #lastState: JobState | undefined;
  #lastProgress: JobProgress | undefined;
  #lastCallbackAt = 0;
  readonly #poller = new Ticker(() => this.#pollDue());
  readonly #lease = new Ticker(() => this.#enqueue(() => this.#renewLease()));
  /** Lease renewals alternate between "is the job still queued" and "is the interface still ours". */
  #leaseRound = 0;
  readonly #reconnectRetry = new Ticker(() => this.#enqueue(() => this.#reconnect()));
  #reconnecting: { since: number; attempts: number; hresult: number } | undefined;
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
  ) {
    this.#machine = new AttachMachine((state, previous) => changes.next({ jobId: id, state, previous }));
  }

  /** Where the hub's registration with the service stands. */
  get state(): AttachState {
    return this.#machine.state;
  }

  /** Registers what a subscription wants; the returned function unregisters it. */
  register(job: BitsJob, interests: ReadonlySet<Interest>, options: CheckedHubOptions, end: RegistrationEnd): () => void {
    const registration: Registration = { job, interests, options, end };
    this.#registrations.add(registration);
    this.#detachDue = false;
    clearTimeout(this.#detachTimer);
    this.#detachTimer = undefined;
    if (interests.has('state') || interests.has('progress')) this.#refreshWanted = true;
    // Whatever happened before this subscription is told at once, on an attached hub as on a fresh one:
    // the hub may not know it yet (nobody asked for that notification, and it is not polled for).
    if (interests.has('transferred') || interests.has('error')) this.#replayWanted = true;
    this.#scheduleReconcile();
    return () => {
      if (!this.#registrations.delete(registration)) return;
      // Read only once nobody is left: the last one to leave decides how long the hub stays attached.
      this.#lastDetachDelay = registration.options.detachDelay;
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
      .catch((error: unknown) => this.#failed(error))
      .finally(() => {
        this.#pending--;
        if (this.#pending === 0 && !this.#reconcileScheduled && this.#registrations.size === 0 && !this.#machine.holdsJob) {
          this.onIdle(this);
        }
      });
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

  /** Whether our callback is (or is about to be) the job's notify interface, so the job is heard through it. */
  #listening(): boolean {
    const { state } = this.#machine;
    return state === 'attached' || state === 'unregistered' || state === 'displaced';
  }

  async #reconcile(): Promise<void> {
    if (this.#registrations.size > 0) {
      const flags = unionOfFlags(this.#registrations);
      const replayWanted = this.#replayWanted;
      this.#replayWanted = false;
      const { state } = this.#machine;
      const job = this.#job;
      // A fresh attach looks at the job itself; a reconnection sets the flags and looks once it is through.
      if (state === 'detached') await this.#attach(flags);
      else if (job !== undefined && (state === 'attached' || state === 'unregistered')) {
        if (flags === this.#flags || (await this.#setFlags(job, flags))) {
          if (replayWanted) await this.#replay(job);
        }
      } else if (job !== undefined && state === 'displaced' && replayWanted) {
        // The flags are the other process's now; the look still tells the new subscriber.
        await this.#replay(job);
      }
      if (!this.#listening()) return;
      if (this.#refreshWanted) {
        this.#refreshWanted = false;
        await this.#refresh('backstop', false);
      }
      this.#armTimers();
      return;
    }
    if (!this.#machine.holdsJob) return;
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
    this.#job = job;
    this.#machine.to('attaching');
    holdProcess();
    this.#unhook = watchJob(this.id, {
      leave: (call) => this.#exclusive(() => this.#leave(call)),
      resume: (call) =>
        this.#exclusive(async () => {
          await call();
          this.#newAttempt();
        }),
    });
    // What we restore on detach; a job that has left the queue answers anything here, and is found out below.
    this.#flagsBefore = await unlessComError(job.getNotifyFlags());
    await this.#register(job, flags, 'replay');
  }

  /**
   * The flags, our callback (a new one unless given), a look at the job: attaching, after a
   * reconnection, and taking the registration back at a lease renewal.
   */
  async #register(job: BitsJob, flags: number, source: EventSource, callback?: CallbackObject): Promise<void> {
    // An observer leaves a registration it finds alone, flags included: it watches by polling instead.
    if (displacedPolicyOf(this.#registrations) === 'observe' && (await this.#heldByAnother(job, source))) return;
    if (!(await this.#setFlags(job, flags))) return;
    // Made only now: a job found gone by SetNotifyFlags has no use for one.
    this.#callback = callback ?? (await this.#newCallback());
    try {
      await job.setNotifyInterface(this.#callback);
    } catch (error) {
      await this.#finishIfLeft(error, job, source);
      return;
    }
    this.#machine.to('attached');
    await this.#replay(job);
  }

  /** Whether someone else's callback is the job's notify interface; if so the hub is displaced (and has looked at the job). */
  async #heldByAnother(job: BitsJob, source: EventSource): Promise<boolean> {
    let registered: bigint | undefined;
    try {
      registered = await job.notifyInterface();
    } catch (error) {
      await this.#finishIfLeft(error, job, source);
      return true;
    }
    if (registered === undefined || registered === this.#callback?.address) return false;
    this.#machine.to('displaced');
    this.#flags = undefined;
    await this.#replay(job);
    return true;
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
    const state = this.#machine.state;
    if (state === 'detached') return;
    const job = this.#job;
    const callback = this.#callback;
    const flagsBefore = this.#flagsBefore;
    this.#job = undefined;
    this.#callback = undefined;
    this.#flags = undefined;
    this.#flagsBefore = undefined;
    this.#reconnecting = undefined;
    this.#ledger.newAttempt();
    this.lastTerminal = undefined;
    this.#lastState = undefined;
    this.#lastProgress = undefined;
    this.#leaseRound = 0;
    this.#stopTimers();
    this.#unhook?.();
    this.#unhook = undefined;
    callback?.detach();
    this.#machine.to('detached');
    releaseProcess();
    try {
      // Nothing to undo for a job that left the queue, or on a service that went away with our registration
      // (the hub dropped its callback when it began reconnecting: there is none while `reconnecting`).
      if (job !== undefined && callback !== undefined && state !== 'left') {
        await clearRegistration(job, callback, flagsBefore);
      }
    } finally {
      callback?.dispose();
      await job?.release();
    }
  }

  /**
   * This process completes or cancels the job. Our registration is cleared first, while the service
   * still accepts it; then the job has either left the queue (subscriptions end at once) or stayed
   * (the call failed, or recent Wine kept a partly completed job), and we register again, looking
   * for what we may have missed meanwhile.
   */
  async #leave(call: () => Promise<JobState>): Promise<void> {
    if (this.#machine.state === 'attached') await this.#unregister();
    let state: JobState;
    try {
      state = await call();
    } catch (error) {
      await this.#registerAgain().catch((again: unknown) => this.#failed(again));
      throw error;
    }
    if (isFinalState(state)) await this.#finish(state, 'action');
    // The call itself succeeded: a failure to register again is the hub's to handle, not the caller's.
    else await this.#registerAgain().catch((error: unknown) => this.#failed(error));
  }

  async #unregister(): Promise<void> {
    const job = this.#job;
    const callback = this.#callback;
    if (job === undefined || callback === undefined) return;
    try {
      await job.setNotifyInterface(null);
    } catch (error) {
      if (!(error instanceof ComError)) throw error;
      // Another process got there first; the caller's Complete or Cancel will say so.
      const state = await finalStateAfter(error, job);
      if (state !== undefined) await this.#finish(state, 'backstop');
      // Otherwise the registration stands, and the hub goes on hearing the job through it.
      return;
    }
    callback.detach();
    this.#machine.to('unregistered');
  }

  async #registerAgain(): Promise<void> {
    const job = this.#job;
    if (this.#machine.state !== 'unregistered' || job === undefined) return;
    // The old object was detached (late calls to it are dropped); the service gets a fresh one.
    this.#callback?.dispose();
    const callback = await this.#newCallback();
    this.#callback = callback;
    await job.setNotifyInterface(callback);
    this.#machine.to('attached');
    await this.#replay(job);
  }

  /** The receiver thread starts asynchronously, once per process: awaited here, it never blocks the main thread. */
  async #newCallback(): Promise<CallbackObject> {
    await CallbackObject.ready();
    return new CallbackObject((notification) => this.#onNotification(notification));
  }

  /** A refused call: if the job has left the queue the hub finishes, otherwise the error stands. */
  async #finishIfLeft(error: unknown, job: BitsJob, source: EventSource): Promise<void> {
    const state = await finalStateAfter(error, job);
    if (state === undefined) throw error;
    await this.#finish(state, source);
  }

  /**
   * The job left the queue (or the service no longer has it: `state` undefined). Subscribers of
   * state, progress and modifications hear the final state (unless they already did), then every
   * subscription completes and the hub lets go of the job. A later subscription attaches anew and
   * hears the same at once.
   */
  async #finish(state: FinalJobState | undefined, source: EventSource): Promise<void> {
    const job = this.#job;
    // Not attached (never, or no longer): nothing to end. `left` is never seen here either: it lasts only
    // within one #finish, which runs on the chain and ends by letting go of the job.
    if (job === undefined) return;
    this.#machine.to('left');
    this.#stopTimers();
    if (state !== undefined && state !== this.#lastState && wantsSnapshots(this.#registrations)) {
      // The service may no longer answer for a job that is gone; the last reading then stands.
      const progress = (await unlessComError(job.getProgress())) ?? this.#lastProgress;
      this.#remember(state, progress);
      if (progress !== undefined) {
        this.snapshots.next({ state, progress });
        if (wants(this.#registrations, 'modification')) this.events.next({ type: 'modification', jobId: this.id, source, state, progress });
      }
    }
    const registrations = [...this.#registrations];
    this.#registrations.clear();
    // Before anyone hears the end: a subscriber that subscribes again from its `complete` handler must
    // not be told a transfer of a job that has since left the queue.
    this.lastTerminal = undefined;
    // Whoever subscribes again meanwhile attaches anew (and hears the same): its registration scheduled
    // a reconciliation, which the chain runs after this detach.
    for (const registration of registrations) registration.end.complete();
    await this.#detach();
  }

  /** This process resumed the job: whatever it ends in next is a new terminal event, whatever the error count says. */
  #newAttempt(): void {
    this.#ledger.newAttempt();
    this.lastTerminal = undefined;
  }

  /** Called inside the native call: only queue the work, so the service's thread is let go at once. */
  #onNotification(notification: Notification): void {
    if (notification.kind === 'modification') this.#lastCallbackAt = Date.now();
    this.#enqueue(() => this.#process(notification));
  }

  async #process(notification: Notification): Promise<void> {
    const job = this.#job;
    if (job === undefined || !this.#listening()) {
      if (notification.kind === 'error') await notification.error?.release();
      if ('file' in notification) await notification.file?.release();
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
          const info = error === undefined ? NO_ERROR_INFORMATION : await job.readNotifiedError(error);
          this.#emitError(info, false, await errorCount(job), 'callback');
        } finally {
          await error?.release();
        }
        return;
      }
      case 'fileTransferred': {
        const { file } = notification;
        if (file === undefined) return;
        try {
          const info = await job.readNotifiedFile(file);
          this.events.next({ type: 'fileTransferred', jobId: this.id, source: 'callback', file: info });
        } finally {
          await file.release();
        }
        return;
      }
      case 'fileRangesTransferred': {
        const { file, ranges } = notification;
        if (file === undefined) return;
        try {
          const info = await job.readNotifiedFile(file);
          this.events.next({ type: 'fileRangesTransferred', jobId: this.id, source: 'callback', file: info, ranges });
        } finally {
          await file.release();
        }
      }
    }
  }

  /** Looks at the job: a snapshot, a modification event if something changed, terminal events if it finished. */
  async #refresh(source: EventSource, fromCallback: boolean): Promise<void> {
    const job = this.#job;
    if (job === undefined || !this.#listening()) return;
    const state = await job.getState();
    // Someone watching only for errors (or, displaced, for the transfer) needs the state alone: one call per poll, not two.
    if (!fromCallback && !wantsSnapshots(this.#registrations)) {
      this.#remember(state, undefined);
      await this.#observeState(state, source);
      return;
    }
    const progress = await job.getProgress();
    const changed = state !== this.#lastState || !sameProgress(progress, this.#lastProgress);
    this.#remember(state, progress);
    this.snapshots.next({ state, progress });
    if ((fromCallback || changed) && wants(this.#registrations, 'modification')) {
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
    const job = this.#job;
    if (job === undefined) return;
    if (isFinalState(state)) {
      await this.#finish(state, source);
    } else if (state === 'transferred') {
      this.#emitTransferred(source);
    } else if ((state === 'error' || state === 'transientError') && wants(this.#registrations, 'error')) {
      const count = await errorCount(job);
      if (this.#ledger.toldError(state === 'transientError', count)) return;
      const info = (await job.getError()) ?? NO_ERROR_INFORMATION;
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

  /** The backstop polls while someone needs state, progress or errors (everyone, when displaced); the lease runs while we are registered. */
  #armTimers(): void {
    const { state } = this.#machine;
    this.#poller.arm(this.#listening() ? pollIntervalOf(this.#registrations, state === 'displaced') : undefined);
    this.#lease.arm(state === 'attached' || state === 'displaced' ? shortest(this.#registrations, 'leaseInterval') : undefined);
  }

  #stopTimers(): void {
    this.#poller.stop();
    this.#lease.stop();
    this.#reconnectRetry.stop();
  }

  /** Polls less while modification callbacks keep coming: they carry what the poll would find. */
  #pollDue(): void {
    const interval = pollIntervalOf(this.#registrations, this.#machine.state === 'displaced');
    if (interval !== undefined && Date.now() - this.#lastCallbackAt < interval) {
      this.#poller.arm(interval);
      return;
    }
    this.#enqueue(async () => {
      await this.#refresh('backstop', false);
      this.#armTimers();
    });
  }

  /**
   * One call into the service per renewal. Even rounds: is the job still queued (another process
   * may have completed or cancelled it, and `transferred$` alone never polls)? Odd rounds: is its
   * notify interface still ours? Either call failing because the service went away starts a reconnection.
   */
  async #renewLease(): Promise<void> {
    const job = this.#job;
    const callback = this.#callback;
    const { state } = this.#machine;
    // An observer displaced from the start has no callback yet: it gets one if the job comes free.
    if (job === undefined || (state !== 'attached' && state !== 'displaced')) return;
    if (this.#leaseRound++ % 2 === 0) {
      const jobState = await job.getState();
      if (isFinalState(jobState)) return this.#finish(jobState, 'backstop');
      // A lost JobTransferred is found here too, at no extra cost.
      this.#remember(jobState, undefined);
      if (jobState === 'transferred') this.#emitTransferred('backstop');
    } else {
      const registered = await job.notifyInterface();
      if (registered !== undefined && registered === callback?.address) {
        // Given back (another process restored the interface it found): the flags are still theirs.
        if (state === 'displaced' && (await this.#setFlags(job, unionOfFlags(this.#registrations)))) this.#machine.to('attached');
      } else if (registered === undefined || displacedPolicyOf(this.#registrations) === 'reclaim') {
        // Nobody holds it (cleared by someone, or by a service restart that kept the job): not a fight.
        await this.#register(job, unionOfFlags(this.#registrations), 'backstop', callback);
      } else if (state !== 'displaced') {
        this.#displaced();
      }
    }
    this.#armTimers();
  }

  /** Another process took the notify interface: leave it to them, and serve our streams by polling. */
  #displaced(): void {
    this.#machine.to('displaced');
    // The flags are theirs now; ours are written again if we get the interface back.
    this.#flags = undefined;
    if (!displacementWarned) {
      displacementWarned = true;
      process.emitWarning(
        `rx-bits: another process took the notify interface of job ${this.id} (BITS keeps one per job, last writer wins). ` +
          "Its streams go on by polling; pass { onDisplaced: 'reclaim' } to take it back. Further displacements are reported on registrationChanges$ only.",
        { code: 'RXBITS_DISPLACED' },
      );
    }
  }

  /** A failure on the chain: the service going away starts a reconnection; anything else fails the subscriptions. */
  async #failed(error: unknown): Promise<void> {
    const { state } = this.#machine;
    if (error instanceof ComError && isServiceGone(error.hresult) && this.#job !== undefined && state !== 'left' && state !== 'reconnecting') {
      this.#beginReconnecting(error.hresult);
      return;
    }
    await this.#fail(error);
  }

  #beginReconnecting(hresult: number): void {
    this.#machine.to('reconnecting');
    this.#stopTimers();
    this.#reconnecting = { since: Date.now(), attempts: 0, hresult };
    const dead = this.#callback;
    const runtime = this.#job?.runtime;
    this.#callback = undefined;
    if (dead !== undefined && runtime !== undefined) {
      // Our registration went with the service, but COM keeps the dead service's references on our
      // object until its ping times out: let them go now, or the process cannot leave cleanly.
      dead.detach();
      this.#enqueue(async () => {
        try {
          await runtime.disconnectObject(dead.address);
        } finally {
          dead.dispose();
        }
      });
    }
    this.#enqueue(() => this.#reconnect());
  }

  /**
   * One attempt to reach the service again: a new connection, the job reopened, registered again,
   * and a look for what was missed. The job no longer there ends the streams as a job that left the
   * queue does; a service that stays away past `reconnectTimeout` errors them.
   */
  async #reconnect(): Promise<void> {
    // Set exactly while the state is `reconnecting` (cleared on leaving it, by success or #detach).
    const reconnecting = this.#reconnecting;
    const old = this.#job;
    if (reconnecting === undefined || old === undefined) return;
    let fresh: BitsJob;
    try {
      fresh = await reopenJob(old);
    } catch (error) {
      if (!(error instanceof ComError)) throw error;
      if (error.hresult === BG_E_NOT_FOUND) return this.#finish(undefined, 'backstop');
      reconnecting.hresult = error.hresult;
      const waited = Date.now() - reconnecting.since;
      const timeout = shortest(this.#registrations, 'reconnectTimeout') ?? 0;
      if (waited >= timeout) return this.#fail(new ServiceUnavailableError(this.id, reconnecting.hresult, waited));
      const delay = Math.min(RECONNECT_MAX_DELAY, RECONNECT_FIRST_DELAY * 2 ** reconnecting.attempts++, Math.max(0, timeout - waited));
      this.#reconnectRetry.arm(delay);
      return;
    }
    this.#reconnecting = undefined;
    this.#job = fresh;
    // A proxy of the old connection: its Release goes nowhere, and nothing else can be done with it.
    await old.release();
    this.#machine.to('attaching');
    await this.#register(fresh, unionOfFlags(this.#registrations), 'replay');
    if (this.#listening()) this.#scheduleReconcile();
  }

  /** A COM call failed: every subscription errors with it, and the hub lets go of the job. */
  async #fail(error: unknown): Promise<void> {
    const registrations = [...this.#registrations];
    this.#registrations.clear();
    // As in #finish: a subscriber that subscribes again from its error handler attaches anew and is
    // told what the job shows then, not this hub's last event on top of it.
    this.lastTerminal = undefined;
    for (const registration of registrations) registration.end.fail(error);
    await this.#detach().catch(() => undefined);
  }
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

const hubs = new HubRegistry<JobHub>((id, onIdle) => new JobHub(id, onIdle));

/** The hub of a job, created on first use and dropped when it has detached and nobody is registered. */
export function hubFor(job: BitsJob): JobHub {
  return hubs.of(job.id);
}

/** Resolves when every hub has finished its queued work (including hubs that work created). */
export function whenHubsIdle(): Promise<void> {
  return hubs.idle();
}

/** Hubs alive right now (attached, or with registrations or work pending). */
export function liveHubs(): number {
  return hubs.size;
}
