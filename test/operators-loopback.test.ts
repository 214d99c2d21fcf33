import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { firstValueFrom, lastValueFrom, pipe, type OperatorFunction } from 'rxjs';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BitsJobError,
  cancelOnUnsubscribe,
  completeWhenTransferred,
  jobEvents$,
  retryOnJobError,
  state$,
  takeUntilFinal,
  type BitsJob,
  type CompletedJob,
  type JobEvent,
} from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { content } from './support/http-server.js';
import { until, useLoopback } from './support/harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('operators against the loopback service', () => {
  const h = useLoopback();

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs()).toBe(0);
  });

  test('a retryable failure, then success: the job is completed, the file is in place, one resume per failure', async () => {
    const job = await h.bits.createJob({
      displayName: 'retry-then-succeed',
      noProgressTimeout: 0, // every error is fatal: the service will not retry, the operator must
      files: [{ url: h.server.url('/flaky/r?fail=2&status=503&size=50000'), localPath: h.local('r.bin') }],
    });
    const done = lastValueFrom(
      jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnJobError(job, { count: 5, delay: 5 }), completeWhenTransferred(job)),
    );
    await whenHubsIdle();
    await job.resume();
    const result = await done;
    expect(result).toMatchObject({ jobId: job.id, code: 'S_OK', partial: false, files: [{ localPath: h.local('r.bin'), completed: true }] });
    expect(sha256(await readFile(h.local('r.bin')))).toBe(sha256(content(50000)));
    expect(h.service.calls('IBackgroundCopyJob::Resume')).toBe(1 + 2);
    expect(h.server.requests('/flaky/r')).toBe(3);
    expect(await job.getState()).toBe('acknowledged');
    await job.release();
  });

  test('a 404 fails at once with a named error and no retry', async () => {
    const job = await h.bits.createJob({ displayName: '404', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    const outcome = lastValueFrom(jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnJobError(job), completeWhenTransferred(job)));
    await whenHubsIdle();
    await job.resume();
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BitsJobError);
    expect(error).toMatchObject({ code: 'BG_E_HTTP_ERROR_404', hresult: 0x80190194, context: 'remoteFile', transient: false });
    expect((error as BitsJobError).message).toMatch(/BG_E_HTTP_ERROR_404 \(0x80190194\) in remoteFile \(http:\/\/127\.0\.0\.1:\d+\/status\/404\)/);
    expect(h.service.calls('IBackgroundCopyJob::Resume')).toBe(1);
    await job.cancel();
    await job.release();
  });

  test('a job waiting in TRANSIENT_ERROR is nudged instead of waiting for the service', async () => {
    const job = await h.bits.createJob({
      displayName: 'nudge',
      minimumRetryDelay: 3_600_000, // an hour of loopback milliseconds: only a nudge gets it going in time
      files: [{ url: h.server.url('/flaky/n?fail=1&status=503&size=10'), localPath: h.local('n.bin') }],
    });
    const done = lastValueFrom(
      jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnJobError(job, { nudgeTransientAfter: 10 }), completeWhenTransferred(job)),
    );
    await whenHubsIdle();
    await job.resume();
    expect((await done).files).toHaveLength(1);
    expect(h.service.calls('IBackgroundCopyJob::Resume')).toBe(2);
    await job.release();
  });

  test('cancelOnUnsubscribe cancels the job; without it, unsubscribing leaves the job running', async () => {
    const slow = (name: string) => ({ url: h.server.url(`/slow/${name}?size=400000&chunk=1000&delay=10`), localPath: h.local(`${name}.bin`) });
    const cancelled = await h.bits.createJob({ displayName: 'cancel-me', files: [slow('c')] });
    const kept = await h.bits.createJob({ displayName: 'keep-me', files: [slow('k')] });
    const a = jobEvents$(cancelled).pipe(cancelOnUnsubscribe(cancelled)).subscribe();
    const b = jobEvents$(kept).subscribe();
    await whenHubsIdle();
    await Promise.all([cancelled.resume(), kept.resume()]);
    await until(async () => (await kept.getProgress()).bytesTransferred > 0);
    a.unsubscribe();
    b.unsubscribe();
    await until(async () => (await cancelled.getState()) === 'cancelled');
    expect(['transferring', 'connecting', 'queued']).toContain(await kept.getState());
    await kept.cancel();
    await Promise.all([cancelled.release(), kept.release()]);
  });

  test.each<[string, (job: BitsJob) => OperatorFunction<JobEvent, CompletedJob>]>([
    ['cancelOnUnsubscribe, then completeWhenTransferred', (job) => pipe(cancelOnUnsubscribe(job), completeWhenTransferred(job))],
    ['completeWhenTransferred, then cancelOnUnsubscribe', (job) => pipe(completeWhenTransferred(job), cancelOnUnsubscribe(job))],
  ])('%s: a job that transferred is completed, never cancelled', async (_order, operators) => {
    const job = await h.bits.createJob({ displayName: 'complete-not-cancel', files: [{ url: h.server.url('/files/o?size=20000'), localPath: h.local('o.bin') }] });
    const done = lastValueFrom(jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(operators(job)));
    await whenHubsIdle();
    await job.resume();
    expect(await done).toMatchObject({ jobId: job.id, code: 'S_OK', files: [{ localPath: h.local('o.bin'), completed: true }] });
    expect(sha256(await readFile(h.local('o.bin')))).toBe(sha256(content(20000)));
    expect(await job.getState()).toBe('acknowledged');
    expect(h.service.calls('IBackgroundCopyJob::Cancel')).toBe(0);
    await job.release();
  });

  test('takeUntilFinal completes once the job is acknowledged', async () => {
    const job = await h.bits.createJob({ displayName: 'final', files: [{ url: h.server.url('/files/f?size=10'), localPath: h.local('f.bin') }] });
    const final = lastValueFrom(state$(job, { pollInterval: 5 }).pipe(takeUntilFinal()));
    const transferred = firstValueFrom(jobEvents$(job, ['transferred']));
    await whenHubsIdle();
    await job.resume();
    await transferred;
    await job.complete();
    expect(await final).toBe('acknowledged');
    await job.release();
  });
});
