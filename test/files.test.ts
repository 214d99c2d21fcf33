import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ComPtr } from '../src/com/com-ptr.js';
import { IBackgroundCopyFile2 } from '../src/com/interfaces.js';
import { ComError, InterfaceNotSupportedError, InvalidArgumentError, type BitsFile, type BitsJob, type BitsManager } from '../src/index.js';
import { content } from './support/http-server.js';
import { until, useLoopback, type Harness } from './support/harness.js';
import { withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyFile2-6 through BitsJob.files(), against the loopback service: each method, bad input
 * refused before any call (the loopback's call counts show none arrived), the service's own refusals,
 * and services too old for an interface.
 */

const h = useLoopback();

/** The job's one file for `use`, released afterwards. */
async function withFile<T>(job: BitsJob, use: (file: BitsFile) => Promise<T>): Promise<T> {
  const files = await job.files();
  try {
    expect(files).toHaveLength(1);
    return await use(files[0]!);
  } finally {
    await Promise.all(files.map((file) => file.release()));
  }
}

/** A job of one file from the test server, transferred. */
async function transferredJob(bits: BitsManager, harness: Harness, name: string, size = 1000): Promise<BitsJob> {
  const job = await bits.createJob({ displayName: name, files: [{ url: harness.server.url(`/files/${name}?size=${size}`), localPath: harness.local(name) }] });
  await job.resume();
  await until(async () => (await job.getState()) === 'transferred');
  return job;
}

/** Expects `act` on the job's one file to fail with an InvalidArgumentError naming `field`, no call having reached the service. */
async function refusedBeforeCom(field: string, act: (file: BitsFile) => Promise<unknown>): Promise<void> {
  await withJob(h.bits, async (job) => {
    await job.addFile({ url: 'http://example.com/f.bin', localPath: h.local('f.bin') });
    await withFile(job, async (file) => {
      const before = h.service.totalCalls();
      const error = await act(file).catch((caught: unknown) => caught);
      expect(h.service.totalCalls(), 'calls that reached the service').toBe(before);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
    });
  });
}

describe('files()', () => {
  test('one BitsFile per file, in order, each with the names and progress getFiles() gives', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFiles([
        { url: 'http://example.com/a.bin', localPath: h.local('a.bin') },
        { url: 'http://example.com/b.bin', localPath: h.local('b.bin') },
      ]);
      const files = await job.files();
      expect(await Promise.all(files.map((file) => file.getInfo()))).toEqual(await job.getFiles());
      await Promise.all(files.map((file) => file.release()));
      expect(files.every((file) => file.released)).toBe(true);
    });
  });
});

describe('IBackgroundCopyFile2', () => {
  test('getFileRanges: the ranges the file was added with, in their order; [] for a whole file', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFilesWithRanges([{ url: 'http://example.com/r.bin', localPath: h.local('r.bin'), ranges: [{ offset: 100, length: 50 }, { offset: 10, length: 20 }, { offset: 200 }] }]);
      await withFile(job, async (file) => expect(await file.getFileRanges()).toEqual([{ offset: 100, length: 50 }, { offset: 10, length: 20 }, { offset: 200 }]));
    });
    await withJob(h.bits, async (job) => {
      await job.addFile({ url: 'http://example.com/w.bin', localPath: h.local('w.bin') });
      await withFile(job, async (file) => expect(await file.getFileRanges()).toEqual([]));
    });
  });

  test('setRemoteName moves the file, and the job downloads from there', async () => {
    const job = await h.bits.createJob({ displayName: 'moved', files: [{ url: h.server.url('/status/404'), localPath: h.local('moved.bin') }] });
    await withFile(job, (file) => file.setRemoteName(h.server.url('/files/moved?size=3000')));
    expect((await job.getFiles())[0]!.url).toBe(h.server.url('/files/moved?size=3000'));
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    await job.complete();
    await job.release();
    expect(await readFile(h.local('moved.bin'))).toEqual(content(3000));
  });

  test('setRemoteName may change the protocol, as Learn names as its typical use', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFile({ url: 'http://example.com/p.bin', localPath: h.local('p.bin') });
      await withFile(job, (file) => file.setRemoteName('file:///srv/share/p.bin'));
      expect((await job.getFiles())[0]!.url).toBe('file:///srv/share/p.bin');
    });
  });

  test.each([
    ['an empty URL', ''],
    ['a URL over 2,200 characters', `http://example.com/${'a'.repeat(2200)}`],
    ['a relative name', 'f.bin'],
    ['an ftp URL', 'ftp://example.com/f.bin'],
    ['credentials in the URL', 'http://user:secret@example.com/f.bin'],
    ['a URL with a NUL', 'http://example.com/f\0.bin'],
    ['not a string', 42],
  ])('setRemoteName: %s is refused before any call', async (_name, url) => {
    await refusedBeforeCom('remoteName', (file) => file.setRemoteName(url as string));
  });

  test('setRemoteName: upload jobs answer E_NOTIMPL, finished jobs BG_E_INVALID_STATE', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFile({ url: h.server.url('/upload/u'), localPath: h.local('u.bin') });
      const error = await withFile(job, (file) => file.setRemoteName('http://example.com/u').catch((caught: unknown) => caught));
      expect(error).toBeInstanceOf(ComError);
      expect(error).toMatchObject({ code: 'E_NOTIMPL', message: expect.stringContaining('only files of download jobs') });
    }, { type: 'upload' });
    const job = await h.bits.createJob({ displayName: 'finished', files: [{ url: 'http://example.com/c.bin', localPath: h.local('c.bin') }] });
    await withFile(job, async (file) => {
      await job.cancel();
      await expect(file.setRemoteName('http://example.com/d.bin')).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    });
    await job.release();
  });

  test('the loopback refuses what the library never sends, as BITS does (E_INVALIDARG)', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFile({ url: 'http://example.com/l.bin', localPath: h.local('l.bin') });
      await withFile(job, async (file) => {
        for (const name of ['', 'no-scheme', 'http://', `http://example.com/${'x'.repeat(2200)}`]) {
          expect(await file.withInterface(IBackgroundCopyFile2, (file2) => file2.callRaw('SetRemoteName', name))).toBe(0x80070057);
        }
      });
    });
  });
});

