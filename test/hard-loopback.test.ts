import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { filter, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BitsJobError,
  completeWhenTransferred,
  download,
  jobEvents$,
  retryOnJobError,
  state$,
  type JobEvent,
} from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { content } from './support/http-server.js';
import { useLoopback } from './support/harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The library's main paths on the loopback service with everything Windows makes hard turned on at
 * once: an error count that moves only as Microsoft documents, JobModification rate-limited to
 * 500 ms (BITS 10.1), terminal notifications replayed after success and on registration,
 * notifications delivered while our own calls are in flight, JobTransferred ahead of pending
 * modifications, and Resume with nothing left answering BG_E_EMPTY (Wine).
 */
describe('on a loopback service as hard as BITS', () => {
  const h = useLoopback({
    errorCount: 'documented',
    minimumNotificationIntervalMs: 500,
    replayTerminal: 2,
    notifiesOnRegistration: true,
    notifiesDuringCalls: true,
    holdModificationsUntilTerminal: true,
    resumeWithNothingLeft: 'empty',
  });
  const opts = () => ({ runtime: h.service.runtime, pollInterval: 5, appName: 'hard' });

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs(), 'hubs still attached').toBe(0);
  });

  test('download() of an HTTP file ends with the file in place and one done snapshot', async () => {
    const snapshots = await lastValueFrom(download(h.server.url('/files/d?size=50000'), h.local('d.bin'), opts()).pipe(toArray()));
    expect(snapshots.filter((s) => s.done !== undefined)).toHaveLength(1);
    expect(snapshots.at(-1)).toMatchObject({ state: 'acknowledged', done: { code: 'S_OK' } });
    expect(sha256(await readFile(h.local('d.bin')))).toBe(sha256(content(50000)));
  });

  test('download() of a local file, transferred inside the Resume call itself', async () => {
    await writeFile(h.local('source.txt'), 'local bytes');
    const last = await lastValueFrom(download([{ url: h.local('source.txt'), localPath: h.local('copy.txt') }], opts()));
    expect(last.done?.code).toBe('S_OK');
    expect(await readFile(h.local('copy.txt'), 'utf8')).toBe('local bytes');
  });

  test('events and completeWhenTransferred: one transferred however often it is replayed, and the job completed', async () => {
    const job = await h.bits.createJob({ displayName: 'replayed', files: [{ url: h.server.url('/files/r?size=1000'), localPath: h.local('r.bin') }] });
    const events: JobEvent[] = [];
    const done = lastValueFrom(jobEvents$(job, ['transferred', 'modification']).pipe(filter((event) => (events.push(event), true)), completeWhenTransferred(job)));
    const states = lastValueFrom(state$(job, { pollInterval: 5 }).pipe(toArray()));
    await job.resume();
    expect(await done).toMatchObject({ code: 'S_OK', files: [{ completed: true }] });
    expect(events.filter((event) => event.type === 'transferred')).toHaveLength(1);
    expect((await states).at(-1)).toBe('acknowledged');
    await job.release();
  });

  test('a count that never moves: each failure after a retry is still a new error, and retryOnJobError gives up', async () => {
    h.service.faults.freezeErrorCount = true;
    const job = await h.bits.createJob({ displayName: 'frozen', files: [{ url: h.server.url('/status/404'), localPath: h.local('f.bin') }] });
    const ended = lastValueFrom(
      jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnJobError(job, { count: 2, delay: 0, shouldRetry: () => true })),
    ).catch((error: unknown) => error);
    await job.resume();
    const error = await ended;
    expect(error).toBeInstanceOf(BitsJobError);
    expect((error as BitsJobError).attempts).toHaveLength(3);
    expect(await job.getErrorCount()).toBe(0);
    await job.cancel();
    await job.release();
  });

  test('a transient failure (not counted, as documented) nudged and then succeeding', async () => {
    const last = await lastValueFrom(
      download(h.server.url('/flaky/t?fail=1&status=503&size=2000'), h.local('t.bin'), { ...opts(), retry: { nudgeTransientAfter: 5 } }),
    );
    expect(last).toMatchObject({ attempt: 2, lastError: { code: 'BG_E_HTTP_ERROR_503' }, done: { code: 'S_OK' } });
  });

  test('a late transferred$ on a job already transferred hears it once, replayed or re-notified', async () => {
    const job = await h.bits.createJob({ displayName: 'late', files: [{ url: h.server.url('/files/l?size=1000'), localPath: h.local('l.bin') }] });
    await job.resume();
    await firstValueFrom(state$(job, { pollInterval: 5 }).pipe(filter((state) => state === 'transferred')));
    await whenHubsIdle();
    const events: JobEvent[] = [];
    const subscription = jobEvents$(job, ['transferred']).subscribe((event) => events.push(event));
    await whenHubsIdle();
    await h.service.settled();
    await whenHubsIdle();
    expect(events).toHaveLength(1);
    subscription.unsubscribe();
    await job.complete();
    await job.release();
  });
});
