import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { IBackgroundCopyJob3 } from '../src/com/interfaces.js';
import { encodeFileRanges } from '../src/com/file-ranges.js';
import { ComError, type BitsJob } from '../src/index.js';
import { content } from './support/http-server.js';
import { until, useLoopback } from './support/harness.js';
import { notOnThisVersion, refusedBeforeCom, withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyJob3 (BITS 2.0) through BitsJob, against the loopback service: remote prefix
 * replacement, files with byte ranges (every range checked before any call), and the ACL flags.
 */

const h = useLoopback();

describe('replaceRemotePrefix', () => {
  test('moves every matching file to the new prefix (case-sensitive) and says whether any matched', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFiles([
        { url: 'http://old.example/a.bin', localPath: h.local('a.bin') },
        { url: 'http://old.example/b.bin', localPath: h.local('b.bin') },
        { url: 'http://other.example/c.bin', localPath: h.local('c.bin') },
      ]);
      expect(await job.replaceRemotePrefix('http://OLD.example', 'http://mirror.example')).toBe(false);
      expect(await job.replaceRemotePrefix('http://old.example', 'http://mirror.example/pub')).toBe(true);
      expect((await job.getFiles()).map((file) => file.url)).toEqual(['http://mirror.example/pub/a.bin', 'http://mirror.example/pub/b.bin', 'http://other.example/c.bin']);
    });
  });

  test('the moved job downloads from the new place', async () => {
    const job = await h.bits.createJob({ displayName: 'mirror', files: [{ url: 'http://127.0.0.1:1/files/m.bin?size=2048', localPath: h.local('m.bin') }] });
    await job.replaceRemotePrefix('http://127.0.0.1:1', new URL(h.server.url('/')).origin);
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    await job.complete();
    await job.release();
    expect(await readFile(h.local('m.bin'))).toEqual(content(2048));
  });

  test.each([
    ['an empty old prefix', 'oldPrefix', '', 'http://b'],
    ['an empty new prefix', 'newPrefix', 'http://a', ''],
    ['a new prefix over 2,200 characters', 'newPrefix', 'http://a', `http://${'b'.repeat(2200)}`],
    ['a prefix with a NUL', 'oldPrefix', 'http://a\0', 'http://b'],
    ['a prefix that is not a string', 'newPrefix', 'http://a', 42],
  ])('%s is refused before any call', async (_name, field, oldPrefix, newPrefix) => {
    await refusedBeforeCom(h, field, (job) => job.replaceRemotePrefix(oldPrefix, newPrefix as string));
  });

  test('a finished job refuses it (BG_E_INVALID_STATE), an upload job does not take it (E_NOTIMPL)', async () => {
    const job = await h.bits.createJob({ displayName: 'finished' });
    await job.cancel();
    await expect(job.replaceRemotePrefix('http://a', 'http://b')).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.release();
    await withJob(h.bits, async (upload) => {
      const error = await upload.replaceRemotePrefix('http://a', 'http://b').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ComError);
      expect(error).toMatchObject({ code: 'E_NOTIMPL', message: expect.stringContaining('only download jobs') });
    }, { type: 'upload' });
  });
});

