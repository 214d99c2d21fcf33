import { firstValueFrom, lastValueFrom, toArray, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { connect, registrationChanges$, ServiceUnavailableError, state$, transferred$, type RegistrationChange } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { registerAnother, until, useLoopback } from './support/harness.js';

/**
 * The registration is a lease (issue H): BITS keeps one notify interface per job (last writer wins)
 * and may have the job finished by another process; `transferred$` alone never polls, so without the
 * lease it would wait for ever in each case.
 */
describe('the lease on a job’s registration', () => {
  const h = useLoopback();
  const changes: RegistrationChange[] = [];
  let watching: Subscription;
  const lease = { leaseInterval: 5, pollInterval: 5 };

  beforeEach(() => {
    changes.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    watching.unsubscribe();
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  const takeOver = (id: string) => registerAnother(h.bits, id);

  test('transferred$ alone, displaced by another process: noticed, reported once, and the transfer still heard by polling', async () => {
    const warnings: string[] = [];
    vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => void warnings.push(String(warning)));
    const job = await h.bits.createJob({ displayName: 'displaced', files: [{ url: h.server.url('/gate/d?size=2000&head=100'), localPath: h.local('d.bin') }] });
    const heard = firstValueFrom(transferred$(job, lease));
    await whenHubsIdle();
    const other = await takeOver(job.id);
    await until(() => changes.some((change) => change.jobId === job.id && change.state === 'displaced'));
    await job.resume();
    h.server.open('d');
    expect(await heard).toMatchObject({ type: 'transferred', source: 'backstop' });
    await other.recorder.waitFor('transferred'); // the other process is not deafened either
    expect(warnings.filter((w) => w.includes('another process took the notify interface'))).toHaveLength(1);
    await whenHubsIdle();
    // Leaving, we left their registration alone.
    expect(h.service.notifyTarget(job.id)?.address).toBe(other.recorder.callback.address);
    await other.done();
    await job.complete();
    await job.release();
  });

  test("onDisplaced: 'reclaim' takes the registration back and hears the transfer through the callback", async () => {
    const job = await h.bits.createJob({ displayName: 'reclaim', files: [{ url: h.server.url('/gate/r?size=2000&head=100'), localPath: h.local('r.bin') }] });
    const heard = firstValueFrom(transferred$(job, { ...lease, onDisplaced: 'reclaim' }));
    await whenHubsIdle();
    const other = await takeOver(job.id);
    await until(() => h.service.notifyTarget(job.id)?.address !== other.recorder.callback.address);
    await job.resume();
    h.server.open('r');
    expect(await heard).toMatchObject({ type: 'transferred' });
    expect(changes.filter((change) => change.jobId === job.id).map((change) => change.state)).not.toContain('displaced');
    await other.done();
    await job.complete();
    await job.release();
  });

  test('a registration someone cleared (nobody holds it) is taken again, not fought over', async () => {
    const job = await h.bits.createJob({ displayName: 'cleared', files: [{ url: h.server.url('/files/c?size=1000'), localPath: h.local('c.bin') }] });
    const heard = firstValueFrom(transferred$(job, lease));
    await whenHubsIdle();
    const other = await h.bits.getJob(job.id);
    await other.setNotifyInterface(null); // another library's detach, say
    await until(() => h.service.notifyTarget(job.id) !== undefined);
    await job.resume();
    // Through the callback or a renewal's look, whichever comes first: the point is the registration is back.
    expect(await heard).toMatchObject({ type: 'transferred' });
    await other.release();
    await job.complete();
    await job.release();
  });

  test('transferred$ alone on a job another process cancels: the stream ends at a renewal', async () => {
    const job = await h.bits.createJob({ displayName: 'cancelled elsewhere', files: [{ url: h.server.url('/files/e?size=1000'), localPath: h.local('e.bin') }] });
    const events = lastValueFrom(transferred$(job, { leaseInterval: 5 }).pipe(toArray()));
    await whenHubsIdle();
    h.service.job(job.id)!.cancel(); // not through our handle, and no notification tells of it
    expect(await events).toEqual([]);
    await job.release();
  });

  test('a JobTransferred the service never sent is found at a renewal', async () => {
    const job = await h.bits.createJob({ displayName: 'lost', files: [{ url: h.server.url('/files/l?size=1000'), localPath: h.local('l.bin') }] });
    const heard = firstValueFrom(transferred$(job, { leaseInterval: 5 }));
    await whenHubsIdle();
    const model = h.service.job(job.id)!;
    model.notifyFlags = 0; // as if the notification were lost: nothing will be called
    await job.resume();
    expect(await heard).toMatchObject({ type: 'transferred', source: 'backstop' });
    await job.complete();
    await job.release();
  });

  test('no calls into the service for the lease when nothing is attached, and one per renewal when something is', async () => {
    const job = await h.bits.createJob({ displayName: 'rate' });
    const before = h.service.totalCalls();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(h.service.totalCalls()).toBe(before);
    const subscription = transferred$(job, { leaseInterval: 10 }).subscribe();
    await whenHubsIdle();
    const attached = h.service.totalCalls();
    const state = () => h.service.calls('IBackgroundCopyJob::GetState');
    const notify = () => h.service.calls('IBackgroundCopyJob::GetNotifyInterface');
    const [states, notifies] = [state(), notify()];
    await until(() => state() - states >= 2 && notify() - notifies >= 2);
    // Each renewal is one call, alternating between the two questions.
    const renewals = h.service.totalCalls() - attached;
    expect(Math.abs(state() - states - (notify() - notifies))).toBeLessThanOrEqual(1);
    expect(renewals).toBe(state() - states + (notify() - notifies));
    subscription.unsubscribe();
    await job.cancel();
    await job.release();
  });
});

/**
 * The service goes away (BITS restarts, crashes, or is stopped): every call on the old connection
 * fails with RPC_S_SERVER_UNAVAILABLE, the notify interfaces are forgotten, and COM keeps the dead
 * service's references on our callback until we disconnect them.
 */
describe('when the service goes away', () => {
  const h = useLoopback();
  const changes: RegistrationChange[] = [];
  let watching: Subscription;

  beforeEach(() => {
    changes.length = 0;
    watching = registrationChanges$.subscribe((change) => changes.push(change));
  });

  afterEach(async () => {
    watching.unsubscribe();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a restart that keeps the job: transferred$ alone reconnects, registers again and still hears the transfer', async () => {
    const job = await h.bits.createJob({ displayName: 'restart', files: [{ url: h.server.url('/gate/s?size=2000&head=100'), localPath: h.local('s.bin') }] });
    const heard = firstValueFrom(transferred$(job, { leaseInterval: 5 }));
    await whenHubsIdle();
    await job.resume();
    h.service.restart();
    // The old registration is gone; the reconnected hub registers a callback of its own again.
    await until(() => h.service.notifyTarget(job.id) !== undefined);
    h.server.open('s');
    expect(await heard).toMatchObject({ type: 'transferred' });
    expect(changes.map((change) => change.state)).toEqual(expect.arrayContaining(['reconnecting', 'attaching', 'attached']));
    // Our old handle is a proxy of the dead connection: the app reopens the job to act on it.
    await expect(job.getState()).rejects.toMatchObject({ code: 'RPC_S_SERVER_UNAVAILABLE' });
    const bits = await connect({ runtime: h.service.runtime });
    const reopened = await bits.getJob(job.id);
    await reopened.complete();
    await reopened.release();
    await bits.release();
    await job.release();
  });

  test('a restart that loses the job (as Wine): the streams end as for a job that left the queue', async () => {
    const job = await h.bits.createJob({ displayName: 'lost', files: [{ url: h.server.url('/gate/l?size=2000&head=100'), localPath: h.local('l.bin') }] });
    const events = lastValueFrom(transferred$(job, { leaseInterval: 5 }).pipe(toArray()));
    await whenHubsIdle();
    h.service.restart({ keepsJobs: false });
    expect(await events).toEqual([]);
    expect(changes.map((change) => change.state)).toEqual(expect.arrayContaining(['reconnecting', 'left']));
    await job.release();
  });

  test('a service that stays away: the streams error with ServiceUnavailableError after reconnectTimeout, never hang', async () => {
    const job = await h.bits.createJob({ displayName: 'gone' });
    const ended = lastValueFrom(transferred$(job, { leaseInterval: 5, reconnectTimeout: 50 })).catch((error: unknown) => error);
    await whenHubsIdle();
    h.service.stop();
    const error = await ended;
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ jobId: job.id, hresult: 0x800706ba });
    h.service.start();
    await job.release();
  });

  test('a failure of any call, not only the lease, starts the reconnection (a poll here)', async () => {
    const job = await h.bits.createJob({ displayName: 'poll', files: [{ url: h.server.url('/gate/p?size=2000&head=100'), localPath: h.local('p.bin') }] });
    const states = lastValueFrom(state$(job, { pollInterval: 5 }).pipe(toArray()));
    await whenHubsIdle();
    await job.resume();
    h.service.restart();
    await until(() => changes.some((change) => change.state === 'reconnecting') && h.service.notifyTarget(job.id) !== undefined);
    h.server.open('p');
    const bits = await connect({ runtime: h.service.runtime });
    const reopened = await bits.getJob(job.id);
    await until(async () => (await reopened.getState()) === 'transferred');
    await reopened.complete();
    expect((await states).at(-1)).toBe('acknowledged');
    await reopened.release();
    await bits.release();
    await job.release();
  });
});
