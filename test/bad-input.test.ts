import { describe, expect, test } from 'vitest';
import {
  connect,
  GuidFormatError,
  InvalidArgumentError,
  ReleasedError,
  UnsupportedPlatformError,
  defaultRuntime,
  type BitsJob,
  type BitsManager,
  type FileSpec,
  type JobPriority,
  type JobType,
} from '../src/index.js';
import { useLoopback } from './support/harness.js';

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
  ['unsupported URL scheme', 'files[1].url', (_bits, job, local) => job.addFiles([file({}, local), file({ url: 'ftp://127.0.0.1/a' }, local)])],
  ['javascript: URL', 'file.url', (_bits, job, local) => job.addFile(file({ url: 'javascript:alert(1)' }, local))],
  ['credentials in the URL', 'files[0].url', (_bits, job, local) => job.addFiles([file({ url: 'http://user:secret@127.0.0.1/a' }, local)])],
  ['remote name that is neither URL nor path', 'files[0].url', (_bits, job, local) => job.addFiles([file({ url: 'not a url' }, local)])],
  ['negative file size', 'files[0].size', (_bits, job, local) => job.addFiles([file({ size: -1 }, local)])],
  ['Delivery Optimization options on BITS', 'files', (_bits, job, local) => job.addFiles([file({ fileId: 'x' }, local)])],
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

describe('platform', () => {
  test('without Windows and without an injected runtime, connecting is an UnsupportedPlatformError', async () => {
    expect(() => defaultRuntime()).toThrow(UnsupportedPlatformError);
    await expect(connect()).rejects.toThrow(/Windows services; this process runs on 'linux'/);
  });
});
