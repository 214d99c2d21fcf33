import { firstValueFrom, lastValueFrom, toArray, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { CallbackObject } from '../src/com/callback-object.js';
import {
  fileTransferred$,
  modification$,
  NotifyFlags,
  registrationChanges$,
  ServiceUnavailableError,
  transferred$,
  type ModificationEvent,
  type RegistrationChange,
} from '../src/index.js';
import { liveHubs, sameProgress, whenHubsIdle } from '../src/observables/hub.js';
import { Recorder, registerAnother, until, useLoopback, type Harness } from './support/harness.js';

/**
 * Issue G: the hub's backstop poll, lease renewals, displacement and reconnection back-off, each
 * as something the service or a subscriber can see. Where time is the subject the hub's timers
 * (and, where it measures time, Date) are fake; waiting is always for a condition.
 */

/** Waits for a condition on the event loop's check phase: unlike `until`, it needs no timer (timers may be fake). */
async function settle(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** Another process registers its own callback on the job (last writer wins). */
const takeOver = (h: Harness, id: string) => registerAnother(h.bits, id);

describe('the lease and the backstop poll', () => {
  const h = useLoopback();
  const changes: RegistrationChange[] = [];
  let watching: Subscription;
  const warnings: Array<{ message: string; options: unknown }> = [];

  beforeEach(() => {
    changes.length = 0;
    warnings.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
    vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error, options?: unknown) => {
      warnings.push({ message: String(warning), options });
    });
  });

  afterEach(async () => {
    vi.useRealTimers();
    watching.unsubscribe();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  const calls = (method: string) => h.service.calls(`IBackgroundCopyJob::${method}`);
  const statesOf = (id: string) => changes.filter((change) => change.jobId === id).map((change) => change.state);

  // First in the file: the warning is given once per process, and this is the process's first displacement.
  test('the first displacement warns once (RXBITS_DISPLACED, naming the job); later ones are told on registrationChanges$ only', async () => {
    const lease = { leaseInterval: 5 };
    const first = await h.bits.createJob({ displayName: 'displaced-1' });
    const second = await h.bits.createJob({ displayName: 'displaced-2' });
    const subscriptions = [transferred$(first, lease).subscribe(), transferred$(second, lease).subscribe()];
    await whenHubsIdle();
    const others = [await takeOver(h, first.id)];
    await until(() => statesOf(first.id).includes('displaced'));
    others.push(await takeOver(h, second.id));
    await until(() => statesOf(second.id).includes('displaced'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain(`another process took the notify interface of job ${first.id}`);
    // What to do about it, and where the next ones are told.
    expect(warnings[0]!.message).toContain("pass { onDisplaced: 'reclaim' } to take it back");
    expect(warnings[0]!.message).toContain('registrationChanges$');
    expect(warnings[0]!.options).toEqual({ code: 'RXBITS_DISPLACED' });
    // Displaced once each: a hub already displaced is not displaced again at later renewals.
    expect(statesOf(first.id).filter((state) => state === 'displaced')).toHaveLength(1);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await whenHubsIdle();
    for (const other of others) await other.done();
    for (const job of [first, second]) {
      await job.cancel();
      await job.release();
    }
  });

  test('renewals that find the registration still ours change nothing: no displacement, no registering again', async () => {
    const job = await h.bits.createJob({ displayName: 'still-ours' });
    const subscription = transferred$(job, { leaseInterval: 5 }).subscribe();
    await whenHubsIdle();
    const [asked, registered, flagged] = [calls('GetNotifyInterface'), calls('SetNotifyInterface'), calls('SetNotifyFlags')];
    await until(() => calls('GetNotifyInterface') - asked >= 3);
    await whenHubsIdle();
    expect(calls('SetNotifyInterface')).toBe(registered);
    expect(calls('SetNotifyFlags')).toBe(flagged);
    expect(statesOf(job.id)).toEqual(['attaching', 'attached']);
    expect(warnings).toEqual([]);
    subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('renewals alternate, starting with whether the job is still queued, then whether the interface is still ours', async () => {
    const job = await h.bits.createJob({ displayName: 'rounds' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const subscription = transferred$(job, { leaseInterval: 1000 }).subscribe();
    await whenHubsIdle();
    const asked = () => [calls('GetState'), calls('GetNotifyInterface')];
    const [states, interfaces] = asked();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(asked()).toEqual([states! + 1, interfaces]);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(asked()).toEqual([states! + 1, interfaces! + 1]);
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(asked()).toEqual([states! + 2, interfaces! + 1]);
    subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('another process that puts our interface back: the hub is attached again with its own flags, without registering anew', async () => {
    const job = await h.bits.createJob({ displayName: 'given-back', files: [{ url: h.server.url('/files/g?size=1000'), localPath: h.local('g.bin') }] });
    const lease = { leaseInterval: 5 };
    const file = firstValueFrom(fileTransferred$(job, lease));
    const subscription = transferred$(job, lease).subscribe();
    await whenHubsIdle();
    // A well-behaved other library keeps the interface it found, and restores it when it leaves; the
    // flags it set for itself it leaves behind.
    const other = await h.bits.getJob(job.id);
    const found = await other.notifyInterface();
    expect(found).toBeDefined();
    const recorder = new Recorder();
    await other.setNotifyFlags(NotifyFlags.JobTransferred);
    await other.setNotifyInterface(recorder.callback);
    await until(() => statesOf(job.id).includes('displaced'));
    const setInterface = calls('SetNotifyInterface');
    await other.setNotifyInterface({ address: found } as unknown as CallbackObject);
    await until(() => changes.some((change) => change.jobId === job.id && change.state === 'attached' && change.previous === 'displaced'));
    expect(calls('SetNotifyInterface'), 'the hub did not register again: it is ours already').toBe(setInterface + 1);
    expect(h.service.notifyTarget(job.id)?.address).toBe(found);
    expect(await other.getNotifyFlags(), 'our flags again').toBe(NotifyFlags.JobTransferred | NotifyFlags.FileTransferred);
    // FileTransferred is heard through the callback alone (it is never polled for): the hub is listening again.
    await job.resume();
    expect(await file).toMatchObject({ type: 'fileTransferred', source: 'callback' });
    subscription.unsubscribe();
    await whenHubsIdle();
    // Leaving, the hub clears what is its own again.
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    await other.release();
    await recorder.dispose();
    await job.complete();
    await job.release();
  });

  test('the backstop poll is put off while modification callbacks come, until a full interval after the last', async () => {
    const job = await h.bits.createJob({ displayName: 'put-off' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const events: ModificationEvent[] = [];
    const subscriptions = [
      modification$(job, { pollInterval: 1000 }).subscribe((event) => events.push(event)),
      // Never polled while attached: its shorter interval is not the one that counts.
      transferred$(job, { pollInterval: 100 }).subscribe(),
    ];
    await whenHubsIdle();
    const callbacks = () => events.filter((event) => event.source === 'callback').length;
    const touch = async (name: string): Promise<void> => {
      const before = callbacks();
      await job.setDisplayName(name);
      await settle(() => callbacks() > before);
      await whenHubsIdle();
    };
    const looks = () => calls('GetState');
    // A callback as the poll is armed: a full interval later the poll is due all the same.
    await touch('a');
    let seen = looks();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(looks(), 'polled one interval after the last callback').toBe(seen + 1);
    // A callback half-way: the poll due then is put off by one interval.
    vi.advanceTimersByTime(500);
    await touch('b');
    seen = looks();
    vi.advanceTimersByTime(500);
    await whenHubsIdle();
    expect(looks(), 'put off: a callback came 500 ms ago').toBe(seen);
    vi.advanceTimersByTime(999);
    await whenHubsIdle();
    expect(looks()).toBe(seen);
    vi.advanceTimersByTime(1);
    await whenHubsIdle();
    expect(looks(), 'polled again once the put-off interval ran out').toBe(seen + 1);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('displaced, every subscription is polled for: the shortest interval of all decides whether a poll is put off', async () => {
    const job = await h.bits.createJob({ displayName: 'displaced-poll' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const events: ModificationEvent[] = [];
    const subscriptions = [
      modification$(job, { pollInterval: 1000, leaseInterval: 300 }).subscribe((event) => events.push(event)),
      transferred$(job, { pollInterval: 100, leaseInterval: 300 }).subscribe(),
    ];
    await whenHubsIdle();
    // The hub's timers are re-armed by the work they start: time moves one due timer at a time.
    // t = 300: the first renewal (whether the job is queued).
    vi.advanceTimersByTime(300);
    await whenHubsIdle();
    // t = 450: a modification callback, then another process takes the registration.
    vi.advanceTimersByTime(150);
    await whenHubsIdle();
    const before = events.filter((event) => event.source === 'callback').length;
    await job.setDisplayName('touched');
    await settle(() => events.filter((event) => event.source === 'callback').length > before);
    await whenHubsIdle();
    const other = await takeOver(h, job.id);
    // t = 600: the renewal that notices.
    vi.advanceTimersByTime(150);
    await whenHubsIdle();
    expect(statesOf(job.id)).toContain('displaced');
    // t = 999, then 1000: the poll armed while attached comes due. The callback was 550 ms ago, longer
    // than the 100 ms that now counts: the job is looked at.
    vi.advanceTimersByTime(399);
    await whenHubsIdle();
    const seen = calls('GetState');
    vi.advanceTimersByTime(1);
    await whenHubsIdle();
    expect(calls('GetState')).toBe(seen + 1);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await whenHubsIdle();
    await other.done();
    await job.cancel();
    await job.release();
  });
});

describe('reconnecting', () => {
  const h = useLoopback();

  afterEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a service that stays away is tried again after 50 ms, doubling to at most 5 s, and for the last time at reconnectTimeout', async () => {
    const job = await h.bits.createJob({ displayName: 'back-off' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const attempts: number[] = [];
    const runtime = h.service.runtime;
    const createInstance = runtime.createInstance.bind(runtime);
    vi.spyOn(runtime, 'createInstance').mockImplementation((clsid, iid) => {
      attempts.push(Date.now());
      return createInstance(clsid, iid);
    });
    let ended: unknown;
    void lastValueFrom(transferred$(job, { leaseInterval: 1000, reconnectTimeout: 20_000 })).catch((error: unknown) => (ended = error));
    await whenHubsIdle();
    h.service.stop();
    // The renewal finds the service gone: the first attempt at once, the next ones on the back-off's timer.
    vi.advanceTimersByTime(1000);
    for (let step = 0; step < 60 && ended === undefined; step++) {
      await whenHubsIdle();
      if (ended === undefined) vi.advanceTimersToNextTimer();
    }
    const start = attempts[0]!;
    expect(attempts.map((at) => at - start)).toEqual([0, 50, 150, 350, 750, 1550, 3150, 6350, 11_350, 16_350, 20_000]);
    expect(ended).toBeInstanceOf(ServiceUnavailableError);
    expect(ended).toMatchObject({ jobId: job.id, waited: 20_000 });
    h.service.start();
    await job.release();
  });

  test('after a reconnection the lease runs again: a job cancelled elsewhere then still ends transferred$', async () => {
    const job = await h.bits.createJob({ displayName: 'lease-again' });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let done = false;
    const events = lastValueFrom(transferred$(job, { leaseInterval: 1000 }).pipe(toArray())).finally(() => (done = true));
    await whenHubsIdle();
    h.service.restart();
    // The renewal (whether the job is queued) finds the service gone; the hub reconnects at once.
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    await settle(() => h.service.notifyTarget(job.id) !== undefined);
    await whenHubsIdle();
    h.service.job(job.id)!.cancel(); // not through our handle, and no notification tells of it
    // The next renewal asks whether the interface is ours, the one after whether the job is queued.
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    vi.advanceTimersByTime(1000);
    await whenHubsIdle();
    expect(done).toBe(true);
    expect(await events).toEqual([]);
    await job.release();
  });
});

describe('sameProgress', () => {
  const reading = { bytesTotal: 100, bytesTransferred: 50, filesTotal: 2, filesTransferred: 1 };

  test('the same four counts are the same progress; no reading is never the same', () => {
    expect(sameProgress(reading, { ...reading })).toBe(true);
    expect(sameProgress(undefined, reading)).toBe(false);
    expect(sameProgress(reading, undefined)).toBe(false);
    expect(sameProgress(undefined, undefined)).toBe(false);
  });

  test.each(['bytesTotal', 'bytesTransferred', 'filesTotal', 'filesTransferred'] as const)('a different %s is a different progress', (count) => {
    expect(sameProgress(reading, { ...reading, [count]: reading[count] + 1 })).toBe(false);
  });
});
