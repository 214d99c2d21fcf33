import { lastValueFrom, take, toArray, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ComError, ReleasedError } from '../src/com/errors.js';
import { E_FAIL } from '../src/com/hresult.js';
import { BitsJob } from '../src/com/job.js';
import {
  error$,
  jobEvents$,
  modification$,
  NotifyFlags,
  registrationChanges$,
  state$,
  transferred$,
  type JobEvent,
  type RegistrationChange,
} from '../src/index.js';
import type { HubEvent } from '../src/observables/events.js';
import { hubFor, liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { Recorder, until, useLoopback } from './support/harness.js';

/**
 * Issue G, the hub's second half: attaching and registering, this process's own Complete and Cancel,
 * finishing, notifications, refreshes, terminal events and timers, each on the loopback service.
 */

const failure = (method: string) => new ComError(E_FAIL, 'IBackgroundCopyJob', method);

describe('attaching', () => {
  const h = useLoopback();

  afterEach(async () => {
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  const interfaceCalls = () => h.service.calls('IBackgroundCopyJob::SetNotifyInterface');

  test('subscribing through a released handle errors with ReleasedError, and nothing reaches the service', async () => {
    const job = await h.bits.createJob({ displayName: 'released' });
    const other = await h.bits.getJob(job.id);
    await job.release();
    const error = await lastValueFrom(transferred$(job)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReleasedError);
    expect(error).toMatchObject({ interfaceName: 'IBackgroundCopyJob', operation: 'subscribe' });
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyFlags')).toBe(0);
    await other.cancel();
    await other.release();
  });

  test('a released handle among live ones: the hub attaches through a live one', async () => {
    const job = await h.bits.createJob({ displayName: 'one-released' });
    const other = await h.bits.getJob(job.id);
    await job.release();
    const events: JobEvent[] = [];
    let failed: unknown;
    // The released handle subscribes first, in the same tick: one attach for both.
    const subscriptions = [
      transferred$(job).subscribe({ error: (error: unknown) => (failed = error) }),
      transferred$(other).subscribe((event) => events.push(event)),
    ];
    await whenHubsIdle();
    expect(failed).toBeUndefined();
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    for (const subscription of subscriptions) subscription.unsubscribe();
    await whenHubsIdle();
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await other.cancel();
    await other.release();
  });

  test('the flags the job had before we came are given back when the hub lets go', async () => {
    const job = await h.bits.createJob({ displayName: 'flags-back' });
    await job.setNotifyFlags(NotifyFlags.JobTransferred | NotifyFlags.JobModification);
    const subscription = error$(job).subscribe();
    await whenHubsIdle();
    expect(await job.getNotifyFlags()).toBe(NotifyFlags.JobError);
    subscription.unsubscribe();
    await whenHubsIdle();
    expect(await job.getNotifyFlags()).toBe(NotifyFlags.JobTransferred | NotifyFlags.JobModification);
    await job.cancel();
    await job.release();
  });

  test('a job another process cancelled before we subscribe: the streams end at once, told as a replay, and no callback is registered', async () => {
    const job = await h.bits.createJob({ displayName: 'gone-before' });
    h.service.job(job.id)!.cancel();
    const states = lastValueFrom(state$(job).pipe(toArray()));
    const modifications = lastValueFrom(modification$(job).pipe(toArray()));
    expect(await states).toEqual(['cancelled']);
    expect((await modifications).map((event) => [event.source, event.state])).toEqual([['replay', 'cancelled']]);
    expect(interfaceCalls()).toBe(0);
    await job.release();
  });

  test('SetNotifyFlags failing for another reason errors the streams with that failure', async () => {
    const job = await h.bits.createJob({ displayName: 'flags-fail' });
    vi.spyOn(BitsJob.prototype, 'setNotifyFlags').mockRejectedValue(failure('SetNotifyFlags'));
    const error = await lastValueFrom(transferred$(job)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ComError', code: 'E_FAIL', method: 'SetNotifyFlags' });
    expect(interfaceCalls()).toBe(0);
    vi.restoreAllMocks();
    await job.cancel();
    await job.release();
  });

  test('SetNotifyInterface failing on attach errors the streams with that failure', async () => {
    const job = await h.bits.createJob({ displayName: 'interface-fail' });
    const original = BitsJob.prototype.setNotifyInterface;
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback !== null) return Promise.reject(failure('SetNotifyInterface'));
      return original.call(this, callback);
    });
    const error = await lastValueFrom(transferred$(job)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ComError', code: 'E_FAIL', method: 'SetNotifyInterface' });
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await job.cancel();
    await job.release();
  });

  test('a job that leaves the queue between SetNotifyFlags and SetNotifyInterface: the streams end, as a replay', async () => {
    const job = await h.bits.createJob({ displayName: 'gone-between' });
    const original = BitsJob.prototype.setNotifyInterface;
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback !== null) h.service.job(job.id)!.cancel();
      return original.call(this, callback);
    });
    const events = lastValueFrom(jobEvents$(job, ['modification']).pipe(toArray()));
    expect((await events).map((event) => [event.source, event.state])).toEqual([['replay', 'cancelled']]);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await job.release();
  });
});

