import { lastValueFrom, of, retry, toArray, type Observable, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ComError } from '../src/com/errors.js';
import { BG_E_INVALID_STATE, E_FAIL, E_NOTIMPL } from '../src/com/hresult.js';
import { BitsJob } from '../src/com/job.js';
import { parseGuid, type Guid } from '../src/com/guid.js';
import {
  connect,
  error$,
  fileTransferred$,
  modification$,
  NotifyFlags,
  progress$,
  registrationChanges$,
  state$,
  transferred$,
  type ErrorEvent,
  type JobEvent,
  type JobState,
  type RegistrationChange,
} from '../src/index.js';
import { hubFor, liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { registerAnother, until, useLoopback } from './support/harness.js';
import { State } from './loopback/job-model.js';
import { IllegalTransitionError, AttachMachine } from '../src/observables/attach-state.js';
import type { Interest } from '../src/observables/events.js';
import { checkHubOptions, DEFAULT_HUB_OPTIONS } from '../src/observables/hub-options.js';
import { HubRegistry, type RegisteredHub } from '../src/observables/hub-registry.js';
import { jobEvents$ } from '../src/observables/job-events.js';
import { wants, type Registration } from '../src/observables/registrations.js';
import { Ticker } from '../src/observables/ticker.js';

/**
 * Issue G, the hub's registration side: how subscriptions arrive and leave (the reconcile, the
 * detach delay, the one-hub-per-job registry) and the small parts it is built from.
 */

const registration = (interests: Interest[]): Registration => ({
  job: {} as BitsJob,
  interests: new Set(interests),
  options: DEFAULT_HUB_OPTIONS,
  end: { fail: () => undefined, complete: () => undefined },
});

describe('the hub’s small parts', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('wants: only an interest some registration asked for', () => {
    expect(wants([registration(['state']), registration(['transferred'])], 'error')).toBe(false);
    expect(wants([registration(['state']), registration(['error'])], 'error')).toBe(true);
    expect(wants([], 'modification')).toBe(false);
  });

  test('an illegal transition is an IllegalTransitionError by name, naming both states', () => {
    const machine = new AttachMachine(() => undefined);
    let thrown: unknown;
    try {
      machine.to('left');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(IllegalTransitionError);
    expect((thrown as Error).name).toBe('IllegalTransitionError');
    expect((thrown as Error).message).toBe('hub: detached -> left is not a transition');
  });

  test('hub options: 2147483647 ms is the longest accepted, and each refusal says what was expected', () => {
    expect(checkHubOptions({ pollInterval: 0x7fffffff, leaseInterval: 0x7fffffff, detachDelay: 0x7fffffff, reconnectTimeout: 0x7fffffff })).toEqual({
      ...DEFAULT_HUB_OPTIONS,
      pollInterval: 0x7fffffff,
      leaseInterval: 0x7fffffff,
      detachDelay: 0x7fffffff,
      reconnectTimeout: 0x7fffffff,
    });
    expect(() => checkHubOptions({ pollInterval: 0x80000000 })).toThrow('pollInterval: expected a whole number of milliseconds from 1 to 2147483647, got 2147483648');
    expect(() => checkHubOptions({ detachDelay: -1 })).toThrow('detachDelay: expected a whole number of milliseconds from 0 to 2147483647, got -1');
    expect(() => checkHubOptions({ onDisplaced: 'fight' as never })).toThrow("onDisplaced: expected 'poll', 'reclaim' or 'observe', got fight");
    expect(() => checkHubOptions(null as never)).toThrow('options: expected an object of hub options');
    // Not an object at all: spreading a number would quietly give the defaults.
    expect(() => checkHubOptions(5 as never)).toThrow('options: expected an object of hub options');
    expect(() => checkHubOptions('x' as never)).toThrow('options: expected an object of hub options');
  });

  test('jobEvents$ refuses an empty or unknown list of kinds, saying what it expected', () => {
    const job = {} as BitsJob;
    expect(() => jobEvents$(job, [])).toThrow('kinds: expected a non-empty array of event types');
    expect(() => jobEvents$(job, ['finished' as 'transferred'])).toThrow(
      "kinds: unknown event type 'finished'; expected transferred, error, modification, fileTransferred",
    );
  });

  test('a ticker is armed once until it runs: arming it again does not add a second run', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const due = vi.fn();
    const ticker = new Ticker(due);
    expect(ticker.armed).toBe(false);
    ticker.arm(10);
    expect(ticker.armed).toBe(true);
    vi.advanceTimersByTime(5);
    ticker.arm(10);
    vi.advanceTimersByTime(5);
    expect(due).toHaveBeenCalledTimes(1);
    expect(ticker.armed).toBe(false);
    vi.advanceTimersByTime(100);
    expect(due).toHaveBeenCalledTimes(1);
    ticker.arm(10);
    ticker.arm(undefined);
    expect(ticker.armed).toBe(false);
    vi.advanceTimersByTime(100);
    expect(due).toHaveBeenCalledTimes(1);
  });
});

