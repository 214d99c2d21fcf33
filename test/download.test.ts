import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { afterEach, describe, expect, test } from 'vitest';
import { BitsJobError, download, JobLeftQueueError, resumePending, type DownloadSnapshot } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { content } from './support/http-server.js';
import { State } from './loopback/job-model.js';
import { until, useLoopback } from './support/harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A job has bytes on disk: its file was added, it was resumed and the transfer began. */
const hasBytes = (job: { readonly files: ReadonlyArray<{ readonly bytesTransferred: number }> }) => (job.files[0]?.bytesTransferred ?? 0) > 0;

describe('download() and resumePending() on the loopback service', () => {
  const h = useLoopback();
  const opts = () => ({ runtime: h.service.runtime, pollInterval: 5, appName: 'myapp' });

  afterEach(async () => {
    await whenHubsIdle();
    await until(() => h.service.references().jobs === 0);
    expect(liveHubs()).toBe(0);
  });

  test('downloads, reports progress snapshots, completes the job and ends with the files in place', async () => {
    // The transfer waits at 6,000 bytes until a snapshot has reported them: progress is seen mid-way however fast the machine.
    const snapshots = await lastValueFrom(
      download(h.server.url('/gate/d?size=60000&head=6000'), h.local('d.bin'), { ...opts(), headers: { 'X-App': 'myapp' } }).pipe(
        tap((snapshot) => {
          if (snapshot.bytesTransferred === 6000) h.server.open('d');
        }),
        toArray(),
      ),
    );
    expect(h.server.lastHeaders('/gate/d')).toMatchObject({ 'x-app': 'myapp' });
    const last = snapshots.at(-1)!;
    expect(last).toMatchObject({ state: 'acknowledged', bytesTransferred: 60000, bytesTotal: 60000, ratio: 1, eta: 0, attempt: 1 });
    expect(last.done).toMatchObject({ code: 'S_OK', partial: false, files: [{ localPath: h.local('d.bin'), completed: true }] });
    expect(snapshots.some((s) => s.bytesTransferred === 6000 && s.done === undefined)).toBe(true);
    expect(snapshots.every((s) => s.ratio === undefined || (s.ratio >= 0 && s.ratio <= 1))).toBe(true);
    expect(sha256(await readFile(h.local('d.bin')))).toBe(sha256(content(60000)));
    expect(h.service.job(last.jobId)?.displayName).toBe('myapp: d.bin');
  });

  test('a failed attempt is retried (attempt counts up) and the download still completes', async () => {
    // 503 is transient: the service would retry after MinimumRetryDelay; the nudge resumes it sooner.
    const job = download(h.server.url('/flaky/r?fail=1&status=503&size=1000'), h.local('r.bin'), { ...opts(), retry: { nudgeTransientAfter: 5 } });
    const snapshots = await lastValueFrom(job.pipe(toArray()));
    expect(snapshots.at(-1)).toMatchObject({ attempt: 2, lastError: { code: 'BG_E_HTTP_ERROR_503' }, done: { code: 'S_OK' } });
    expect(h.server.requests('/flaky/r')).toBe(2);
  });

  test('a permanent failure errors with a BitsJobError and the job is cancelled', async () => {
    const error = await lastValueFrom(download(h.server.url('/status/404'), h.local('x.bin'), opts())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BitsJobError);
    expect(error).toMatchObject({ code: 'BG_E_HTTP_ERROR_404' });
    await until(() => h.service.queue.length === 0);
  });

  test('unsubscribing cancels the job; with persist it keeps running, and resumePending picks it up', async () => {
    // Each transfer waits for the test after its first 1,000 bytes: the app leaves mid-transfer for sure.
    const gated = (name: string) => h.server.url(`/gate/${name}?size=40000&head=1000`);
    const cancelled = download(gated('c'), h.local('c.bin'), opts()).subscribe();
    await until(() => h.service.queue.some(hasBytes));
    cancelled.unsubscribe();
    await until(() => h.service.queue.length === 0);

    const kept = download(gated('p'), h.local('p.bin'), { ...opts(), persist: true }).subscribe();
    await until(() => h.service.queue.some(hasBytes));
    kept.unsubscribe(); // the app goes away; the job does not
    await whenHubsIdle();
    expect(h.service.queue).toHaveLength(1);

    // The app starts again: a new connection finds what the last run left.
    const pending = await resumePending(opts());
    expect(pending.map((p) => p.displayName)).toEqual(['myapp: p.bin']);
    h.server.open('p');
    const snapshots: DownloadSnapshot[] = await lastValueFrom(pending[0]!.download$.pipe(toArray()));
    expect(snapshots.at(-1)?.done?.files[0]?.localPath).toBe(h.local('p.bin'));
    expect(sha256(await readFile(h.local('p.bin')))).toBe(sha256(content(40000)));
  });

  test('with persist, a subscriber that leaves before the job is even made still leaves it running', async () => {
    download(h.server.url('/files/early?size=3000'), h.local('early.bin'), { ...opts(), persist: true }).subscribe().unsubscribe();
    await until(() => h.service.queue.length === 1 && h.service.references().jobs === 0);
    // Given back, and not left suspended: nobody would start it until a later resumePending.
    expect(h.service.queue[0]!.state).not.toBe(State.SUSPENDED);
    await until(() => h.service.queue[0]!.state === State.TRANSFERRED);
    const [pending] = await resumePending(opts());
    expect((await lastValueFrom(pending!.download$)).done?.code).toBe('S_OK');
    expect(sha256(await readFile(h.local('early.bin')))).toBe(sha256(content(3000)));
  });

  test('a job that finished while the app was away completes at once on resumePending', async () => {
    // The rest of the file comes only once the app has gone: however slow the machine, the app cannot finish it first.
    const subscription = download(h.server.url('/gate/f?size=20000&head=1000'), h.local('f.bin'), { ...opts(), persist: true }).subscribe();
    await until(() => h.service.queue.some(hasBytes));
    subscription.unsubscribe(); // the app goes away mid-transfer
    await whenHubsIdle();
    h.server.open('f');
    await until(() => h.service.queue[0]?.state === 6 /* TRANSFERRED, with nobody listening */);
    // Finding without following: release() gives the reference back (the harness checks none is left).
    const skipped = await resumePending(opts());
    expect(skipped).toHaveLength(1);
    await skipped[0]!.release();
    expect(h.service.references().jobs).toBe(0);
    const [pending] = await resumePending(opts());
    const last = await lastValueFrom(pending!.download$);
    expect(last.done?.code).toBe('S_OK');
    const others = await resumePending({ ...opts(), appName: 'otherapp' });
    expect(others).toEqual([]);
    await expect(lastValueFrom(download([], opts()))).rejects.toThrow(/^files: /); // checked on subscribe, nothing connected
  });

  test('a permanent failure cancels the job under download({ persist: true }), and when resumePending follows it', async () => {
    // Followed to its failure by the run that made it: the README's "a permanent failure ... cancels the job".
    const first = await lastValueFrom(download(h.server.url('/status/404'), h.local('gone.bin'), { ...opts(), persist: true })).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(BitsJobError);
    await whenHubsIdle();
    await until(() => h.service.queue.length === 0);

    // A job an earlier run left, which failed while nobody followed it: the next start finds it in ERROR.
    const left = await h.bits.createJob({ displayName: 'myapp: gone.bin', files: [{ url: h.server.url('/status/404'), localPath: h.local('gone.bin') }] });
    await left.resume();
    await until(async () => (await left.getState()) === 'error');
    await left.release();
    const [pending, ...more] = await resumePending(opts());
    expect(more).toEqual([]);
    const again = await lastValueFrom(pending!.download$).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BitsJobError);
    expect(again).toMatchObject({ code: 'BG_E_HTTP_ERROR_404' });
    await whenHubsIdle();
    await until(() => h.service.queue.length === 0);
  });
});

