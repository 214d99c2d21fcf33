import { firstValueFrom, lastValueFrom, takeWhile, toArray } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ComError } from '../src/com/errors.js';
import { BitsJob } from '../src/com/job.js';
import { BG_E_INVALID_STATE } from '../src/com/hresult.js';
import { InvalidArgumentError, NotifyFlags, state$, transferred$ } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { registerAnother, useLoopback } from './support/harness.js';

/**
 * onDisplaced: 'observe' (for tools such as `rx-bits top`): watch a job without ever taking its
 * notify interface from the application that registered it. BITS keeps one per job, and the last
 * writer wins: a monitor that registered would deafen that application.
 */
describe("onDisplaced: 'observe'", () => {
  const h = useLoopback();
  const fast = { pollInterval: 5, leaseInterval: 5 };

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  /** Another application registered its callback and flags on the job first. */
  const registeredByAnother = (id: string) => registerAnother(h.bits, id);

  test("a job another application registered: its callback and flags stay, the observer still follows the job by polling", async () => {
    const job = await h.bits.createJob({ displayName: 'watched', files: [{ url: h.server.url('/files/o?size=20000'), localPath: h.local('o.bin') }] });
    const app = await registeredByAnother(job.id);
    const setInterface = h.service.calls('IBackgroundCopyJob::SetNotifyInterface');
    const setFlags = h.service.calls('IBackgroundCopyJob::SetNotifyFlags');
    const states = lastValueFrom(state$(job, { ...fast, onDisplaced: 'observe' }).pipe(takeWhile((state) => state !== 'transferred', true), toArray()));
    await job.resume();
    expect((await states).at(-1)).toBe('transferred');
    await app.recorder.waitFor('transferred');
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyInterface') - setInterface, 'the observer registered').toBe(0);
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyFlags') - setFlags, 'the observer changed the flags').toBe(0);
    await whenHubsIdle();
    expect(await job.getNotifyFlags()).toBe(NotifyFlags.JobTransferred);
    expect(await job.hasNotifyInterface()).toBe(true);
    await app.done();
    await job.complete();
    await job.release();
  });

  test('a job nobody registered: the observer registers as usual, and clears it when it leaves', async () => {
    const job = await h.bits.createJob({ displayName: 'free', files: [{ url: h.server.url('/files/f?size=1000'), localPath: h.local('f.bin') }] });
    const heard = firstValueFrom(transferred$(job, { ...fast, onDisplaced: 'observe' }));
    await whenHubsIdle();
    expect(await job.hasNotifyInterface()).toBe(true);
    await job.resume();
    await heard;
    await whenHubsIdle();
    expect(await job.hasNotifyInterface()).toBe(false);
    await job.complete();
    await job.release();
  });

  test("an application's own subscription in the same process registers, whatever an observer beside it asks", async () => {
    const job = await h.bits.createJob({ displayName: 'mixed' });
    const app = await registeredByAnother(job.id);
    const observer = state$(job, { ...fast, onDisplaced: 'observe' }).subscribe();
    const own = transferred$(job, fast).subscribe();
    await whenHubsIdle();
    // The application's subscription took the registration, as without an observer.
    expect(await job.notifyInterface()).not.toBe(app.recorder.callback.address);
    expect(await job.hasNotifyInterface()).toBe(true);
    observer.unsubscribe();
    own.unsubscribe();
    await whenHubsIdle();
    await app.done();
    await job.cancel();
    await job.release();
  });

  test('a job that left the queue during the look ends the observer as a job that left, without registering', async () => {
    const job = await h.bits.createJob({ displayName: 'gone' });
    h.service.job(job.id)!.cancel();
    // A service may answer BG_E_INVALID_STATE for a job that left, on any call (the loopback, as Wine, answers this one).
    // On the prototype: the hub looks through a reference of its own.
    vi.spyOn(BitsJob.prototype, 'notifyInterface').mockRejectedValue(new ComError(BG_E_INVALID_STATE, 'IBackgroundCopyJob', 'GetNotifyInterface'));
    const setFlags = h.service.calls('IBackgroundCopyJob::SetNotifyFlags');
    const states = await lastValueFrom(state$(job, { ...fast, onDisplaced: 'observe' }).pipe(toArray()));
    expect(states).toEqual(['cancelled']);
    expect(h.service.calls('IBackgroundCopyJob::SetNotifyFlags') - setFlags, 'flags set on a job found gone').toBe(0);
    expect(h.service.notifyTarget(job.id)).toBeUndefined();
    vi.restoreAllMocks();
    await job.release();
  });

  test('an unknown policy is refused, naming the option', () => {
    expect(() => state$({} as never, { onDisplaced: 'steal' as never })).toThrow(InvalidArgumentError);
  });
});