describe('IBackgroundCopyFile3', () => {
  test('the temporary name is the BIT*.tmp beside the local file, where the bytes are until complete()', async () => {
    const job = await transferredJob(h.bits, h, 'temp.bin', 500);
    const temporary = await withFile(job, (file) => file.getTemporaryName());
    expect(temporary).toMatch(/[/\\]BIT[0-9A-F]{8}\.tmp$/);
    expect(await readFile(temporary)).toEqual(content(500));
    await job.complete();
    await job.release();
  });

  test('validation: E_PENDING until the file is in; true is kept; false sends the job to ERROR and resume downloads again', async () => {
    const job = await h.bits.createJob({ displayName: 'validate', files: [{ url: h.server.url('/files/v.bin?size=800'), localPath: h.local('v.bin') }] });
    await withFile(job, async (file) => {
      await expect(file.setValidationState(true)).rejects.toMatchObject({ code: 'E_PENDING' });
      expect(await file.getValidationState()).toBe(false);
      await job.resume();
      await until(async () => (await job.getState()) === 'transferred');
      await file.setValidationState(true);
      expect(await file.getValidationState()).toBe(true);
      await file.setValidationState(false);
      expect(await job.getState()).toBe('error');
      expect(await job.getError()).toMatchObject({ code: 'BG_E_VALIDATION_FAILED', context: 'remoteFile' });
      expect((await file.getInfo()).completed).toBe(false);
      await job.resume();
      await until(async () => (await job.getState()) === 'transferred');
    });
    expect(h.server.requests('/files/v.bin')).toBe(2);
    await job.complete();
    await job.release();
  });

  test.each([['a number', 1], ['a string', 'true'], ['undefined', undefined]])('setValidationState: %s is refused before any call', async (_name, valid) => {
    await refusedBeforeCom('valid', (file) => file.setValidationState(valid as never));
  });

  test('isDownloadedFromPeer: no peers on the loopback', async () => {
    const job = await transferredJob(h.bits, h, 'peer.bin');
    expect(await withFile(job, (file) => file.isDownloadedFromPeer())).toBe(false);
    await job.complete();
    await job.release();
  });
});

describe('IBackgroundCopyFile4 and 5', () => {
  test('peer statistics: every byte from the origin', async () => {
    const job = await transferredJob(h.bits, h, 'stats.bin', 1234);
    expect(await withFile(job, (file) => file.getPeerDownloadStats())).toEqual({ fromOrigin: 1234, fromPeers: 0 });
    await job.complete();
    await job.release();
  });

  test("the HTTP response headers of the server's last answer; undefined before there was one", async () => {
    const job = await h.bits.createJob({ displayName: 'headers', files: [{ url: h.server.url('/files/h.bin?size=64'), localPath: h.local('h.bin') }] });
    await withFile(job, async (file) => {
      expect(await file.getProperty('httpResponseHeaders')).toBeUndefined();
      await job.resume();
      await until(async () => (await job.getState()) === 'transferred');
      const headers = await file.getProperty('httpResponseHeaders');
      expect(headers).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(headers).toMatch(/\r\ncontent-length: 64\r\n/i);
    });
    await job.complete();
    await job.release();
  });

  test('an unknown property is refused before any call', async () => {
    await refusedBeforeCom('property', (file) => file.getProperty('contentType' as never));
  });
});

