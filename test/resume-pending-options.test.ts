import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { BitsJobError, download, InvalidArgumentError, resumePending, type ComRuntime, type DownloadOptions, type RetryOnJobErrorOptions } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { until, useLoopback } from './support/harness.js';

const bad = <T>(value: unknown) => value as T;

describe('resumePending() checks its options as download() does, before anything connects', () => {
  const h = useLoopback();

  afterEach(async () => {
    await whenHubsIdle();
    await until(() => h.service.references().jobs === 0);
    expect(liveHubs()).toBe(0);
  });

  const CASES: ReadonlyArray<[string, string, DownloadOptions]> = [
    ['an app name that is not a string', 'appName', { appName: bad(5) }],
    ['an empty app name', 'appName', { appName: '' }],
    ['a negative retry count', 'retry.count', { retry: { count: -1 } }],
    ['a retry delay that is not milliseconds', 'retry.delay', { retry: { delay: bad('soon') } }],
    ['a retry shouldRetry that is not a function', 'retry.shouldRetry', { retry: { shouldRetry: bad('always') } }],
    ['retry options that are not an object', 'retry', { retry: bad<RetryOnJobErrorOptions>(3) }],
    ['a negative poll interval', 'pollInterval', { pollInterval: -5 }],
    ['a rate window of 0', 'rateWindow', { rateWindow: 0 }],
    ['persist that is not a boolean', 'persist', { persist: bad('yes') }],
    ['an unknown backend', 'backend', { backend: bad('ftp') }],
  ];

  test.each(CASES)('%s rejects with an InvalidArgumentError naming %s, as download() does, and no call was made', async (_name, field, given) => {
    // A job an earlier run left: a check that came late would find it, and fail only once it is followed.
    const left = await h.bits.createJob({ displayName: 'myapp: left.bin', files: [{ url: h.server.url('/files/left?size=10'), localPath: h.local('left.bin') }] });
    await left.release();
    let connects = 0;
    const runtime: ComRuntime = {
      ...h.service.runtime,
      createInstance: (clsid, iid) => {
        connects++;
        return h.service.runtime.createInstance(clsid, iid);
      },
    };
    const options: DownloadOptions = { runtime, pollInterval: 5, appName: 'myapp', ...given };
    const callsBefore = h.service.totalCalls();

    const found = resumePending(options);
    const error = await found.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe(field);
    expect(connects).toBe(0);
    expect(h.service.totalCalls()).toBe(callsBefore);

    // download() names the same field for the same options: one check for both.
    const downloaded = await lastValueFrom(download(h.server.url('/files/x?size=10'), h.local('x.bin'), options)).catch((e: unknown) => e);
    expect(downloaded).toBeInstanceOf(InvalidArgumentError);
    expect((downloaded as InvalidArgumentError).field).toBe(field);
    expect(h.service.queue).toHaveLength(1);
  });

  test('a manager that is not one rejects naming manager, with no call', async () => {
    const callsBefore = h.service.totalCalls();
    await expect(resumePending({ manager: bad({}) })).rejects.toMatchObject({ name: 'InvalidArgumentError', field: 'manager' });
    expect(h.service.totalCalls()).toBe(callsBefore);
  });

  test('options that are not an object reject naming options, never with a TypeError', async () => {
    await expect(resumePending(bad('myapp'))).rejects.toMatchObject({ name: 'InvalidArgumentError', field: 'options' });
  });
});

describe.skipIf(process.platform === 'win32')('resumePending(null)', () => {
  test('is resumePending() with no options, as download() takes null options, instead of a TypeError', async () => {
    // No options: the portable engine in the per-user state folder, moved into a temporary folder here.
    const home = await mkdtemp(path.join(tmpdir(), 'rx-bits-resume-null-'));
    vi.stubEnv('HOME', home);
    vi.stubEnv('XDG_STATE_HOME', path.join(home, 'state'));
    try {
      await expect(resumePending(bad(null))).resolves.toEqual([]);
    } finally {
      vi.unstubAllEnvs();
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('a job that fails for good is cancelled, with persist and when found again', () => {
  const h = useLoopback();
  const opts = () => ({ runtime: h.service.runtime, pollInterval: 5, appName: 'myapp' });

  afterEach(async () => {
    await whenHubsIdle();
    await until(() => h.service.references().jobs === 0);
    expect(liveHubs()).toBe(0);
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