describe("this process's own Complete and Cancel", () => {
  const h = useLoopback();
  const changes: RegistrationChange[] = [];
  let watching: Subscription;

  beforeEach(() => {
    changes.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    watching.unsubscribe();
    vi.restoreAllMocks();
    h.service.faults.cancelDenied = false;
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  const interfaceCalls = () => h.service.calls('IBackgroundCopyJob::SetNotifyInterface');

  test('a refused Cancel while displaced leaves the other process its registration', async () => {
    const job = await h.bits.createJob({ displayName: 'displaced-cancel' });
    const subscription = transferred$(job, { leaseInterval: 5 }).subscribe();
    await whenHubsIdle();
    const other = await h.bits.getJob(job.id);
    const recorder = new Recorder();
    await other.setNotifyFlags(NotifyFlags.JobTransferred);
    await other.setNotifyInterface(recorder.callback);
    await until(() => changes.some((change) => change.jobId === job.id && change.state === 'displaced'));
    const before = interfaceCalls();
    h.service.faults.cancelDenied = true;
    await expect(job.cancel()).rejects.toMatchObject({ code: 'E_ACCESSDENIED' });
    expect(interfaceCalls()).toBe(before);
    expect(h.service.notifyTarget(job.id)?.address).toBe(recorder.callback.address);
    subscription.unsubscribe();
    await whenHubsIdle();
    await other.setNotifyInterface(null);
    h.service.faults.cancelDenied = false;
    await other.cancel();
    await other.release();
    await recorder.dispose();
    await job.release();
  });

  test('a refused Cancel whose registration could not be cleared does not register again', async () => {
    const job = await h.bits.createJob({ displayName: 'not-cleared' });
    const subscription = transferred$(job).subscribe();
    await whenHubsIdle();
    const target = h.service.notifyTarget(job.id)?.address;
    const original = BitsJob.prototype.setNotifyInterface;
    const spy = vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback === null) return Promise.reject(failure('SetNotifyInterface'));
      return original.call(this, callback);
    });
    h.service.faults.cancelDenied = true;
    await expect(job.cancel()).rejects.toMatchObject({ code: 'E_ACCESSDENIED' });
    expect(spy.mock.calls.map(([callback]) => callback)).toEqual([null]);
    expect(h.service.notifyTarget(job.id)?.address).toBe(target);
    vi.restoreAllMocks();
    subscription.unsubscribe();
    h.service.faults.cancelDenied = false;
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('a refused Cancel registers a fresh callback, and a failure to do so errors the streams', async () => {
    const job = await h.bits.createJob({ displayName: 'again-fails' });
    const ended = lastValueFrom(transferred$(job)).catch((caught: unknown) => caught);
    await whenHubsIdle();
    const original = BitsJob.prototype.setNotifyInterface;
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback !== null) return Promise.reject(failure('SetNotifyInterface'));
      return original.call(this, callback);
    });
    h.service.faults.cancelDenied = true;
    await expect(job.cancel()).rejects.toMatchObject({ code: 'E_ACCESSDENIED' });
    expect(await ended).toMatchObject({ name: 'ComError', code: 'E_FAIL', method: 'SetNotifyInterface' });
    vi.restoreAllMocks();
    h.service.faults.cancelDenied = false;
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('SetNotifyInterface(NULL) failing with something other than a COM error: our Cancel fails with it and the job stays', async () => {
    const job = await h.bits.createJob({ displayName: 'odd-failure' });
    const events: JobEvent[] = [];
    let completed = false;
    const subscription = transferred$(job).subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
    await whenHubsIdle();
    const original = BitsJob.prototype.setNotifyInterface;
    const oops = new Error('not a COM failure');
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback === null) return Promise.reject(oops);
      return original.call(this, callback);
    });
    await expect(job.cancel()).rejects.toBe(oops);
    expect(h.service.calls('IBackgroundCopyJob::Cancel')).toBe(0);
    expect(await job.getState()).toBe('suspended');
    expect(completed).toBe(false);
    vi.restoreAllMocks();
    subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('our Cancel of a job another process cancelled fails, and the streams end, told by the backstop', async () => {
    const job = await h.bits.createJob({ displayName: 'cancelled-first' });
    // No notification, no poll and no renewal can tell of it: only our own Cancel finds it out.
    const events: JobEvent[] = [];
    let completed = false;
    const subscription = jobEvents$(job, ['modification', 'transferred'], { pollInterval: 600_000, leaseInterval: 600_000 }).subscribe({
      next: (event) => events.push(event),
      complete: () => (completed = true),
    });
    await whenHubsIdle();
    const model = h.service.job(job.id)!;
    model.notifyFlags = 0;
    model.cancel();
    await expect(job.cancel()).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await whenHubsIdle();
    expect(completed).toBe(true);
    expect(events.map((event) => (event.type === 'modification' ? [event.source, event.state] : []))).toEqual([['backstop', 'cancelled']]);
    subscription.unsubscribe();
    await job.release();
  });

  test('our Cancel just after the last subscriber left, while the hub lets go: the job is cancelled and the Cancel succeeds', async () => {
    const job = await h.bits.createJob({ displayName: 'cancel-while-detaching' });
    const subscription = transferred$(job).subscribe();
    await whenHubsIdle();
    subscription.unsubscribe();
    // The hub's detach is queued (a microtask later); our Cancel comes after it.
    await Promise.resolve();
    await expect(job.cancel()).resolves.toMatchObject({ hresult: 0 });
    expect(h.service.job(job.id)?.state).toBe(8 /* CANCELLED */);
    await whenHubsIdle();
    await job.release();
  });
});

