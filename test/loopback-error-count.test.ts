import { describe, expect, test } from 'vitest';
import type { BitsJob, JobState } from '../src/index.js';
import { until, useLoopback, type Harness } from './support/harness.js';

/**
 * The loopback's GetErrorCount, as "IBackgroundCopyJob::GetErrorCount" documents it: the count moves
 * when the job leaves TRANSFERRING for an error state, not for network disconnects, and "may not
 * accurately reflect" the job's visits to the error states.
 */

async function settledIn(job: BitsJob, ...states: JobState[]): Promise<JobState> {
  let state: JobState = await job.getState();
  await until(async () => states.includes((state = await job.getState())));
  return state;
}

/** A job whose one file fails as `url` makes it fail. */
async function failing(h: Harness, url: string, localPath = h.local('out.bin')): Promise<BitsJob> {
  const job = await h.bits.createJob({ displayName: 'fails', files: [{ url, localPath }] });
  await job.resume();
  return job;
}

describe("errorCount: 'documented'", () => {
  const h = useLoopback({ errorCount: 'documented' });

  test('a 404 answered before any byte moved never reached TRANSFERRING: the count stays 0, Resume after Resume', async () => {
    const job = await failing(h, h.server.url('/status/404'));
    expect(await settledIn(job, 'error')).toBe('error');
    expect(await job.getErrorCount()).toBe(0);
    await job.resume();
    await until(async () => h.server.requests('/status/404') === 2 && (await job.getState()) === 'error');
    expect(await job.getErrorCount()).toBe(0);
    expect((await job.getError())?.code).toBe('BG_E_HTTP_ERROR_404');
    await job.cancel();
    await job.release();
  });

  test('a network disconnect goes to TRANSIENT_ERROR without counting; the retry then succeeds', async () => {
    h.service.faults.disconnects = 1;
    // A retry delay no test waits for (a loopback second is a millisecond): Resume retries at once.
    const files = [{ url: h.server.url('/files/d?size=100'), localPath: h.local('d.bin') }];
    const job = await h.bits.createJob({ displayName: 'disconnect', minimumRetryDelay: 3_600_000, files });
    await job.resume();
    expect(await settledIn(job, 'transientError', 'transferred')).toBe('transientError');
    expect(await job.getErrorCount()).toBe(0);
    await job.resume();
    expect(await settledIn(job, 'transferred')).toBe('transferred');
    expect(await job.getErrorCount()).toBe(0);
    await job.complete();
    await job.release();
  });

  test('a failure once the job is TRANSFERRING (the local file cannot be written) counts', async () => {
    const job = await failing(h, h.server.url('/files/w?size=100'), h.local('no-such-folder/w.bin'));
    expect(await settledIn(job, 'error')).toBe('error');
    expect((await job.getError())?.code).toBe('ERROR_PATH_NOT_FOUND');
    expect(await job.getErrorCount()).toBe(1);
    await job.cancel();
    await job.release();
  });
});

describe("errorCount: 'every-failure' (the default)", () => {
  const h = useLoopback();

  test('every failed attempt counts, the 404 included', async () => {
    const job = await failing(h, h.server.url('/status/404'));
    await settledIn(job, 'error');
    expect(await job.getErrorCount()).toBe(1);
    await job.cancel();
    await job.release();
  });

  test('faults.freezeErrorCount holds the count still whatever fails', async () => {
    h.service.faults.freezeErrorCount = true;
    const job = await failing(h, h.server.url('/status/404'));
    await settledIn(job, 'error');
    await job.resume();
    await until(async () => h.server.requests('/status/404') === 2 && (await job.getState()) === 'error');
    expect(await job.getErrorCount()).toBe(0);
    await job.cancel();
    await job.release();
  });
});