/** A stand-in hub for the registry: its idleness is the test's to decide. */
class FakeHub implements RegisteredHub {
  constructor(
    readonly id: Guid,
    readonly onIdle: (hub: FakeHub) => void,
    readonly whenIdle: () => Promise<void> = () => Promise.resolve(),
  ) {}
  idle(): Promise<void> {
    return this.whenIdle();
  }
}

describe('the hub registry', () => {
  const a = parseGuid('11111111-2222-3333-4444-555555555555');
  const b = parseGuid('66666666-7777-8888-9999-AAAAAAAAAAAA');

  test('one hub per job id, dropped when it says it is idle; a stale hub going idle does not drop its successor', () => {
    const registry = new HubRegistry<FakeHub>((id, onIdle) => new FakeHub(id, onIdle));
    const first = registry.of(a);
    expect(registry.of(a)).toBe(first);
    expect(registry.size).toBe(1);
    first.onIdle(first);
    expect(registry.size).toBe(0);
    const second = registry.of(a);
    expect(second).not.toBe(first);
    // The old hub of the same job says so again (its queue drained once more): the new one stays.
    first.onIdle(first);
    expect(registry.size).toBe(1);
    expect(registry.of(a)).toBe(second);
  });

  test('idle waits for hubs created while it waited, too', async () => {
    let release: () => void = () => undefined;
    const late = new Promise<void>((resolve) => (release = resolve));
    let lateIdle = false;
    const registry = new HubRegistry<FakeHub>((id, onIdle) =>
      id === a
        ? // The first hub's work creates the second hub (as a hub's work can subscribe to another job).
          new FakeHub(id, onIdle, async () => {
            registry.of(b);
          })
        : new FakeHub(id, onIdle, async () => {
            await late;
            lateIdle = true;
          }),
    );
    registry.of(a);
    let done = false;
    const idle = registry.idle().then(() => (done = true));
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(registry.size).toBe(2);
    expect(done).toBe(false);
    release();
    await idle;
    expect(lateIdle).toBe(true);
  });
});