/** Waits for a condition without timers (setTimeout is faked where this is used). */
async function settle(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('the backstop poll, on fake time', () => {
  const h = useLoopback();
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  async function watched(name: string, options: { pollInterval: number }) {
    const job = await h.bits.createJob({ displayName: name });
    const looks = vi.spyOn(BitsJob.prototype, 'getState');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const events: JobEvent[] = [];
    subscriptions.push(modification$(job, options).subscribe((event) => events.push(event)));
    await whenHubsIdle();
    return { job, looks, events };
  }

  async function cleanUp(job: BitsJob): Promise<void> {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  }

  test('a modification callback postpones the poll: it carries what the poll would find', async () => {
    const { job, looks, events } = await watched('postponed', { pollInterval: 1000 });
    vi.advanceTimersByTime(400);
    const told = events.length;
    await job.setDisplayName('renamed');
    await settle(() => events.length > told);
    await whenHubsIdle();
    const before = looks.mock.calls.length;
    // The poll was due 1000 ms after attaching, only 600 ms after the callback: it waits a full interval.
    vi.advanceTimersByTime(600);
    await whenHubsIdle();
    expect(looks.mock.calls.length, 'GetState 600 ms after a callback').toBe(before);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(looks.mock.calls.length, 'GetState once a whole interval passed without one').toBe(before + 1);
    await cleanUp(job);
  });

  test('a poll due a whole interval after the last callback goes ahead', async () => {
    const { job, looks, events } = await watched('not-postponed', { pollInterval: 1000 });
    const told = events.length;
    await job.setDisplayName('renamed');
    await settle(() => events.length > told);
    await whenHubsIdle();
    const before = looks.mock.calls.length;
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(looks.mock.calls.length).toBe(before + 1);
    await cleanUp(job);
  });

  test('the shortest interval of the polled subscriptions decides the postponement, not that of transferred$', async () => {
    const { job, looks, events } = await watched('mixed', { pollInterval: 1000 });
    // Not polled (it is not displaced): its interval is no measure of what the callbacks carry.
    subscriptions.push(transferred$(job, { pollInterval: 10 }).subscribe());
    await whenHubsIdle();
    vi.advanceTimersByTime(400);
    const told = events.length;
    await job.setDisplayName('renamed');
    await settle(() => events.length > told);
    await whenHubsIdle();
    const before = looks.mock.calls.length;
    vi.advanceTimersByTime(600);
    await whenHubsIdle();
    expect(looks.mock.calls.length).toBe(before);
    await cleanUp(job);
  });

  test('a JobError callback does not postpone the poll: only modifications carry what it would find', async () => {
    const job = await h.bits.createJob({ displayName: 'error-no-postpone', files: [{ url: h.server.url('/status/404'), localPath: h.local('e.bin') }] });
    const looks = vi.spyOn(BitsJob.prototype, 'getState');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const events: JobEvent[] = [];
    subscriptions.push(error$(job, { pollInterval: 1000 }).subscribe((event) => events.push(event)));
    await whenHubsIdle();
    vi.advanceTimersByTime(400);
    await job.resume();
    await settle(() => events.length === 1);
    expect(events[0]).toMatchObject({ type: 'error', source: 'callback' });
    await whenHubsIdle();
    const before = looks.mock.calls.length;
    vi.advanceTimersByTime(600);
    await whenHubsIdle();
    expect(looks.mock.calls.length, 'the poll, 600 ms after the JobError').toBe(before + 1);
    await cleanUp(job);
  });

  test('a modification callback that changed nothing is still a modification event, from the callback', async () => {
    const { job, events } = await watched('renamed', { pollInterval: 600_000 });
    await job.setDisplayName('renamed once');
    await settle(() => events.length === 1);
    // Neither the state nor the progress moves; the callback says something did (the name).
    await job.setDisplayName('renamed twice');
    await settle(() => events.length === 2);
    expect(events[1]).toMatchObject({ type: 'modification', source: 'callback', state: 'suspended' });
    await cleanUp(job);
  });
});

describe('the backstop poll, on fake time, with no JobModification from the service', () => {
  const h = useLoopback({ neverCalls: ['modification'] });
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a poll tells a modification only when the state or the progress changed', async () => {
    const job = await h.bits.createJob({ displayName: 'changes' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const events: JobEvent[] = [];
    subscriptions.push(modification$(job, { pollInterval: 1000 }).subscribe((event) => events.push(event)));
    await whenHubsIdle();
    expect(events, 'modification$ alone does not look on subscribing').toEqual([]);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(events.map((event) => event.source), 'the first poll reads the progress').toEqual(['backstop']);
    // A look of its own (a late transferred$ replays) knows the state, not the progress: that is no change either.
    subscriptions.push(transferred$(job).subscribe());
    await whenHubsIdle();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(events, 'nothing changed').toHaveLength(1);
    // The progress alone changes (one more file).
    await job.addFile({ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') });
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(events.map((event) => (event.type === 'modification' ? [event.source, event.state] : []))).toEqual([
      ['backstop', 'suspended'],
      ['backstop', 'suspended'],
    ]);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(events).toHaveLength(2);
    // The state alone changes.
    h.service.job(job.id)!.state = 5; // TRANSIENT_ERROR, with the same progress
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(events.map((event) => (event.type === 'modification' ? event.state : undefined)).at(-1)).toBe('transientError');
    expect(events).toHaveLength(3);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('a poll that finds the job gone tells its final state once, then the streams end', async () => {
    const job = await h.bits.createJob({ displayName: 'gone-by-poll' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const events: JobEvent[] = [];
    let completed = false;
    subscriptions.push(modification$(job, { pollInterval: 1000 }).subscribe({ next: (event) => events.push(event), complete: () => (completed = true) }));
    await whenHubsIdle();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    h.service.job(job.id)!.cancel();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(completed).toBe(true);
    expect(events.map((event) => (event.type === 'modification' ? [event.source, event.state] : []))).toEqual([
      ['backstop', 'suspended'],
      ['backstop', 'cancelled'],
    ]);
    vi.useRealTimers();
    await job.release();
  });
});

describe('errors and terminal events', () => {
  const h = useLoopback();
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a JobError callback is an error event from the callback, without waiting for a poll', async () => {
    const job = await h.bits.createJob({ displayName: 'error-callback', files: [{ url: h.server.url('/status/404'), localPath: h.local('e.bin') }] });
    const heard = lastValueFrom(error$(job, { pollInterval: 600_000 }).pipe(take(1)));
    await whenHubsIdle();
    await job.resume();
    expect(await heard).toMatchObject({ type: 'error', source: 'callback', transient: false, error: { code: 'BG_E_HTTP_ERROR_404' } });
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test.each([
    ['an error', '/status/404', 4, false],
    ['a transient error', '/status/503', 5, true],
  ] as const)('%s the polls keep finding is read from the service once', async (_name, url, state, transient) => {
    const job = await h.bits.createJob({ displayName: 'error-polled', files: [{ url: h.server.url(url), localPath: h.local('p.bin') }] });
    await job.setMinimumRetryDelay(86_400); // no retry of its own while the test looks
    const reads = vi.spyOn(BitsJob.prototype, 'getError');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const events: JobEvent[] = [];
    // Only the poll can tell: JobError is not asked for, and TRANSIENT_ERROR calls nothing anyway.
    subscriptions.push(jobEvents$(job, ['error'], { pollInterval: 1000 }).subscribe((event) => events.push(event)));
    await whenHubsIdle();
    await h.bits.getJob(job.id).then(async (other) => {
      await other.setNotifyFlags(0);
      await other.release();
    });
    await job.resume();
    await settle(() => h.service.job(job.id)!.state === state);
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(1000);
      await whenHubsIdle();
    }
    expect(events.map((event) => (event.type === 'error' ? [event.source, event.transient, event.error.code] : []))).toEqual([
      ['backstop', transient, url === '/status/404' ? 'BG_E_HTTP_ERROR_404' : 'BG_E_HTTP_ERROR_503'],
    ]);
    expect(reads).toHaveBeenCalledTimes(1);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('the error a job sits in is told at once to a late subscriber; once the job moves on, no longer', async () => {
    const job = await h.bits.createJob({ displayName: 'stale', files: [{ url: h.server.url('/status/404'), localPath: h.local('s.bin') }] });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const first: JobEvent[] = [];
    subscriptions.push(error$(job, { pollInterval: 1000 }).subscribe((event) => first.push(event)));
    await whenHubsIdle();
    await job.resume();
    await settle(() => first.length === 1);
    // A poll finds the job still in ERROR: the error still stands.
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    const late: JobEvent[] = [];
    subscriptions.push(error$(job, { pollInterval: 1000 }).subscribe((event) => late.push(event)));
    expect(late).toMatchObject([{ type: 'error', source: 'replay', error: { code: 'BG_E_HTTP_ERROR_404' } }]);
    await whenHubsIdle();
    // Another process suspends the job (nothing is called for it); a poll finds it out of ERROR.
    const other = await h.bits.getJob(job.id);
    await other.suspend();
    await other.release();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    const later: JobEvent[] = [];
    subscriptions.push(error$(job).subscribe((event) => later.push(event)));
    await whenHubsIdle();
    expect(later).toEqual([]);
    expect(first).toHaveLength(1);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('a job that ends while only transferred$ watches: nobody needs its progress, so none is read', async () => {
    const job = await h.bits.createJob({ displayName: 'no-progress' });
    const reads = vi.spyOn(BitsJob.prototype, 'getProgress');
    const events = lastValueFrom(transferred$(job).pipe(toArray()));
    await whenHubsIdle();
    await job.cancel();
    expect(await events).toEqual([]);
    expect(reads).not.toHaveBeenCalled();
    await job.release();
  });

  test('a job that ends while only state$ watches puts no modification event on the hub', async () => {
    const job = await h.bits.createJob({ displayName: 'state-only' });
    const all: HubEvent[] = [];
    const hub = hubFor(job);
    const tap = hub.events.subscribe((event) => all.push(event));
    const states = lastValueFrom(state$(job, { pollInterval: 600_000 }).pipe(toArray()));
    await whenHubsIdle();
    await job.cancel();
    expect(await states).toEqual(['suspended', 'cancelled']);
    expect(all).toEqual([]);
    tap.unsubscribe();
    await job.release();
  });
});

describe('the lease and the timers, on fake time', () => {
  const h = useLoopback();
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('the first renewal asks whether the job is still queued, the next whether the interface is still ours', async () => {
    const job = await h.bits.createJob({ displayName: 'rounds' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    subscriptions.push(transferred$(job, { leaseInterval: 1000 }).subscribe());
    await whenHubsIdle();
    const state = () => h.service.calls('IBackgroundCopyJob::GetState');
    const notify = () => h.service.calls('IBackgroundCopyJob::GetNotifyInterface');
    const [states, notifies] = [state(), notify()];
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect([state() - states, notify() - notifies]).toEqual([1, 0]);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect([state() - states, notify() - notifies]).toEqual([1, 1]);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect([state() - states, notify() - notifies]).toEqual([2, 1]);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('no poll and no renewal is left pending once the job left the queue', async () => {
    const job = await h.bits.createJob({ displayName: 'timers' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const states = lastValueFrom(state$(job, { pollInterval: 1000, leaseInterval: 1000 }).pipe(toArray()));
    await whenHubsIdle();
    expect(vi.getTimerCount(), 'the poll and the lease').toBe(2);
    await job.cancel();
    expect(await states).toEqual(['suspended', 'cancelled']);
    await whenHubsIdle();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    await job.release();
  });
});

describe('displaced', () => {
  const h = useLoopback();
  const changes: RegistrationChange[] = [];
  let watching: Subscription;

  beforeEach(() => {
    changes.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    watching.unsubscribe();
    vi.useRealTimers();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('displaced, transferred$ alone is polled: the service calls the other process, not us', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const job = await h.bits.createJob({ displayName: 'displaced-polled' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const subscription = transferred$(job, { leaseInterval: 1000, pollInterval: 100 }).subscribe();
    await whenHubsIdle();
    const other = await h.bits.getJob(job.id);
    const recorder = new Recorder();
    await other.setNotifyInterface(recorder.callback);
    const looks = () => h.service.calls('IBackgroundCopyJob::GetState');
    // The first renewal looks at the job, the second finds the interface taken.
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(changes.map((change) => change.state).at(-1)).toBe('displaced');
    const before = looks();
    vi.advanceTimersByTime(100);
    await whenHubsIdle();
    expect(looks(), 'one poll').toBe(before + 1);
    subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await other.setNotifyInterface(null);
    await other.cancel();
    await other.release();
    await recorder.dispose();
    await job.release();
  });

  test('a displaced hub goes on renewing its lease, and takes the registration once the other process lets go', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const job = await h.bits.createJob({ displayName: 'lets-go' });
    const subscription = transferred$(job, { leaseInterval: 5, pollInterval: 5 }).subscribe();
    await whenHubsIdle();
    const other = await h.bits.getJob(job.id);
    const recorder = new Recorder();
    await other.setNotifyInterface(recorder.callback);
    await until(() => changes.some((change) => change.state === 'displaced'));
    await other.setNotifyInterface(null);
    // The service holds our callback before our SetNotifyInterface returns: wait for the hub to say so.
    await until(() => changes.at(-1)?.state === 'attached');
    expect(changes.map((change) => change.state).slice(-2)).toEqual(['displaced', 'attached']);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    subscription.unsubscribe();
    await whenHubsIdle();
    await other.cancel();
    await other.release();
    await recorder.dispose();
    await job.release();
  });
});

describe('looks the hub takes, and what it reads', () => {
  const h = useLoopback();
  const subscriptions: Subscription[] = [];
  const changes: RegistrationChange[] = [];
  let watching: Subscription;

  beforeEach(() => {
    changes.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    watching.unsubscribe();
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    vi.restoreAllMocks();
    h.service.faults.cancelDenied = false;
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a job that leaves the queue just after we registered: its final state is still told, as a replay', async () => {
    const job = await h.bits.createJob({ displayName: 'gone-after' });
    const original = BitsJob.prototype.setNotifyInterface;
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(async function (this: BitsJob, callback) {
      await original.call(this, callback);
      if (callback !== null) h.service.job(job.id)!.cancel();
    });
    const events = lastValueFrom(jobEvents$(job, ['modification']).pipe(toArray()));
    expect((await events).map((event) => [event.source, event.state])).toEqual([['replay', 'cancelled']]);
    await job.release();
  });

  test('a refused Cancel: the hub registers again and tells what the job did meanwhile, as a replay', async () => {
    const job = await h.bits.createJob({ displayName: 'fresh', files: [{ url: h.server.url('/files/f?size=100'), localPath: h.local('f.bin') }] });
    const events: JobEvent[] = [];
    subscriptions.push(transferred$(job).subscribe((event) => events.push(event)));
    await whenHubsIdle();
    // The job transfers without a word (as if the notification were lost).
    h.service.job(job.id)!.notifyFlags = 0;
    await job.resume();
    await until(() => h.service.job(job.id)?.state === 6 /* TRANSFERRED */);
    await whenHubsIdle();
    expect(events).toEqual([]);
    h.service.faults.cancelDenied = true;
    await expect(job.cancel()).rejects.toMatchObject({ code: 'E_ACCESSDENIED' });
    expect(events).toEqual([{ type: 'transferred', jobId: job.id, source: 'replay' }]);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    expect(changes.map((change) => change.state).slice(-2)).toEqual(['unregistered', 'attached']);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    h.service.faults.cancelDenied = false;
    await whenHubsIdle();
    await job.complete();
    await job.release();
  });

  test('a job that left the queue is asked nothing more when the hub lets go of it', async () => {
    const job = await h.bits.createJob({ displayName: 'nothing-to-clear' });
    const ended = lastValueFrom(transferred$(job).pipe(toArray()));
    await whenHubsIdle();
    const before = h.service.totalCalls();
    await job.cancel();
    expect(await ended).toEqual([]);
    await whenHubsIdle();
    // Our registration cleared before the Cancel, then the Cancel: nothing else.
    expect(h.service.callLog.slice(-(h.service.totalCalls() - before))).toEqual(['IBackgroundCopyJob::SetNotifyInterface', 'IBackgroundCopyJob::Cancel']);
    await job.release();
  });

  test('a job whose progress the service no longer tells, and was never read: no snapshot without a progress', async () => {
    const job = await h.bits.createJob({ displayName: 'no-reading' });
    h.service.job(job.id)!.cancel();
    vi.spyOn(BitsJob.prototype, 'getProgress').mockRejectedValue(new ComError(0x80200002, 'IBackgroundCopyJob', 'GetProgress'));
    const progress = lastValueFrom(jobEvents$(job, ['modification']).pipe(toArray()));
    expect(await progress).toEqual([]);
    await job.release();
  });

  test('polling for errors alone reads the state, not the progress', async () => {
    const job = await h.bits.createJob({ displayName: 'state-only-polls' });
    const progress = vi.spyOn(BitsJob.prototype, 'getProgress');
    const looks = vi.spyOn(BitsJob.prototype, 'getState');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    subscriptions.push(error$(job, { pollInterval: 1000 }).subscribe());
    await whenHubsIdle();
    const before = looks.mock.calls.length;
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(looks.mock.calls.length).toBe(before + 1);
    expect(progress).not.toHaveBeenCalled();
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.useRealTimers();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('nobody asking for errors: a job in ERROR is not asked for its error', async () => {
    const job = await h.bits.createJob({ displayName: 'error-unasked', files: [{ url: h.server.url('/status/404'), localPath: h.local('u.bin') }] });
    await job.resume();
    await until(() => h.service.job(job.id)?.state === 4 /* ERROR */);
    const calls = () => h.service.calls('IBackgroundCopyJob::GetError') + h.service.calls('IBackgroundCopyJob::GetErrorCount');
    const before = calls();
    const states = lastValueFrom(jobEvents$(job, ['transferred', 'modification']).pipe(toArray()));
    await whenHubsIdle();
    expect(calls()).toBe(before);
    await job.cancel();
    await states;
    await job.release();
  });

  test('an ERROR the service has no error information for is still told, as unavailable', async () => {
    const job = await h.bits.createJob({ displayName: 'no-information' });
    h.service.job(job.id)!.state = 4; // ERROR, with no error recorded
    const heard = lastValueFrom(error$(job).pipe(take(1)));
    expect(await heard).toMatchObject({ type: 'error', source: 'replay', transient: false, error: { code: 'BG_E_ERROR_INFORMATION_UNAVAILABLE', context: 'unknown' } });
    await whenHubsIdle();
    h.service.job(job.id)!.state = 3;
    await job.cancel();
    await job.release();
  });

  test('resuming the job ends the stay of its error: a subscriber that arrives after our Resume is not told the old error', async () => {
    const job = await h.bits.createJob({ displayName: 'new-attempt', files: [{ url: h.server.url('/gate/n?size=100'), localPath: h.local('n.bin') }] });
    await job.setMinimumRetryDelay(86_400);
    h.service.faults.disconnects = 1;
    const first: JobEvent[] = [];
    subscriptions.push(error$(job, { pollInterval: 5 }).subscribe((event) => first.push(event)));
    await job.resume();
    await until(() => first.length === 1);
    expect(first).toMatchObject([{ type: 'error', transient: true }]);
    // The retry waits at the gate: nothing can fail meanwhile.
    await job.resume();
    const late: JobEvent[] = [];
    subscriptions.push(error$(job).subscribe((event) => late.push(event)));
    expect(late).toEqual([]);
    h.server.open('n');
    await until(async () => (await job.getState()) === 'transferred');
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    expect(late).toEqual([]);
    await job.complete();
    await job.release();
  });

  test('a reconnection waiting to retry is stopped when the last subscriber leaves', async () => {
    const job = await h.bits.createJob({ displayName: 'retry-stopped' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const subscription = transferred$(job, { leaseInterval: 1000, reconnectTimeout: 600_000 }).subscribe();
    await whenHubsIdle();
    h.service.stop();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(changes.map((change) => change.state)).toContain('reconnecting');
    expect(vi.getTimerCount(), 'the next attempt').toBe(1);
    subscription.unsubscribe();
    await whenHubsIdle();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    h.service.start();
    await job.release();
  });
});

describe('the keep-alive', () => {
  const h = useLoopback();

  afterEach(async () => {
    vi.useRealTimers();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a subscription refused for a released handle leaves the keep-alive as it was: the next attach holds the process', async () => {
    const job = await h.bits.createJob({ displayName: 'keep-alive' });
    const other = await h.bits.getJob(job.id);
    await job.release();
    // Only the keep-alive is an interval; the hub's own timers are timeouts.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    await expect(lastValueFrom(transferred$(job))).rejects.toBeInstanceOf(ReleasedError);
    await whenHubsIdle();
    expect(vi.getTimerCount()).toBe(0);
    const subscription = transferred$(other).subscribe();
    await whenHubsIdle();
    expect(vi.getTimerCount(), 'held while attached').toBe(1);
    subscription.unsubscribe();
    await whenHubsIdle();
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    await other.cancel();
    await other.release();
  });
});
