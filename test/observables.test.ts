import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { filter, firstValueFrom, lastValueFrom, take, toArray, type Subscription } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { BitsJob } from '../src/com/job.js';
import { ComError } from '../src/com/errors.js';
import { E_FAIL } from '../src/com/hresult.js';
import {
  completeWhenTransferred,
  error$,
  InvalidArgumentError,
  JobLeftQueueError,
  jobEvents$,
  modification$,
  NotifyFlags,
  progress$,
  state$,
  transferred$,
  fileTransferred$,
  liveCallbackObjects,
  type ErrorEvent,
  type JobEvent,
  type JobState,
} from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { content } from './support/http-server.js';
import { captureUnhandled, until, useLoopback } from './support/harness.js';

describe('jobEvents$ and friends on the loopback service', () => {
  const h = useLoopback();
  const unhandled = captureUnhandled();

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('transferred$: flags follow the subscription, the callback delivers, teardown detaches', async () => {
    const job = await h.bits.createJob({ displayName: 'obs', files: [{ url: h.server.url('/files/a?size=1000'), localPath: h.local('a.bin') }] });
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.JobTransferred);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    await job.resume();
    expect(await done).toEqual({ type: 'transferred', source: 'callback', jobId: job.id });
    await whenHubsIdle();
    // The flags the job had before we came (a new job's: TRANSFERRED | ERROR), and no interface.
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.JobTransferred | NotifyFlags.JobError);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    expect(await job.getState()).toBe('transferred'); // unsubscribing never completes the job
    await job.complete();
    await job.release();
  });

  test('with only transferred$ observed the hub never polls', async () => {
    const job = await h.bits.createJob({ displayName: 'nopoll', files: [{ url: h.server.url('/slow/s?size=20000&chunk=2000&delay=10'), localPath: h.local('s.bin') }] });
    const done = firstValueFrom(transferred$(job, { pollInterval: 1 }));
    await whenHubsIdle();
    const getStateAfterAttach = h.service.calls('IBackgroundCopyJob::GetState');
    await job.resume();
    await done;
    expect(h.service.calls('IBackgroundCopyJob::GetState')).toBe(getStateAfterAttach);
    expect(h.service.calls('IBackgroundCopyJob::GetProgress')).toBe(0);
    await job.complete();
    await job.release();
  });

  test('one hub per job, whatever the handle: one registration, flags the union of both', async () => {
    const job = await h.bits.createJob({ displayName: 'shared', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    const other = await h.bits.getJob(job.id);
    const a = transferred$(job).subscribe();
    const b = fileTransferred$(other).subscribe();
    await whenHubsIdle();
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyInterface')).toBe(1);
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.JobTransferred | NotifyFlags.FileTransferred);
    a.unsubscribe();
    await whenHubsIdle();
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.FileTransferred);
    b.unsubscribe();
    await whenHubsIdle();
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyInterface')).toBe(2); // attach, then NULL
    await job.cancel();
    await Promise.all([job.release(), other.release()]);
  });

  test('1,000 subscriptions in one tick make one SetNotifyFlags call', async () => {
    const job = await h.bits.createJob({ displayName: 'burst' });
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < 1000; i++) subscriptions.push(jobEvents$(job, i % 2 === 0 ? ['transferred'] : ['error', 'fileTransferred']).subscribe());
    await whenHubsIdle();
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyFlags')).toBe(1);
    expect(h.service.job(job.id)?.notifyFlags).toBe(NotifyFlags.JobTransferred | NotifyFlags.JobError | NotifyFlags.FileTransferred);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await whenHubsIdle();
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyFlags')).toBe(2); // and one to disable at detach
    await job.cancel();
    await job.release();
  });

  test('a job that finished before anyone listened is replayed at once, and only once', async () => {
    const job = await h.bits.createJob({ displayName: 'early', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    const events = firstValueFrom(jobEvents$(job, ['transferred']).pipe(take(1)));
    expect(await events).toEqual({ type: 'transferred', source: 'replay', jobId: job.id });
    const failed = await h.bits.createJob({ displayName: 'early-404', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    await failed.resume();
    await until(async () => (await failed.getState()) === 'error');
    const error = await firstValueFrom(error$(failed));
    expect(error).toMatchObject({ type: 'error', source: 'replay', transient: false, error: { code: 'BG_E_HTTP_ERROR_404', context: 'remoteFile' } });
    await job.complete();
    await failed.cancel();
    await Promise.all([job.release(), failed.release()]);
  });

  test('state$ and progress$ start with the current value, then follow every change', async () => {
    const job = await h.bits.createJob({ displayName: 'watch', files: [{ url: h.server.url('/slow/w?size=30000&chunk=3000&delay=5'), localPath: h.local('w.bin') }] });
    const states: JobState[] = [];
    const stateSub = state$(job, { pollInterval: 5 }).subscribe((s) => states.push(s));
    const first = await firstValueFrom(progress$(job));
    expect(first).toEqual({ bytesTotal: undefined, bytesTransferred: 0, filesTotal: 1, filesTransferred: 0 });
    await whenHubsIdle();
    expect(states).toEqual(['suspended']);
    const progress = firstValueFrom(progress$(job, { pollInterval: 5 }).pipe(filter((p) => p.filesTransferred === 1)));
    await job.resume();
    expect(await progress).toEqual({ bytesTotal: 30000, bytesTransferred: 30000, filesTotal: 1, filesTransferred: 1 });
    await until(() => states.at(-1) === 'transferred');
    expect(states[0]).toBe('suspended');
    expect(states).toContain('transferring');
    expect(new Set(states).size).toBe(states.length); // each change once
    stateSub.unsubscribe();
    await job.complete();
    await job.release();
  });

  test('a callback and a backstop poll racing to report the same transfer: exactly one transferred', async () => {
    const job = await h.bits.createJob({ displayName: 'once', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    const events: JobEvent[] = [];
    const subscription = jobEvents$(job, ['transferred'], { pollInterval: 1 }).subscribe((e) => events.push(e));
    const polling = state$(job, { pollInterval: 1 }).subscribe(); // a backstop racing the callback
    await whenHubsIdle();
    await job.resume();
    await until(() => events.length > 0);
    await h.service.settled();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await whenHubsIdle();
    expect(events).toHaveLength(1);
    subscription.unsubscribe();
    polling.unsubscribe();
    await job.complete();
    await job.release();
  });

  test('a subscriber that throws disturbs neither the other subscribers nor the hub', async () => {
    const job = await h.bits.createJob({ displayName: 'throws', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    const bad = transferred$(job).subscribe(() => {
      throw new Error('subscriber bug');
    });
    const good = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await job.resume();
    expect((await good).type).toBe('transferred');
    await until(() => unhandled.length === 1);
    expect(String(unhandled[0])).toMatch(/subscriber bug/);
    bad.unsubscribe();
    await whenHubsIdle();
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await job.complete();
    await job.release();
  });

  test('unsubscribing inside a handler: no crash, no further emission, the service still gets S_OK', async () => {
    const job = await h.bits.createJob({ displayName: 'inside', files: [{ url: h.server.url('/files/m?size=300000'), localPath: h.local('m.bin') }] });
    let seen = 0;
    const subscription: Subscription = modification$(job).subscribe(() => {
      seen++;
      subscription.unsubscribe();
    });
    await whenHubsIdle();
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    await h.service.settled();
    await whenHubsIdle();
    expect(seen).toBe(1);
    expect(h.service.notifier.stats.failures).toBe(0);
    await job.complete();
    await job.release();
  });

  test('detachDelay keeps the hub attached across a quick re-subscribe', async () => {
    const job = await h.bits.createJob({ displayName: 'churn' });
    transferred$(job, { detachDelay: 2000 }).subscribe().unsubscribe();
    await whenHubsIdle();
    const again = transferred$(job, { detachDelay: 2000 }).subscribe();
    await whenHubsIdle();
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyInterface')).toBe(1);
    again.unsubscribe();
    await until(() => h.service.notifyTarget(job.id) === undefined);
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyInterface')).toBe(2);
    await job.cancel();
    await job.release();
  });

  test('a job that already left the queue: each Observable ends at once, state$ saying how; nothing leaks', async () => {
    const job = await h.bits.createJob({ displayName: 'gone' });
    await job.cancel();
    // The loopback refuses SetNotifyFlags on it with BG_E_INVALID_STATE, as Wine does.
    expect(await lastValueFrom(transferred$(job).pipe(toArray()))).toEqual([]);
    expect(await lastValueFrom(state$(job).pipe(toArray()))).toEqual(['cancelled']);
    expect(await lastValueFrom(jobEvents$(job).pipe(toArray()))).toMatchObject([{ type: 'modification', source: 'replay', state: 'cancelled' }]);
    const waiting = firstValueFrom(jobEvents$(job).pipe(completeWhenTransferred(job)));
    await expect(waiting).rejects.toThrow(new JobLeftQueueError(job.id, 'cancelled'));
    await job.release();
  });

  test('another process cancels the job while we watch: state$ reports it, and every subscription completes', async () => {
    const job = await h.bits.createJob({ displayName: 'elsewhere', files: [{ url: h.server.url('/gate/e?size=40000&head=1000'), localPath: h.local('e.bin') }] });
    const states = lastValueFrom(state$(job, { pollInterval: 5 }).pipe(toArray()));
    const transferred = lastValueFrom(transferred$(job).pipe(toArray()));
    await job.resume();
    await until(() => (h.service.job(job.id)?.files[0]?.bytesTransferred ?? 0) > 0);
    h.service.job(job.id)!.cancel(); // not through our handle: the hub hears of it only by looking
    expect((await states).at(-1)).toBe('cancelled');
    expect(await transferred).toEqual([]);
    await job.release();
  });

  test("this process's own Cancel: modification subscribers hear 'cancelled' (source 'action'), then complete", async () => {
    const job = await h.bits.createJob({ displayName: 'own-cancel' });
    const events = lastValueFrom(jobEvents$(job, ['modification']).pipe(toArray()));
    await whenHubsIdle();
    await job.cancel();
    expect((await events).at(-1)).toMatchObject({ type: 'modification', source: 'action', state: 'cancelled' });
    await job.release();
  });

  test("this process's own Complete ends transferred$ at once, without a poll", async () => {
    const job = await h.bits.createJob({ displayName: 'own', files: [{ url: h.server.url('/files/o?size=1000'), localPath: h.local('o.bin') }] });
    const seen: JobEvent[] = [];
    let completed = false;
    transferred$(job).subscribe({ next: (event) => seen.push(event), complete: () => (completed = true) });
    await whenHubsIdle();
    await job.resume();
    await until(() => seen.length === 1);
    const getState = h.service.calls('IBackgroundCopyJob::GetState');
    await job.complete();
    expect(completed).toBe(true);
    expect(h.service.calls('IBackgroundCopyJob::GetState')).toBe(getState);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await job.release();
  });

  test('bad arguments are typed errors naming the field', () => {
    const fakeJob = {} as Parameters<typeof jobEvents$>[0];
    expect(() => jobEvents$(fakeJob, [])).toThrow(InvalidArgumentError);
    expect(() => jobEvents$(fakeJob, ['finished' as 'transferred'])).toThrow(/kinds: unknown event type 'finished'/);
    expect(() => state$(fakeJob, { pollInterval: 0 })).toThrow(/pollInterval/);
    expect(() => transferred$(fakeJob, { detachDelay: -1 })).toThrow(/detachDelay/);
  });
});

describe('the state backstop, where the service stays silent and lacks error counts (as Wine does)', () => {
  const h = useLoopback({ neverCalls: ['error', 'modification'], errorCountNotImplemented: true, keepsCallbackOfFinishedJobs: true });

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs()).toBe(0);
  });

  test('a fatal error is found by polling and reported once, with its HRESULT', async () => {
    const job = await h.bits.createJob({ displayName: 'silent-404', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    const errors = firstValueFrom(error$(job, { pollInterval: 5 }).pipe(take(1), toArray()));
    await whenHubsIdle();
    await job.resume();
    const [event] = await errors;
    expect(event).toMatchObject({ source: 'backstop', transient: false, error: { code: 'BG_E_HTTP_ERROR_404', hresult: 0x80190194 } });
    expect(h.service.notifier.stats.calls.error).toBe(0);
    expect(h.service.calls('IBackgroundCopyJob::GetProgress')).toBe(0); // error$ alone polls the state only
    await job.cancel();
    await job.release();
  });

  test('without error counts, each stay in ERROR is one error: a retry that fails again is reported again', async () => {
    const job = await h.bits.createJob({ displayName: 'twice', files: [{ url: h.server.url('/status/500'), localPath: h.local('x.bin') }] });
    await job.setNoProgressTimeout(0);
    const events: ErrorEvent[] = [];
    const subscription = error$(job, { pollInterval: 2 }).subscribe((e) => events.push(e));
    await whenHubsIdle();
    await job.resume();
    await until(() => events.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20)); // several polls of the same ERROR
    expect(events).toHaveLength(1);
    await job.resume();
    await until(() => events.length === 2);
    expect(events.map((e) => e.error.code)).toEqual(['BG_E_HTTP_ERROR_500', 'BG_E_HTTP_ERROR_500']);
    subscription.unsubscribe();
    await job.cancel();
    await job.release();
  });

  test('completing or cancelling a watched job clears our callback first, while the service still accepts it', async () => {
    const job = await h.bits.createJob({ displayName: 'clear-first', files: [{ url: h.server.url('/gate/c?size=100000&head=1000'), localPath: h.local('c.bin') }] });
    const states = state$(job, { pollInterval: 5 }).subscribe();
    await whenHubsIdle();
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred > 0);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    const before = liveCallbackObjects();
    await job.cancel();
    const log = h.service.callLog;
    expect(log.lastIndexOf('IBackgroundCopyJob::SetNotifyInterface')).toBeLessThan(log.lastIndexOf('IBackgroundCopyJob::Cancel'));
    expect(h.service.notifyTarget(job.id)).toBeUndefined(); // the service, which keeps callbacks of finished jobs, holds none
    states.unsubscribe();
    await whenHubsIdle();
    expect(liveCallbackObjects()).toBe(before - 1);
    await job.release();
  });

  test('a transient error (which never calls JobError) is surfaced by the backstop, marked transient', async () => {
    const job = await h.bits.createJob({
      displayName: 'transient',
      minimumRetryDelay: 3_600_000,
      files: [{ url: h.server.url('/flaky/t?fail=1&status=503&size=10'), localPath: h.local('t.bin') }],
    });
    const event = firstValueFrom(error$(job, { pollInterval: 5 }));
    await whenHubsIdle();
    await job.resume();
    expect(await event).toMatchObject({ type: 'error', source: 'backstop', transient: true, error: { code: 'BG_E_HTTP_ERROR_503' } });
    await job.cancel();
    await job.release();
  });
});

describe('delivery quirks the hub absorbs', () => {
  const h = useLoopback({ replayTerminal: 3, holdModificationsUntilTerminal: true });

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs()).toBe(0);
  });

  test('at-least-once JobTransferred, ahead of pending modifications: one transferred, modifications still arrive', async () => {
    const job = await h.bits.createJob({ displayName: 'quirks', files: [{ url: h.server.url('/files/q?size=200000'), localPath: h.local('q.bin') }] });
    const events: JobEvent[] = [];
    const subscription = jobEvents$(job, ['transferred', 'modification']).subscribe((e) => events.push(e));
    await whenHubsIdle();
    await job.resume();
    await until(() => events.some((e) => e.type === 'transferred'));
    await h.service.settled();
    await whenHubsIdle();
    expect(h.service.notifier.stats.calls.transferred).toBe(4);
    expect(events.filter((e) => e.type === 'transferred')).toHaveLength(1);
    expect(events[0]?.type).toBe('transferred');
    // The receiver answered every call; what it forwarded reaches the hub a moment later.
    await until(() => events.some((e) => e.type === 'modification' && e.source === 'callback'));
    expect(events.filter((e) => e.type === 'modification' && e.source === 'callback').length).toBeGreaterThan(0);
    subscription.unsubscribe();
    await job.complete();
    await job.release();
  });
});

