import path from 'node:path';
import { lastValueFrom, type Observable } from 'rxjs';
import { describe, expect, test } from 'vitest';
import { checkLocalPath, MAX_LOCAL_PATH } from '../src/com/validate.js';
import {
  connect,
  download,
  GuidFormatError,
  InvalidArgumentError,
  NotSupportedByBackendError,
  ReleasedError,
  UnsupportedPlatformError,
  defaultRuntime,
  type BitsJob,
  type BitsManager,
  type DownloadOptions,
  type DownloadSnapshot,
  type FileSpec,
  type JobPriority,
  type JobType,
  type RetryOnJobErrorOptions,
} from '../src/index.js';
import { countConnects, useLoopback } from './support/harness.js';
import { useEngine } from './support/engine-harness.js';

const h = useLoopback();

type Case = readonly [description: string, field: string, act: (bits: BitsManager, job: BitsJob, local: (name: string) => string) => Promise<unknown>, type?: new (...args: never[]) => Error];

const url = 'http://127.0.0.1:1/file';
const file = (overrides: Partial<Record<keyof FileSpec, unknown>>, local: (name: string) => string): FileSpec =>
  ({ url, localPath: local('f.bin'), ...overrides }) as FileSpec;

const CASES: readonly Case[] = [
  ['empty display name', 'displayName', (bits) => bits.createJob({ displayName: '' })],
  ['display name that is not a string', 'displayName', (bits) => bits.createJob({ displayName: 42 as unknown as string })],
  ['display name over the service limit', 'displayName', (bits) => bits.createJob({ displayName: 'x'.repeat(257) })],
  ['display name with a NUL', 'displayName', (bits) => bits.createJob({ displayName: 'a\0b' })],
  ['description over the service limit', 'description', (bits) => bits.createJob({ displayName: 'd', description: 'x'.repeat(1025) })],
  ['unknown job type', 'type', (bits) => bits.createJob({ displayName: 't', type: 'sideways' as JobType })],
  ['unknown priority', 'priority', (bits) => bits.createJob({ displayName: 'p', priority: 'urgent' as JobPriority })],
  ['files that are not an array', 'files', (bits) => bits.createJob({ displayName: 'f', files: 'a.bin' as unknown as FileSpec[] })],
  ['a file entry that is null', 'files[0]', (_bits, job) => job.addFiles([null as unknown as FileSpec])],
  ['relative local path', 'files[0].localPath', (_bits, job, local) => job.addFiles([file({ localPath: 'downloads/a.bin' }, local)])],
  ['empty local path', 'files[0].localPath', (_bits, job, local) => job.addFiles([file({ localPath: '' }, local)])],
  ['local path naming a directory', 'files[0].localPath', (_bits, job, local) => job.addFiles([file({ localPath: `${local('dir')}/` }, local)])],
  ['local path longer than MAX_PATH', 'files[0].localPath', (_bits, job, local) => job.addFiles([file({ localPath: `/${'d'.repeat(300)}` }, local)])],
  // MAX_PATH is 260 with the terminating NUL: 259 characters at most.
  ['local path of 260 characters', 'file.localPath', (_bits, job) => job.addFile({ url, localPath: `/${'d'.repeat(259)}` })],
  ['unsupported URL scheme', 'files[1].url', (_bits, job, local) => job.addFiles([file({}, local), file({ url: 'ftp://127.0.0.1/a' }, local)])],
  ['javascript: URL', 'file.url', (_bits, job, local) => job.addFile(file({ url: 'javascript:alert(1)' }, local))],
  ['credentials in the URL', 'files[0].url', (_bits, job, local) => job.addFiles([file({ url: 'http://user:secret@127.0.0.1/a' }, local)])],
  ['remote name that is neither URL nor path', 'files[0].url', (_bits, job, local) => job.addFiles([file({ url: 'not a url' }, local)])],
  ['negative file size', 'files[0].size', (_bits, job, local) => job.addFiles([file({ size: -1 }, local)])],
  ['Delivery Optimization options on BITS', 'files[0].fileId', (_bits, job, local) => job.addFiles([file({ fileId: 'x' }, local)])],
  ['a size on BITS', 'file.size', (_bits, job, local) => job.addFile(file({ size: 10 }, local))],
  // createJob checks its files before CreateJob: a bad one makes no job at all, not even a cancelled one.
  ['createJob with a relative local path', 'files[0].localPath', (bits) => bits.createJob({ displayName: 'f', files: [{ url, localPath: 'a.bin' }] })],
  ['createJob with a null file entry', 'files[1]', (bits, _job, local) => bits.createJob({ displayName: 'f', files: [file({}, local), null as unknown as FileSpec] })],
  ['createJob with an ftp URL', 'files[0].url', (bits, _job, local) => bits.createJob({ displayName: 'f', files: [file({ url: 'ftp://127.0.0.1/a' }, local)] })],
  ['createJob with a local path of 260 characters', 'files[0].localPath', (bits) => bits.createJob({ displayName: 'f', files: [{ url, localPath: `/${'d'.repeat(259)}` }] })],
  ['createJob with Delivery Optimization options on BITS', 'files[0].fileId', (bits, _job, local) => bits.createJob({ displayName: 'f', files: [file({ fileId: 'x' }, local)] })],
  ['negative minimum retry delay', 'minimumRetryDelay', (bits) => bits.createJob({ displayName: 'r', minimumRetryDelay: -5 })],
  ['fractional no-progress timeout', 'noProgressTimeout', (_bits, job) => job.setNoProgressTimeout(1.5)],
  ['no-progress timeout beyond a DWORD', 'noProgressTimeout', (_bits, job) => job.setNoProgressTimeout(2 ** 32)],
  ['NaN retry delay', 'minimumRetryDelay', (_bits, job) => job.setMinimumRetryDelay(Number.NaN)],
  ['unknown priority on a job', 'priority', (_bits, job) => job.setPriority('urgent' as JobPriority)],
  ['undefined notify flag bits', 'notifyFlags', (_bits, job) => job.setNotifyFlags(0x40)],
  ['negative notify flags', 'notifyFlags', (_bits, job) => job.setNotifyFlags(-1)],
  ['display name over the limit on a job', 'displayName', (_bits, job) => job.setDisplayName('n'.repeat(300))],
  ['a header value with a line break', 'headers.X-Evil', (bits) => bits.createJob({ displayName: 'h', headers: { 'X-Evil': 'a\r\nInjected: yes' } })],
  ['a header name that is not a token', 'headers.Bad Name', (_bits, job) => job.setCustomHeaders({ 'Bad Name': 'x' })],
  ['override proxy without a list', 'proxy.proxyList', (_bits, job) => job.setProxySettings({ usage: 'override' })],
  ['malformed job id', 'id', (bits) => bits.getJob('not-a-guid'), GuidFormatError],
  ['malformed id in a filter', 'ids[1]', (bits, job) => bits.jobs({ ids: [job.id, '1234'] }).next(), GuidFormatError],
  ['HRESULT that is not an integer', 'hresult', (bits) => bits.describe(1.5)],
  ['language id out of range', 'languageId', (bits) => bits.describe(0x80200001, 70000)],
  ['unknown backend', 'backend', () => connect({ backend: 'ftp' as 'bits', runtime: h.service.runtime })],
];