describe('addFilesWithRanges', () => {
  test('only the ranges arrive, back to back in the order given', async () => {
    const url = h.server.url('/files/ranged.bin?size=4096');
    const job = await h.bits.createJob({ displayName: 'ranges' });
    await job.addFilesWithRanges([{ url, localPath: h.local('ranged.bin'), ranges: [{ offset: 100, length: 50 }, { offset: 10, length: 20 }, { offset: 4000 }] }]);
    expect(h.service.job(job.id)!.files[0]!.ranges).toEqual([{ offset: 100, length: 50 }, { offset: 10, length: 20 }, { offset: 4000, length: undefined }]);
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    await job.complete();
    await job.release();
    const whole = content(4096);
    expect(await readFile(h.local('ranged.bin'))).toEqual(Buffer.concat([whole.subarray(100, 150), whole.subarray(10, 30), whole.subarray(4000)]));
  });

  test('a range past the end of the remote file ends the job in ERROR with BG_E_INVALID_RANGE', async () => {
    const job = await h.bits.createJob({ displayName: 'past the end' });
    await job.addFilesWithRanges([{ url: h.server.url('/files/short.bin?size=100'), localPath: h.local('short.bin'), ranges: [{ offset: 200, length: 10 }] }]);
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect((await job.getError())?.code).toBe('BG_E_INVALID_RANGE');
    await job.cancel();
    await job.release();
  });

  const file = (ranges: unknown, url = 'http://example.com/f.bin'): unknown => ({ url, localPath: '/tmp/f.bin', ranges });
  test.each([
    ['no ranges', 'files[0].ranges', [file(undefined)]],
    ['an empty list of ranges (RangeCount 0)', 'files[0].ranges', [file([])]],
    ['a range that is not an object', 'files[0].ranges[0]', [file([7])]],
    ['a negative offset', 'files[0].ranges[0].offset', [file([{ offset: -1, length: 5 }])]],
    ['a fractional length', 'files[0].ranges[1].length', [file([{ offset: 0, length: 5 }, { offset: 10, length: 2.5 }])]],
    ['an empty range', 'files[0].ranges[0].length', [file([{ offset: 0, length: 0 }])]],
    ['an offset beyond 2^53', 'files[0].ranges[0].offset', [file([{ offset: 2 ** 64 - 1 }])]],
    ['overlapping ranges (named by the later one)', 'files[0].ranges[2]', [file([{ offset: 0, length: 10 }, { offset: 100, length: 10 }, { offset: 5, length: 10 }])]],
    ['a duplicate range', 'files[0].ranges[1]', [file([{ offset: 8, length: 8 }, { offset: 8, length: 8 }])]],
    ['a range after one that runs to the end', 'files[0].ranges[1]', [file([{ offset: 50, length: 1 }, { offset: 10 }])]],
    ['a bad range in the second file, the first being fine', 'files[1].ranges[0].offset', [file([{ offset: 0 }]), file([{ offset: 'zero' }])]],
    ['an SMB source', 'files[0].url', [file([{ offset: 0 }], '\\\\server\\share\\f.bin')]],
    ['a local file source', 'files[0].url', [file([{ offset: 0 }], 'file:///srv/f.bin')]],
    ['a relative local path', 'files[0].localPath', [{ url: 'http://example.com/f.bin', localPath: 'f.bin', ranges: [{ offset: 0 }] }]],
  ])('%s is refused before any call', async (_name, field, files) => {
    await refusedBeforeCom(h, field, (job) => job.addFilesWithRanges(files as never));
  });

  test('more than 500 ranges: the service answers BG_E_TOO_MANY_RANGES_IN_FILE (a policy an administrator may raise)', async () => {
    await withJob(h.bits, async (job) => {
      const ranges = Array.from({ length: 501 }, (_, index) => ({ offset: index * 2, length: 1 }));
      await expect(job.addFilesWithRanges([{ url: h.server.url('/files/many.bin'), localPath: h.local('many.bin'), ranges }])).rejects.toMatchObject({ code: 'BG_E_TOO_MANY_RANGES_IN_FILE' });
      expect(h.service.job(job.id)!.files).toHaveLength(0);
    });
  });

  test('the loopback refuses what the library never sends, as BITS does', async () => {
    await withJob(h.bits, async (job) => {
      const call = (ranges: Buffer, count: number) =>
        job.withInterface(IBackgroundCopyJob3, (job3) => job3.callRaw('AddFileWithRanges', 'http://example.com/f', '/tmp/f', count, ranges));
      expect(await call(encodeFileRanges([{ offset: 0, length: 10 }, { offset: 5, length: 10 }]), 2)).toBe(0x8020002c); // BG_E_OVERLAPPING_RANGES
      const eof = encodeFileRanges([{ offset: 0 }]);
      eof.writeBigUInt64LE(0xffffffffffffffffn, 0);
      expect(await call(eof, 1)).toBe(0x8020002b); // BG_E_INVALID_RANGE
      expect(await call(Buffer.alloc(16), 0)).toBe(0x80070057); // E_INVALIDARG
    });
  });

  test('an upload job does not take ranges (E_NOTIMPL)', async () => {
    await withJob(h.bits, async (job) => {
      await expect(job.addFilesWithRanges([{ url: h.server.url('/upload/x'), localPath: h.local('x'), ranges: [{ offset: 0 }] }])).rejects.toMatchObject({ code: 'E_NOTIMPL' });
    }, { type: 'upload' });
  });
});

describe('file ACL flags', () => {
  test('set as names, read back as names; [] keeps none', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getFileAclFlags()).toEqual([]);
      await job.setFileAclFlags(['dacl', 'owner']);
      expect(h.service.job(job.id)!.fileAclFlags).toBe(0x5);
      expect(await job.getFileAclFlags()).toEqual(['owner', 'dacl']);
      await job.setFileAclFlags(['owner', 'group', 'dacl', 'sacl']);
      expect(h.service.job(job.id)!.fileAclFlags).toBe(0xf);
      await job.setFileAclFlags([]);
      expect(await job.getFileAclFlags()).toEqual([]);
    });
  });

  test.each([
    ['an unknown name', 'fileAclFlags[1]', ['owner', 'everyone']],
    ['a number', 'fileAclFlags', 15],
    ['a number in the list', 'fileAclFlags[0]', [4]],
  ])('%s is refused before any call', async (_name, field, flags) => {
    await refusedBeforeCom(h, field, (job) => job.setFileAclFlags(flags as never));
  });

  test('a bit the SDK does not define, answered by the service, is reported rather than dropped', async () => {
    await withJob(h.bits, async (job) => {
      h.service.job(job.id)!.fileAclFlags = 0x1 | 0x40;
      await expect(job.getFileAclFlags()).rejects.toThrow(/unknown file ACL flag bits 0x40/);
    });
  });

  test('a transferred job refuses them (BG_E_INVALID_STATE)', async () => {
    const job = await h.bits.createJob({ displayName: 'acl', files: [{ url: h.server.url('/files/acl.bin?size=64'), localPath: h.local('acl.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    await expect(job.setFileAclFlags(['owner'])).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.complete();
    await job.release();
  });
});

describe('services without IBackgroundCopyJob3', () => {
  const old = useLoopback({ bitsVersion: '1.5' });

  test.each([
    ['replaceRemotePrefix', (job: BitsJob) => job.replaceRemotePrefix('http://a', 'http://b')],
    ['addFilesWithRanges', (job: BitsJob) => job.addFilesWithRanges([{ url: 'http://a/f', localPath: '/tmp/f', ranges: [{ offset: 0 }] }])],
    ['setFileAclFlags', (job: BitsJob) => job.setFileAclFlags(['owner'])],
    ['getFileAclFlags', (job: BitsJob) => job.getFileAclFlags()],
  ])('BITS 1.5: %s is an InterfaceNotSupportedError naming BITS 2.0', async (_name, act) => {
    await notOnThisVersion(old, 'IBackgroundCopyJob3', '2.0', act);
  });
});
