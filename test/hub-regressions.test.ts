import { firstValueFrom, lastValueFrom, retry, toArray, type Subscription } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { BitsJob } from '../src/com/job.js';
import {
  BitsJobError,
  error$,
  fileTransferred$,
  jobEvents$,
  NotifyFlags,
  retryOnJobError,
  state$,
  transferred$,
  type JobEvent,
} from '../src/index.js';
import { ComError } from '../src/com/errors.js';
import { E_FAIL } from '../src/com/hresult.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { Recorder, until, useLoopback } from './support/harness.js';

/**
 * The ways a review found for a stream to go silent while its job moved on (issue G), each on the
 * loopback service, each failing on the hub as it was before.
 */
describe('streams that must not go deaf', () => {
  const h = useLoopback();

  afterEach(async () => {
    vi.restoreAllMocks();
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('a second failure with the same error count is a new error: retryOnJobError retries it, then gives up', async () => {
    const job = await h.bits.createJob({ displayName: 'count', files: [{ url: h.server.url('/status/404'), localPath: h.local('c.bin') }] });
    // Microsoft: GetErrorCount "may not accurately reflect" moves into the error states. Here it never moves.
    h.service.faults.freezeErrorCount = true;
    const resumes = () => h.service.calls('IBackgroundCopyJob::Resume');
    const ended = lastValueFrom(
      jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnJobError(job, { count: 2, delay: 0, shouldRetry: () => true })),
    ).catch((error: unknown) => error);
    await job.resume();
    const error = await ended;
    expect(error).toBeInstanceOf(BitsJobError);
    expect((error as BitsJobError).attempts.map((attempt) => attempt.code)).toEqual(['BG_E_HTTP_ERROR_404', 'BG_E_HTTP_ERROR_404', 'BG_E_HTTP_ERROR_404']);
    expect(resumes()).toBe(3);
    await job.cancel();
    await job.release();
  });

  test('a transferred$ that joins a hub attached for fileTransferred$ hears the transfer that already happened', async () => {
    const job = await h.bits.createJob({ displayName: 'late', files: [{ url: h.server.url('/files/l?size=1000'), localPath: h.local('l.bin') }] });
    const file = firstValueFrom(fileTransferred$(job));
    const watching = fileTransferred$(job).subscribe();
    await whenHubsIdle();
    await job.resume();
    await file;
    await until(() => h.service.job(job.id)?.state === 6 /* TRANSFERRED */);
    await whenHubsIdle();
    // Nobody asked for JobTransferred, and transferred$ is never polled for: only a look on subscribing can tell.
    const late = await firstValueFrom(transferred$(job));
    expect(late).toMatchObject({ type: 'transferred', jobId: job.id });
    watching.unsubscribe();
    await job.complete();
    await job.release();
  });

  test('an error$ that joins an attached hub hears the transient error the job sits in, once', async () => {
    const job = await h.bits.createJob({ displayName: 'transient', files: [{ url: h.server.url('/status/503'), localPath: h.local('t.bin') }] });
    await job.setMinimumRetryDelay(86_400); // no retry of its own while the test looks
    const first: JobEvent[] = [];
    const watching = error$(job, { pollInterval: 5 }).subscribe((event) => first.push(event));
    await job.resume();
    await until(() => first.length === 1);
    const late = await firstValueFrom(error$(job, { pollInterval: 5 }));
    expect(late).toMatchObject({ type: 'error', transient: true, error: { code: 'BG_E_HTTP_ERROR_503' } });
    await whenHubsIdle();
    expect(first).toHaveLength(1);
    watching.unsubscribe();
    await job.cancel();
    await job.release();
  });

  test("unsubscribing leaves alone a registration another process took since (last writer wins)", async () => {
    const job = await h.bits.createJob({ displayName: 'two', files: [{ url: h.server.url('/files/t?size=1000'), localPath: h.local('t.bin') }] });
    const ours = transferred$(job).subscribe();
    await whenHubsIdle();
    // The other process registers its own callback on the same job, and the flags it needs.
    const other = await h.bits.getJob(job.id);
    const recorder = new Recorder();
    await other.setNotifyFlags(NotifyFlags.JobTransferred | NotifyFlags.JobError);
    await other.setNotifyInterface(recorder.callback);
    ours.unsubscribe();
    await whenHubsIdle();
    expect(await other.notifyInterfaceIs(recorder.callback)).toBe(true);
    expect(await other.getNotifyFlags()).toBe(NotifyFlags.JobTransferred | NotifyFlags.JobError);
    await other.resume();
    await recorder.waitFor('transferred');
    await other.complete();
    await other.release();
    await job.release();
    await recorder.dispose();
  });

  test('a failed SetNotifyInterface(NULL) before our Cancel leaves the hub listening, not deaf', async () => {
    const job = await h.bits.createJob({ displayName: 'deaf', files: [{ url: h.server.url('/files/d?size=1000'), localPath: h.local('d.bin') }] });
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    const original = BitsJob.prototype.setNotifyInterface;
    vi.spyOn(BitsJob.prototype, 'setNotifyInterface').mockImplementation(function (this: BitsJob, callback) {
      if (callback === null) return Promise.reject(new ComError(E_FAIL, 'IBackgroundCopyJob', 'SetNotifyInterface'));
      return original.call(this, callback);
    });
    h.service.faults.cancelDenied = true;
    await expect(job.cancel()).rejects.toMatchObject({ code: 'E_ACCESSDENIED' });
    vi.restoreAllMocks();
    h.service.faults.cancelDenied = false;
    await job.resume();
    expect(await done).toMatchObject({ type: 'transferred', source: 'callback' });
    await job.complete();
    await job.release();
  });

  test('subscribing again from a complete handler is not told the transfer of a job that has left the queue', async () => {
    const job = await h.bits.createJob({ displayName: 'again', files: [{ url: h.server.url('/files/a?size=1000'), localPath: h.local('a.bin') }] });
    const heardAgain: JobEvent[] = [];
    let again: Promise<unknown> | undefined;
    let subscription: Subscription | undefined;
    const first = new Promise<void>((resolve) => {
      subscription = transferred$(job).subscribe({
        next: () => void job.complete(),
        complete: () => {
          again = lastValueFrom(transferred$(job).pipe(toArray())).then((events) => heardAgain.push(...events));
          resolve();
        },
      });
    });
    await job.resume();
    await first;
    await again;
    expect(heardAgain).toEqual([]);
    subscription?.unsubscribe();
    await job.release();
  });

  test('a hub that failed tells a re-subscriber the transfer once, not the stale one again', async () => {
    const job = await h.bits.createJob({ displayName: 'failed-hub', files: [{ url: h.server.url('/files/f?size=100'), localPath: h.local('f.bin') }] });
    const heard: string[] = [];
    const errors: unknown[] = [];
    const transfers = transferred$(job).pipe(retry(1)).subscribe((event) => heard.push(event.source));
    await job.resume();
    await until(() => heard.length === 1);
    // A poll of another subscription fails for a reason that is not the service going away: the hub fails.
    vi.spyOn(BitsJob.prototype, 'getState').mockRejectedValueOnce(new ComError(E_FAIL, 'IBackgroundCopyJob', 'GetState'));
    const states = state$(job, { pollInterval: 5 }).subscribe({ error: (error: unknown) => errors.push(error) });
    await until(() => errors.length === 1 && heard.length >= 2);
    await whenHubsIdle();
    // Once as it happened (or as the attach found it), once replayed to the re-subscription: no more.
    expect(heard).toHaveLength(2);
    expect(heard[1]).toBe('replay');
    transfers.unsubscribe();
    states.unsubscribe();
    await whenHubsIdle();
    await job.complete();
    await job.release();
  });
});