describe('bad input is a typed error naming the field, raised before any COM call', () => {
  test.each(CASES.map((c) => [c[0], c] as const))('%s', async (_description, [, field, act, type = InvalidArgumentError]) => {
    const job = await h.bits.createJob({ displayName: 'target' });
    const callsBefore = h.service.totalCalls();
    const outcome = act(h.bits, job, h.local).then(
      () => undefined,
      (error: unknown) => error,
    );
    const error = await outcome;
    expect(error).toBeInstanceOf(type);
    expect((error as InvalidArgumentError).field).toBe(field);
    expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
    expect(h.service.totalCalls()).toBe(callsBefore);
    await job.cancel();
    await job.release();
  });

  test('a job used after release names the interface and the operation', async () => {
    const job = await h.bits.createJob({ displayName: 'gone' });
    await job.cancel();
    await job.release();
    const callsBefore = h.service.totalCalls();
    for (const use of [() => job.resume(), () => job.getProgress(), () => job.addFile({ url, localPath: h.local('a') }), () => job.duplicate()]) {
      await expect(use()).rejects.toBeInstanceOf(ReleasedError);
    }
    await expect(job.resume()).rejects.toThrow('Resume: this IBackgroundCopyJob reference was already released');
    expect(h.service.totalCalls()).toBe(callsBefore);
  });

  test('a manager used after release, likewise', async () => {
    const bits = await connect({ runtime: h.service.runtime });
    await bits.release();
    await expect(bits.createJob({ displayName: 'x' })).rejects.toThrow(ReleasedError);
  });
});

describe('the same bad input on the portable engine: the same typed errors, and no job made', () => {
  const e = useEngine();
  const countJobs = async () => {
    let count = 0;
    for await (const job of e.bits.jobs()) {
      count++;
      await job.release();
    }
    return count;
  };

  test.each(CASES.map((c) => [c[0], c] as const))('%s', async (_description, [, field, act, type = InvalidArgumentError]) => {
    const job = await e.bits.createJob({ displayName: 'target' });
    const before = await countJobs();
    const error = await act(e.bits, job, e.local).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(type);
    expect((error as InvalidArgumentError).field).toBe(field);
    expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
    expect(await countJobs()).toBe(before);
    await job.cancel();
    await job.release();
  });
});

describe('MAX_PATH', () => {
  test('a local name of 259 characters is accepted, 260 is not, in either path style', async () => {
    expect(MAX_LOCAL_PATH).toBe(259);
    const posix = path.join(h.dir, 'n'.repeat(259 - h.dir.length - 1));
    expect(posix).toHaveLength(259);
    const job = await h.bits.createJob({ displayName: 'long name', files: [{ url, localPath: posix }] });
    expect(await job.getFiles()).toMatchObject([{ localPath: posix }]);
    await job.cancel();
    await job.release();
    const win32 = `C:\\${'w'.repeat(256)}`;
    expect(checkLocalPath(win32, 'localPath', 'win32')).toBe(win32);
    expect(() => checkLocalPath(`${win32}w`, 'localPath', 'win32')).toThrow(/^localPath: is 260 characters long; the service allows at most 259$/);
  });
});

