import { firstValueFrom, type Subscription } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { BitsJob } from '../src/com/job.js';
import { error$, fileTransferred$, modification$, NotifyFlags, progress$, state$, transferred$, type ErrorEvent, type JobEvent } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { until, useLoopback } from './support/harness.js';

/** Issue G: the hub's weak spots a mutation run found, each on the loopback service. */
describe('hub', () => {
  const h = useLoopback();
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  const setFlagsCalls = () => h.service.calls('IBackgroundCopyJob::SetNotifyFlags');

  test('a subscription that wants the same flags sets them once, not on every reconcile', async () => {
    const job = await h.bits.createJob({ displayName: 'flags-once' });
    const before = setFlagsCalls();
    subscriptions.push(error$(job).subscribe());
    await whenHubsIdle();
    expect(setFlagsCalls() - before).toBe(1);
    const second = error$(job).subscribe();
    await whenHubsIdle();
    second.unsubscribe();
    await whenHubsIdle();
    expect(setFlagsCalls() - before).toBe(1);
    // A new interest does change the flags: once more, to the union.
    subscriptions.push(transferred$(job).subscribe());
    await whenHubsIdle();
    expect(setFlagsCalls() - before).toBe(2);
    expect(await job.getNotifyFlags()).toBe(NotifyFlags.JobError | NotifyFlags.JobTransferred);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test.each([
    ['state$', state$],
    ['progress$', progress$],
    ['modification$', modification$],
  ] as const)('%s asks the service for JobModification', async (_name, observe) => {
    const job = await h.bits.createJob({ displayName: 'modification-flag' });
    const subscription = (observe as (job: BitsJob) => { subscribe(): Subscription })(job).subscribe();
    await whenHubsIdle();
    expect(await job.getNotifyFlags()).toBe(NotifyFlags.JobModification);
    subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('the poll stops when the last polled subscription leaves, though the hub stays attached', async () => {
    const job = await h.bits.createJob({ displayName: 'poll-stops' });
    const looks = vi.spyOn(BitsJob.prototype, 'getState');
    // Only the timers: the hub's poll is a setTimeout, and time moves only when the test says so.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const states: string[] = [];
      const polled = state$(job, { pollInterval: 1000 }).subscribe((state) => states.push(state));
      subscriptions.push(transferred$(job).subscribe());
      await whenHubsIdle();
      const attachedAt = looks.mock.calls.length;
      vi.advanceTimersByTime(1000);
      await whenHubsIdle();
      expect(looks.mock.calls.length, 'one poll').toBe(attachedAt + 1);
      // A poll is due again (its timer is pending) when the last polled subscription leaves.
      polled.unsubscribe();
      await whenHubsIdle();
      const stoppedAt = looks.mock.calls.length;
      for (let i = 0; i < 5; i++) {
        vi.advanceTimersByTime(1000);
        await whenHubsIdle();
      }
      expect(looks.mock.calls.length, 'GetState after the last polled subscription left').toBe(stoppedAt);
      expect(states).toEqual(['suspended']);
    } finally {
      vi.useRealTimers();
    }
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });

  test('a late subscriber on an attached hub hears the transfer that happened, once, as a replay', async () => {
    const job = await h.bits.createJob({ displayName: 'late', files: [{ url: h.server.url('/files/l?size=100'), localPath: h.local('l.bin') }] });
    const first: JobEvent[] = [];
    subscriptions.push(transferred$(job).subscribe((event) => first.push(event)));
    await whenHubsIdle();
    await job.resume();
    await until(() => first.length === 1);
    await whenHubsIdle();
    const late: JobEvent[] = [];
    subscriptions.push(transferred$(job).subscribe((event) => late.push(event)));
    // Told at once, before the hub looks again.
    expect(late).toEqual([{ type: 'transferred', jobId: job.id, source: 'replay' }]);
    await whenHubsIdle();
    expect(late).toHaveLength(1);
    expect(first).toHaveLength(1);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await job.complete();
    await job.release();
  });

  test('a late subscriber on a hub attached for something else looks at the job: the transfer is replayed', async () => {
    const job = await h.bits.createJob({ displayName: 'late2', files: [{ url: h.server.url('/files/m?size=100'), localPath: h.local('m.bin') }] });
    const file = firstValueFrom(fileTransferred$(job));
    subscriptions.push(fileTransferred$(job).subscribe());
    await whenHubsIdle();
    await job.resume();
    await file;
    await until(() => h.service.job(job.id)?.state === 6 /* TRANSFERRED */);
    await whenHubsIdle();
    // Nobody asked for JobTransferred and transferred$ is not polled: only the look on subscribing can tell.
    const late: JobEvent[] = [];
    subscriptions.push(transferred$(job).subscribe((event) => late.push(event)));
    await whenHubsIdle();
    expect(late).toEqual([{ type: 'transferred', jobId: job.id, source: 'replay' }]);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await job.complete();
    await job.release();
  });
});

describe('hub, with JobError delivered at least once', () => {
  const h = useLoopback({ replayTerminal: 3 });
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('JobError delivered four times (at least once) is one error event, not four', async () => {
    const job = await h.bits.createJob({ displayName: 'error-once', files: [{ url: h.server.url('/status/404'), localPath: h.local('e.bin') }] });
    const errors: ErrorEvent[] = [];
    subscriptions.push(error$(job).subscribe((event) => errors.push(event)));
    await whenHubsIdle();
    await job.resume();
    await until(() => errors.length === 1);
    await h.service.settled();
    await whenHubsIdle();
    expect(h.service.notifier.stats.calls.error, 'JobError delivered at least once').toBe(4);
    expect(errors.map((e) => [e.error.code, e.transient])).toEqual([['BG_E_HTTP_ERROR_404', false]]);
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await whenHubsIdle();
    await job.cancel();
    await job.release();
  });
});