describe('a Complete or Cancel that leaves the job in the queue', () => {
  // As recent Wine does for a Complete made while files are still missing.
  const h = useLoopback({ keepsPartlyCompletedJobs: true });

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a partial Complete that keeps the job: subscriptions stay, we register again, and the rest still arrives', async () => {
    const job = await h.bits.createJob({
      displayName: 'partial',
      files: [
        { url: h.server.url('/files/p1?size=1000'), localPath: h.local('p1.bin') },
        { url: h.server.url('/gate/p2?size=20000&head=1000'), localPath: h.local('p2.bin') },
      ],
    });
    const events: JobEvent[] = [];
    let ended = false;
    transferred$(job).subscribe({ next: (event) => events.push(event), complete: () => (ended = true) });
    await whenHubsIdle();
    await job.resume();
    await until(() => h.service.job(job.id)?.files[0]?.completed === true);
    expect(await job.complete()).toMatchObject({ code: 'BG_S_PARTIAL_COMPLETE', partial: true });
    expect(ended).toBe(false);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    expect(await readFile(h.local('p1.bin'))).toEqual(content(1000));
    h.server.open('p2');
    await until(() => events.length === 1); // the JobTransferred of the rest, through the new registration
    expect(events[0]).toMatchObject({ type: 'transferred', source: 'callback' });
    expect(await job.complete()).toMatchObject({ code: 'S_OK', partial: false });
    expect(ended).toBe(true);
    expect(await readFile(h.local('p2.bin'))).toEqual(content(20000));
    await job.release();
  });

  test('a partial Complete that keeps the job, then registering again fails: Complete still succeeds, the streams error instead of going deaf', async () => {
    const job = await h.bits.createJob({
      displayName: 'partial-refused',
      files: [
        { url: h.server.url('/files/q1?size=1000'), localPath: h.local('q1.bin') },
        { url: h.server.url('/gate/q2?size=20000&head=1000'), localPath: h.local('q2.bin') },
      ],
    });
    const ended = lastValueFrom(transferred$(job)).catch((error: unknown) => error);
    await whenHubsIdle();
    await job.resume();
    await until(() => h.service.job(job.id)?.files[0]?.completed === true);
    // The registration is cleared around our Complete; putting it back is refused.
    const original = BitsJob.prototype.setNotifyInterface;
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback !== null) return Promise.reject(new ComError(E_FAIL, 'IBackgroundCopyJob', 'SetNotifyInterface'));
      return original.call(this, callback);
    });
    expect(await job.complete()).toMatchObject({ code: 'BG_S_PARTIAL_COMPLETE', partial: true });
    expect(await ended).toMatchObject({ name: 'ComError', code: 'E_FAIL', method: 'SetNotifyInterface' });
    vi.restoreAllMocks();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('a Cancel the service refuses: the caller gets the named error, subscriptions stay and still hear the job', async () => {
    const job = await h.bits.createJob({ displayName: 'denied', files: [{ url: h.server.url('/files/d?size=1000'), localPath: h.local('d.bin') }] });
    const events: JobEvent[] = [];
    const subscription = transferred$(job).subscribe((event) => events.push(event));
    await whenHubsIdle();
    h.service.faults.cancelDenied = true;
    await expect(job.cancel()).rejects.toMatchObject({ name: 'ComError', code: 'E_ACCESSDENIED', method: 'Cancel' });
    h.service.faults.cancelDenied = false;
    expect(subscription.closed).toBe(false);
    expect(h.service.notifyTarget(job.id)).toBeDefined();
    await job.resume();
    await until(() => events.length === 1);
    subscription.unsubscribe();
    await job.complete();
    await job.release();
  });
});

describe('process lifetime', () => {
  test('a script waiting on a subscription stays alive for it, then exits by itself', async () => {
    const script = path.join(import.meta.dirname, 'support', 'child-download.ts');
    const tsx = path.join(import.meta.dirname, '..', 'node_modules', '.bin', 'tsx');
    const { stdout, stderr } = await promisify(execFile)(tsx, [script], { timeout: 60_000 });
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toEqual(['subscribed', 'transferred (callback)', 'completed', 'clean']);
  });
});