describe('download() checks every argument on subscribe, before anything connects', () => {
  type DownloadCase = readonly [
    description: string,
    field: string,
    start: (options: DownloadOptions, local: (name: string) => string) => Observable<DownloadSnapshot>,
    type?: new (...args: never[]) => Error,
  ];
  const DOWNLOAD_CASES: readonly DownloadCase[] = [
    ['an empty file list', 'files', (options) => download([], options)],
    ['files that are not a list', 'files', (options, local) => download({ url, localPath: local('a') } as unknown as FileSpec[], options)],
    ['a relative local path', 'files[0].localPath', (options) => download(url, 'a.bin', options)],
    ['no local path', 'files[0].localPath', (options) => download(url, undefined as unknown as string, options)],
    ['a local path of 260 characters', 'files[0].localPath', (options) => download(url, `/${'d'.repeat(259)}`, options)],
    ['a URL that is not one', 'files[0].url', (options, local) => download('not a url', local('a'), options)],
    ['a null entry in a list', 'files[1]', (options, local) => download([{ url, localPath: local('a') }, null as unknown as FileSpec], options)],
    ['an ftp URL in a list', 'files[0].url', (options, local) => download([{ url: 'ftp://127.0.0.1/a', localPath: local('a') }], options)],
    ['Delivery Optimization options on BITS', 'files[0].size', (options, local) => download([{ url, localPath: local('a'), size: 5 }], options)],
    ['a bad file with a manager that is already connected', 'files[0].localPath', () => download(url, 'a.bin', { manager: h.bits })],
    ['options that are not an object', 'options', (_options, local) => download(url, local('a'), 'fast' as unknown as DownloadOptions)],
    ['an unknown priority', 'priority', (options, local) => download(url, local('a'), { ...options, priority: 'urgent' as JobPriority })],
    ['a header value with a line break', 'headers.X-Evil', (options, local) => download(url, local('a'), { ...options, headers: { 'X-Evil': 'a\r\nInjected: yes' } })],
    ['an app name that is not a string', 'appName', (options, local) => download(url, local('a'), { ...options, appName: 7 as unknown as string })],
    ['an app name too long for a display name', 'appName', (options, local) => download(url, local('a'), { ...options, appName: 'a'.repeat(255) })],
    ['a poll interval of 0', 'pollInterval', (options, local) => download(url, local('a'), { ...options, pollInterval: 0 })],
    ['a negative rate window', 'rateWindow', (options, local) => download(url, local('a'), { ...options, rateWindow: -1 })],
    ['a fractional retry count', 'retry.count', (options, local) => download(url, local('a'), { ...options, retry: { count: 1.5 } })],
    ['retry options that are not an object', 'retry', (options, local) => download(url, local('a'), { ...options, retry: 3 as unknown as RetryOnJobErrorOptions })],
    ['persist that is not a boolean', 'persist', (options, local) => download(url, local('a'), { ...options, persist: 'yes' as unknown as boolean })],
    ['an unknown backend', 'backend', (options, local) => download(url, local('a'), { ...options, backend: 'ftp' as 'bits' })],
    ['a manager that is not one', 'manager', (options, local) => download(url, local('a'), { ...options, manager: {} as BitsManager })],
    [
      'headers on Delivery Optimization',
      'headers',
      (options, local) => download(url, local('a'), { ...options, backend: 'delivery-optimization', headers: { 'X-App': 'a' } }),
      NotSupportedByBackendError,
    ],
  ];

  test.each(DOWNLOAD_CASES.map((c) => [c[0], c] as const))('%s', async (_description, [, field, start, type = InvalidArgumentError]) => {
    const { runtime, connects } = countConnects(h.service.runtime);
    const callsBefore = h.service.totalCalls();
    let stream: Observable<DownloadSnapshot> | undefined;
    expect(() => (stream = start({ runtime, pollInterval: 5 }, h.local))).not.toThrow();
    const error: unknown = await lastValueFrom(stream!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(type);
    if (type === InvalidArgumentError) {
      expect((error as InvalidArgumentError).field).toBe(field);
      expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
    }
    expect(connects.count).toBe(0);
    expect(h.service.totalCalls()).toBe(callsBefore);
    expect(h.service.queue).toHaveLength(0);
  });
});

describe('platform', () => {
  test('without Windows and without an injected runtime, naming BITS or Delivery Optimization is an UnsupportedPlatformError', async () => {
    expect(() => defaultRuntime()).toThrow(UnsupportedPlatformError);
    await expect(connect({ backend: 'bits' })).rejects.toThrow(/Windows services; this process runs on 'linux'/);
    await expect(connect({ backend: 'delivery-optimization' })).rejects.toBeInstanceOf(UnsupportedPlatformError);
    await expect(lastValueFrom(download(url, '/tmp/a.bin', { backend: 'bits' }))).rejects.toBeInstanceOf(UnsupportedPlatformError);
  });
});
