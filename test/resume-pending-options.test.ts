import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { download, InvalidArgumentError, resumePending, type DownloadOptions, type RetryOnJobErrorOptions } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { countConnects, until, useLoopback } from './support/harness.js';

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
    const { runtime, connects } = countConnects(h.service.runtime);
    const options: DownloadOptions = { runtime, pollInterval: 5, appName: 'myapp', ...given };
    const callsBefore = h.service.totalCalls();

    const found = resumePending(options);
    const error = await found.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe(field);
    expect(connects.count).toBe(0);
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