describe('a hub’s registration on the loopback service', () => {
  const h = useLoopback();
  const subscriptions: Subscription[] = [];
  const changes: RegistrationChange[] = [];
  let watching: Subscription;

  beforeEach(() => {
    changes.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    vi.useRealTimers();
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    watching.unsubscribe();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  const calls = (method: string) => h.service.calls(`IBackgroundCopyJob::${method}`);
  /** Only the timers: the hub's detach delay, poll and lease are setTimeouts, and time moves only when the test says so. */
  const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const advance = async (ms: number) => {
    vi.advanceTimersByTime(ms);
    await whenHubsIdle();
  };

  async function leave(job: BitsJob): Promise<void> {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  }

  test('an attached hub stays the job’s one hub: a later subscriber, through another handle, shares its registration', async () => {
    const job = await h.bits.createJob({ displayName: 'one hub' });
    subscriptions.push(transferred$(job).subscribe());
    await whenHubsIdle();
    expect(liveHubs()).toBe(1);
    const other = await h.bits.getJob(job.id);
    subscriptions.push(transferred$(other).subscribe());
    await whenHubsIdle();
    expect(liveHubs()).toBe(1);
    expect(hubFor(other)).toBe(hubFor(job));
    expect(calls('SetNotifyInterface')).toBe(1);
    await other.release();
    await leave(job);
  });

  test('a stream that subscribes again from its error handler (retry) is served by the same hub, which stays the job’s', async () => {
    const job = await h.bits.createJob({ displayName: 'retry' });
    vi.spyOn(BitsJob.prototype, 'setNotifyFlags').mockRejectedValueOnce(new ComError(E_FAIL, 'IBackgroundCopyJob', 'SetNotifyFlags'));
    const failures: unknown[] = [];
    subscriptions.push(
      transferred$(job)
        .pipe(retry({ count: 1, delay: (error: unknown) => (failures.push(error), of(0)) }))
        .subscribe(),
    );
    await whenHubsIdle();
    expect(failures).toHaveLength(1);
    expect(h.service.notifyTarget(job.id), 'attached on the second try').toBeDefined();
    expect(liveHubs(), 'and counted, so whenHubsIdle waits for it').toBe(1);
    const other = await h.bits.getJob(job.id);
    subscriptions.push(transferred$(other).subscribe());
    await whenHubsIdle();
    expect(calls('SetNotifyInterface'), 'the newcomer shares its registration').toBe(1);
    await other.release();
    await leave(job);
  });

  test('after the last subscriber leaves, the hub stays attached for detachDelay, then lets go', async () => {
    const job = await h.bits.createJob({ displayName: 'delay' });
    fakeTimers();
    const subscription = transferred$(job, { detachDelay: 1000 }).subscribe();
    await whenHubsIdle();
    subscription.unsubscribe();
    await whenHubsIdle();
    expect(h.service.notifyTarget(job.id), 'still registered during the delay').toBeDefined();
    expect(liveHubs(), 'the hub is still the job’s').toBe(1);
    expect(hubFor(job).state).toBe('attached');
    await advance(999);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    await advance(1);
    expect(h.service.notifyTarget(job.id), 'detached once the delay is over').toBeUndefined();
    expect(liveHubs()).toBe(0);
    expect(calls('SetNotifyInterface')).toBe(2);
    await leave(job);
  });

  test('a subscriber returning within detachDelay cancels the pending detach: leaving again waits the whole delay anew', async () => {
    const job = await h.bits.createJob({ displayName: 'delay again' });
    fakeTimers();
    const first = transferred$(job, { detachDelay: 1000 }).subscribe();
    await whenHubsIdle();
    first.unsubscribe();
    await whenHubsIdle();
    await advance(500);
    const again = transferred$(job, { detachDelay: 1000 }).subscribe();
    await whenHubsIdle();
    // Past the first delay: it was called off, so nothing happens.
    await advance(700);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    again.unsubscribe();
    await whenHubsIdle();
    await advance(999);
    expect(h.service.notifyTarget(job.id), 'a full delay after the second leave').toBeDefined();
    await advance(1);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    expect(calls('SetNotifyInterface')).toBe(2);
    await leave(job);
  });

  test('a subscription that leaves before its hub attached sets no detach timer (which would hold the process)', async () => {
    const job = await h.bits.createJob({ displayName: 'never attached' });
    fakeTimers();
    const timers = vi.getTimerCount();
    transferred$(job, { detachDelay: 0x7fffffff }).subscribe().unsubscribe();
    await whenHubsIdle();
    expect(vi.getTimerCount()).toBe(timers);
    expect(calls('SetNotifyInterface')).toBe(0);
    await leave(job);
  });

  test('the last subscriber to leave decides the detach delay', async () => {
    const job = await h.bits.createJob({ displayName: 'last decides' });
    fakeTimers();
    const patient = transferred$(job, { detachDelay: 1000 }).subscribe();
    const hasty = transferred$(job, { detachDelay: 0 }).subscribe();
    await whenHubsIdle();
    hasty.unsubscribe();
    await whenHubsIdle();
    patient.unsubscribe();
    await whenHubsIdle();
    expect(h.service.notifyTarget(job.id), 'the patient one left last').toBeDefined();
    await advance(1000);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    // The other way round: the hasty one leaves last, and the hub lets go at once.
    const patient2 = transferred$(job, { detachDelay: 1000 }).subscribe();
    const hasty2 = transferred$(job, { detachDelay: 0 }).subscribe();
    await whenHubsIdle();
    patient2.unsubscribe();
    await whenHubsIdle();
    hasty2.unsubscribe();
    await whenHubsIdle();
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await leave(job);
  });

  test.each<[string, (job: BitsJob) => Observable<unknown>, unknown]>([
    ['state$', (job) => state$(job, { pollInterval: 0x7fffffff }), 'suspended'],
    ['progress$', (job) => progress$(job, { pollInterval: 0x7fffffff }), { bytesTotal: 0, bytesTransferred: 0, filesTotal: 0, filesTransferred: 0 }],
  ])('%s tells the current value on subscribing, without waiting for a poll, on a fresh hub and on an attached one', async (_name, observe, current) => {
    const job = await h.bits.createJob({ displayName: 'at once' });
    const values: unknown[] = [];
    subscriptions.push(observe(job).subscribe((value) => values.push(value)));
    await whenHubsIdle();
    expect(values).toEqual([current]);
    // A hub attached for something else looks at the job for the newcomer too.
    const other = await h.bits.createJob({ displayName: 'at once, attached' });
    subscriptions.push(transferred$(other).subscribe());
    await whenHubsIdle();
    const late: unknown[] = [];
    subscriptions.push(observe(other).subscribe((value) => late.push(value)));
    await whenHubsIdle();
    expect(late).toEqual([current]);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await other.cancel();
    await other.release();
    await leave(job);
  });

  test('a subscriber that needs nothing new (no flag, no look) makes no call into the service, coming or going', async () => {
    const job = await h.bits.createJob({ displayName: 'nothing new' });
    subscriptions.push(transferred$(job).subscribe(), state$(job).subscribe(), fileTransferred$(job).subscribe());
    await whenHubsIdle();
    const before = h.service.totalCalls();
    // modification$ rides on the flag state$ set; a second fileTransferred$ on the first one's.
    const joining = [modification$(job).subscribe(), fileTransferred$(job).subscribe()];
    await whenHubsIdle();
    for (const subscription of joining) subscription.unsubscribe();
    await whenHubsIdle();
    expect(h.service.totalCalls() - before).toBe(0);
    await leave(job);
  });

  test('a progress$ joining tells modification$ nothing when nothing changed', async () => {
    const job = await h.bits.createJob({ displayName: 'no change' });
    const modifications: JobEvent[] = [];
    subscriptions.push(modification$(job, { pollInterval: 0x7fffffff }).subscribe((event) => modifications.push(event)));
    subscriptions.push(state$(job, { pollInterval: 0x7fffffff }).subscribe());
    await whenHubsIdle();
    // The first look is news: the hub had no reading of the job's progress.
    expect(modifications).toMatchObject([{ type: 'modification', source: 'backstop', state: 'suspended' }]);
    const progressLooks = calls('GetProgress');
    subscriptions.push(progress$(job, { pollInterval: 0x7fffffff }).subscribe());
    await whenHubsIdle();
    expect(calls('GetProgress'), 'the newcomer was told by a look').toBe(progressLooks + 1);
    expect(modifications).toHaveLength(1);
    await leave(job);
  });

  test('an error count that rises while the job stays in ERROR is a new error, found by the poll', async () => {
    const job = await h.bits.createJob({ displayName: 'count rises', files: [{ url: h.server.url('/status/404'), localPath: h.local('c.bin') }] });
    const errors: ErrorEvent[] = [];
    subscriptions.push(error$(job, { pollInterval: 5 }).subscribe((event) => errors.push(event)));
    await whenHubsIdle();
    await job.resume();
    await until(() => errors.length === 1);
    // Another failure the polls did not see the job leave ERROR for: only the count tells.
    const model = h.service.job(job.id)!;
    model.errorCount++;
    const looks = calls('GetState');
    await until(() => calls('GetState') >= looks + 2); // a whole poll after the change
    await whenHubsIdle();
    expect(errors.map((event) => [event.error.code, event.transient])).toEqual([
      ['BG_E_HTTP_ERROR_404', false],
      ['BG_E_HTTP_ERROR_404', false],
    ]);
    await leave(job);
  });

  test.each([
    ['a COM error other than E_NOTIMPL', new ComError(E_FAIL, 'IBackgroundCopyJob', 'GetErrorCount')],
    ['a failure that is no COM error, whatever it carries', Object.assign(new Error('not from COM'), { hresult: E_NOTIMPL })],
  ])('GetErrorCount failing with %s fails error$ with it (only COM’s E_NOTIMPL means “no count”)', async (_name, failure) => {
    const job = await h.bits.createJob({ displayName: 'count fails', files: [{ url: h.server.url('/status/404'), localPath: h.local('f.bin') }] });
    vi.spyOn(BitsJob.prototype, 'getErrorCount').mockRejectedValue(failure);
    const ended = lastValueFrom(error$(job).pipe(toArray())).catch((error: unknown) => error);
    await whenHubsIdle();
    await job.resume();
    expect(await ended).toBe(failure);
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test.each([
    ['an E_FAIL', new ComError(E_FAIL, 'IBackgroundCopyJob', 'SetNotifyFlags')],
    ['a failure that is no COM error, whatever it carries', Object.assign(new Error('not from COM'), { hresult: BG_E_INVALID_STATE })],
  ])('a refused SetNotifyFlags on a job gone elsewhere: %s is not “the job left”, and fails the stream', async (_name, failure) => {
    const job = await h.bits.createJob({ displayName: 'refused' });
    h.service.job(job.id)!.cancel();
    vi.spyOn(BitsJob.prototype, 'setNotifyFlags').mockRejectedValue(failure);
    const ended = lastValueFrom(transferred$(job).pipe(toArray())).catch((error: unknown) => error);
    expect(await ended).toBe(failure);
    await whenHubsIdle();
    await job.release();
  });

  test('SetNotifyFlags refused with BG_E_INVALID_STATE on a job cancelled elsewhere: the stream ends as for a job that left the queue', async () => {
    const job = await h.bits.createJob({ displayName: 'invalid state' });
    h.service.job(job.id)!.cancel();
    vi.spyOn(BitsJob.prototype, 'setNotifyFlags').mockRejectedValue(new ComError(BG_E_INVALID_STATE, 'IBackgroundCopyJob', 'SetNotifyFlags'));
    expect(await lastValueFrom(state$(job).pipe(toArray()))).toEqual(['cancelled']);
    await whenHubsIdle();
    await job.release();
  });

  test('state$ errors with the COM failure that ends its hub', async () => {
    const job = await h.bits.createJob({ displayName: 'state fails' });
    const failure = new ComError(E_FAIL, 'IBackgroundCopyJob', 'GetProgress');
    vi.spyOn(BitsJob.prototype, 'getProgress').mockRejectedValue(failure);
    expect(await lastValueFrom(state$(job).pipe(toArray())).catch((error: unknown) => error)).toBe(failure);
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('flags that could not be read on attaching are put back as BG_NOTIFY_DISABLE on detaching', async () => {
    const job = await h.bits.createJob({ displayName: 'unread flags' });
    vi.spyOn(BitsJob.prototype, 'getNotifyFlags').mockRejectedValueOnce(new ComError(E_FAIL, 'IBackgroundCopyJob', 'GetNotifyFlags'));
    const subscription = transferred$(job).subscribe();
    await whenHubsIdle();
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.JobTransferred);
    subscription.unsubscribe();
    await whenHubsIdle();
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.Disable);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await job.cancel();
    await job.release();
  });

  /** Another process registers its own callback on the job (last writer wins). */
  const takeOver = (id: Guid) => registerAnother(h.bits, id);

  /** A hub displaced at its second lease renewal (the first asks for the state, the second for the interface). */
  async function displace(job: BitsJob, leaseInterval: number) {
    const other = await takeOver(job.id);
    await advance(leaseInterval);
    await advance(leaseInterval);
    expect(changes.filter((change) => change.jobId === job.id).map((change) => change.state)).toContain('displaced');
    return other;
  }

  test('a displaced hub serves every subscription by polling, transferred$ too', async () => {
    const job = await h.bits.createJob({ displayName: 'displaced polls' });
    fakeTimers();
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    subscriptions.push(transferred$(job, { pollInterval: 10, leaseInterval: 1000 }).subscribe());
    await whenHubsIdle();
    const other = await displace(job, 1000);
    const looks = calls('GetState');
    await advance(10);
    expect(calls('GetState'), 'a poll').toBe(looks + 1);
    await advance(10);
    expect(calls('GetState'), 'and the next').toBe(looks + 2);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await other.done();
    await leave(job);
  });

  test('a transferred$ joining a displaced hub looks at the job: the transfer nobody was told of is replayed at once', async () => {
    const job = await h.bits.createJob({ displayName: 'displaced replay' });
    fakeTimers();
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    subscriptions.push(fileTransferred$(job, { pollInterval: 0x7fffffff, leaseInterval: 1000 }).subscribe());
    await whenHubsIdle();
    const other = await displace(job, 1000);
    // The job is done, and no notification says so (the flags and the interface are the other process's).
    h.service.job(job.id)!.state = State.TRANSFERRED;
    const late: JobEvent[] = [];
    subscriptions.push(transferred$(job).subscribe((event) => late.push(event)));
    await whenHubsIdle();
    expect(late).toEqual([{ type: 'transferred', jobId: job.id, source: 'replay' }]);
    // A state$ joining the displaced hub is told the state at once, too.
    const states: JobState[] = [];
    subscriptions.push(state$(job, { pollInterval: 0x7fffffff }).subscribe((state) => states.push(state)));
    await whenHubsIdle();
    expect(states).toEqual(['transferred']);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await other.done();
    await leave(job);
  });

  test('a state$ that subscribes while the hub reconnects is told the state once the service is back, without a poll', async () => {
    const job = await h.bits.createJob({ displayName: 'joins while away' });
    subscriptions.push(transferred$(job, { leaseInterval: 5 }).subscribe());
    await whenHubsIdle();
    h.service.stop();
    await until(() => changes.some((change) => change.jobId === job.id && change.state === 'reconnecting'));
    const states: JobState[] = [];
    subscriptions.push(state$(job, { pollInterval: 0x7fffffff }).subscribe((state) => states.push(state)));
    // A transferred$ joining now waits too: nothing is asked of the service that is away.
    const failures: unknown[] = [];
    subscriptions.push(transferred$(job).subscribe({ error: (error: unknown) => failures.push(error) }));
    await whenHubsIdle();
    expect(states).toEqual([]);
    h.service.start();
    await until(() => changes.filter((change) => change.jobId === job.id).at(-1)?.state === 'attached');
    await whenHubsIdle();
    expect(states).toEqual(['suspended']);
    expect(failures).toEqual([]);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    // Our handle is a proxy of the dead connection: reopen the job to cancel it.
    const bits = await connect({ runtime: h.service.runtime });
    const reopened = await bits.getJob(job.id);
    await reopened.cancel();
    await reopened.release();
    await bits.release();
    await job.release();
  });
});