describe('jobs that leave the queue behind our back', () => {
  // As on Wine: a finished job stays listed until the service sweeps it.
  const h = useLoopback({ listsFinishedJobs: true });
  const opts = () => ({ runtime: h.service.runtime, pollInterval: 5, appName: 'myapp' });

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs()).toBe(0);
  });

  test('a download another process cancels errors with JobLeftQueueError, and its job is given back', async () => {
    let cancelled = false;
    const ended = lastValueFrom(
      download(h.server.url('/gate/x?size=40000&head=1000'), h.local('x.bin'), opts()).pipe(
        tap((snapshot) => {
          if (cancelled || snapshot.bytesTransferred === 0) return;
          cancelled = true;
          h.service.job(snapshot.jobId)!.cancel();
        }),
      ),
    );
    const error: unknown = await ended.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobLeftQueueError);
    expect(error).toMatchObject({ state: 'cancelled', message: expect.stringMatching(/was cancelled before it transferred/) });
    await until(() => h.service.references().jobs === 0);
  });

  test('resumePending skips jobs that are acknowledged or cancelled, though still listed', async () => {
    const finished = await h.bits.createJob({ displayName: 'myapp: done.bin', files: [{ url: h.server.url('/files/d?size=100'), localPath: h.local('done.bin') }] });
    await finished.resume();
    await until(async () => (await finished.getState()) === 'transferred');
    await finished.complete();
    const dropped = await h.bits.createJob({ displayName: 'myapp: dropped.bin' });
    await dropped.cancel();
    const waiting = await h.bits.createJob({ displayName: 'myapp: waiting.bin', files: [{ url: h.server.url('/files/w?size=100'), localPath: h.local('w.bin') }] });
    expect(h.service.queue).toHaveLength(3);
    const pending = await resumePending(opts());
    expect(pending.map((p) => p.displayName)).toEqual(['myapp: waiting.bin']);
    await pending[0]!.release();
    for (const job of [finished, dropped, waiting]) await job.release();
    expect(h.service.references().jobs).toBe(0);
  });
});