describe('IBackgroundCopyFile6', () => {
  test('filled ranges follow the download; the position and requests are taken for an HTTP download', async () => {
    const job = await h.bits.createJob({ displayName: 'on demand', files: [{ url: h.server.url('/files/od.bin?size=4096'), localPath: h.local('od.bin') }] });
    await withFile(job, async (file) => {
      expect(await file.getFilledFileRanges()).toEqual([]);
      await file.updateDownloadPosition(1024);
      await job.resume();
      await until(async () => (await job.getState()) === 'transferred');
      expect(await file.getFilledFileRanges()).toEqual([{ offset: 0, length: 4096 }]);
      // Overlapping ranges are the service's to split; these are in already, the job stays TRANSFERRED.
      await file.requestFileRanges([{ offset: 0, length: 100 }, { offset: 50, length: 100 }]);
      expect(await job.getState()).toBe('transferred');
      // The size is known now: a range past the end is the service's BG_E_INVALID_RANGE.
      await expect(file.requestFileRanges([{ offset: 4000, length: 200 }])).rejects.toMatchObject({ code: 'BG_E_INVALID_RANGE' });
    });
    await job.complete();
    await job.release();
  });

  test('once the requested ranges are in, the job is suspended while the rest of the file is not', async () => {
    const job = await h.bits.createJob({ displayName: 'ranges in', files: [{ url: h.server.url('/gate/held-od?size=10000&head=3000'), localPath: h.local('held.bin') }] });
    await withFile(job, async (file) => {
      await file.requestFileRanges([{ offset: 1000, length: 2000 }]);
      await job.resume();
      await until(async () => (await job.getState()) === 'suspended');
      const [filled] = await file.getFilledFileRanges();
      expect(filled!.offset).toBe(0);
      expect(filled!.length).toBeGreaterThanOrEqual(3000);
      expect(filled!.length).toBeLessThan(10000);
    });
    h.server.open('held-od');
    await job.cancel();
    await job.release();
  });

  test('a file that cannot be read at random: BG_E_RANDOM_ACCESS_NOT_SUPPORTED', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFilesWithRanges([{ url: 'http://example.com/r.bin', localPath: h.local('r.bin'), ranges: [{ offset: 0, length: 10 }] }]);
      await withFile(job, async (file) => {
        await expect(file.updateDownloadPosition(0)).rejects.toMatchObject({ code: 'BG_E_RANDOM_ACCESS_NOT_SUPPORTED' });
        await expect(file.requestFileRanges([{ offset: 0, length: 1 }])).rejects.toMatchObject({ code: 'BG_E_RANDOM_ACCESS_NOT_SUPPORTED' });
      });
    });
    await withJob(h.bits, async (job) => {
      await job.addFile({ url: '/srv/local.bin', localPath: h.local('local.bin') });
      await withFile(job, (file) => expect(file.updateDownloadPosition(0)).rejects.toMatchObject({ code: 'BG_E_RANDOM_ACCESS_NOT_SUPPORTED' }));
    });
  });

  test.each([
    ['a negative position', 'offset', (file: BitsFile) => file.updateDownloadPosition(-1)],
    ['a fractional position', 'offset', (file: BitsFile) => file.updateDownloadPosition(1.5)],
    ['no ranges', 'ranges', (file: BitsFile) => file.requestFileRanges([])],
    ['a range that is not an object', 'ranges[0]', (file: BitsFile) => file.requestFileRanges([5 as never])],
    ['an empty range', 'ranges[1].length', (file: BitsFile) => file.requestFileRanges([{ offset: 0, length: 1 }, { offset: 9, length: 0 }])],
  ])('%s is refused before any call', async (_name, field, act) => {
    await refusedBeforeCom(field, act);
  });
});

describe('older services', () => {
  afterEach(() => vi.restoreAllMocks());
  const calls: ReadonlyArray<readonly [string, string, string, string, (file: BitsFile) => Promise<unknown>]> = [
    ['1.5', 'setRemoteName', 'IBackgroundCopyFile2', '2.0', (file) => file.setRemoteName('http://example.com/b')],
    ['2.5', 'getTemporaryName', 'IBackgroundCopyFile3', '3.0', (file) => file.getTemporaryName()],
    ['3.0', 'getPeerDownloadStats', 'IBackgroundCopyFile4', '4.0', (file) => file.getPeerDownloadStats()],
    ['4.0', 'getProperty', 'IBackgroundCopyFile5', '5.0', (file) => file.getProperty('httpResponseHeaders')],
    ['5.0', 'getFilledFileRanges', 'IBackgroundCopyFile6', '10.1', (file) => file.getFilledFileRanges()],
  ];
  for (const [version, method, interfaceName, introducedIn, act] of calls) {
    const old = useLoopback({ bitsVersion: version });
    test(`BITS ${version}: ${method} is an InterfaceNotSupportedError naming ${interfaceName} (${introducedIn}), asked once per job`, async () => {
      const queryInterface = vi.spyOn(ComPtr.prototype, 'queryInterface');
      await withJob(old.bits, async (job) => {
        await job.addFile({ url: 'http://example.com/a.bin', localPath: old.local('a.bin') });
        for (let round = 0; round < 2; round++) {
          await withFile(job, async (file) => {
            const error = await act(file).catch((caught: unknown) => caught);
            expect(error).toBeInstanceOf(InterfaceNotSupportedError);
            expect(error).toMatchObject({ backend: 'bits', interfaceName, introducedIn });
          });
        }
      });
      // The refusal is the service's for good: asked once for the job, whose file objects share it.
      expect(queryInterface.mock.calls.filter(([target]) => target.name === interfaceName)).toHaveLength(1);
    });
  }
});
