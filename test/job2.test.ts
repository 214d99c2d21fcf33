import koffi from 'koffi';
import { describe, expect, test, vi } from 'vitest';
import { withNativeCredentials } from '../src/com/credentials.js';
import { BG_AUTH_CREDENTIALS, type Pointer } from '../src/com/native-types.js';
import { ComError, type BitsJob, type Credentials } from '../src/index.js';
import { until, useLoopback } from './support/harness.js';
import { notOnThisVersion, refusedBeforeCom, withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyJob2 (BITS 1.5) through BitsJob, against the loopback service: the notify command
 * line, credentials (write-only, in native memory for the call only), and the reply methods' refusals
 * on jobs that have no reply. Uploads and their replies: upload.test.ts.
 */

const h = useLoopback();

describe('notify command line', () => {
  test('set and read back; BITS gets the quoted program at the head of the parameters', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getNotifyCommandLine()).toBeUndefined();
      await job.setNotifyCommandLine({ program: '/opt/app/update helper', parameters: '--installed "a b"' });
      expect(h.service.job(job.id)!.notifyCommandLine).toEqual({ program: '/opt/app/update helper', parameters: '"/opt/app/update helper" --installed "a b"' });
      expect(await job.getNotifyCommandLine()).toEqual({ program: '/opt/app/update helper', parameters: '--installed "a b"' });
      await job.setNotifyCommandLine({ program: '/opt/app/updater' });
      expect(await job.getNotifyCommandLine()).toEqual({ program: '/opt/app/updater' });
      await job.setNotifyCommandLine(null);
      expect(h.service.job(job.id)!.notifyCommandLine).toEqual({ program: '', parameters: '' });
      expect(await job.getNotifyCommandLine()).toBeUndefined();
    });
  });

  test.each([
    ['a relative program', 'notifyCommandLine.program', { program: 'updater' }],
    ['an empty program', 'notifyCommandLine.program', { program: '' }],
    ['a program over MAX_PATH', 'notifyCommandLine.program', { program: `/${'p'.repeat(259)}` }],
    ['a program with a NUL', 'notifyCommandLine.program', { program: '/opt/up\0dater' }],
    ['a program with a quote', 'notifyCommandLine.program', { program: '/opt/up"dater' }],
    ['parameters with a NUL', 'notifyCommandLine.parameters', { program: '/opt/updater', parameters: 'a\0b' }],
    ['parameters over 4,000 characters', 'notifyCommandLine.parameters', { program: '/opt/updater', parameters: 'x'.repeat(4001) }],
    ['parameters that fit only without the program', 'notifyCommandLine.parameters', { program: '/opt/updater', parameters: 'x'.repeat(3990) }],
    ['parameters that are not a string', 'notifyCommandLine.parameters', { program: '/opt/updater', parameters: 42 }],
  ])('%s is refused before any call', async (_name, field, commandLine) => {
    await refusedBeforeCom(h, field, (job) => job.setNotifyCommandLine(commandLine as never));
  });

  test('a finished job refuses it with BG_E_INVALID_STATE', async () => {
    const job = await h.bits.createJob({ displayName: 'finished' });
    await job.cancel();
    await expect(job.setNotifyCommandLine({ program: '/opt/updater' })).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.release();
  });

  test('TakeOwnership removes it, and the credentials', async () => {
    await withJob(h.bits, async (job) => {
      await job.setNotifyCommandLine({ program: '/opt/updater' });
      await job.setCredentials({ target: 'proxy', scheme: 'ntlm' });
      await job.takeOwnership();
      expect(await job.getNotifyCommandLine()).toBeUndefined();
      expect(h.service.job(job.id)!.credentials.size).toBe(0);
    });
  });
});

describe('credentials', () => {
  const every: Credentials[] = (['server', 'proxy'] as const).flatMap((target) =>
    (['basic', 'digest', 'ntlm', 'negotiate', 'passport'] as const).map((scheme) => ({ target, scheme, userName: `${target}-${scheme}`, password: 's3cret' })),
  );

  test('every target and scheme is stored, one entry per pair, replaced on repeat', async () => {
    await withJob(h.bits, async (job) => {
      for (const credentials of every) await job.setCredentials(credentials);
      const stored = h.service.job(job.id)!.credentials;
      expect(stored.size).toBe(10);
      expect(stored.get('2/3')).toEqual({ userName: 'proxy-ntlm', password: 's3cret' });
      await job.setCredentials({ target: 'proxy', scheme: 'ntlm', userName: 'other', password: 'x' });
      expect(stored.size).toBe(10);
      expect(stored.get('2/3')).toEqual({ userName: 'other', password: 'x' });
    });
  });

  test('NTLM and Negotiate without a user name use the logged-on user (NULL, NULL)', async () => {
    await withJob(h.bits, async (job) => {
      await job.setCredentials({ target: 'server', scheme: 'negotiate' });
      expect(h.service.job(job.id)!.credentials.get('1/4')).toEqual({ userName: null, password: null });
    });
  });

  test('nothing reads them back: BitsJob has no getter, and the job answers no method with them', async () => {
    await withJob(h.bits, async (job) => {
      await job.setCredentials({ target: 'server', scheme: 'basic', userName: 'u', password: 'hunter2' });
      expect(Object.getOwnPropertyNames(Object.getPrototypeOf(job)).filter((name) => /credential/i.test(name))).toEqual(['setCredentials', 'removeCredentials']);
      expect(JSON.stringify(job)).not.toContain('hunter2');
    });
  });

  test('removeCredentials drops one pair; one never set is no error (S_FALSE)', async () => {
    await withJob(h.bits, async (job) => {
      await job.setCredentials({ target: 'server', scheme: 'digest', userName: 'u', password: 'p' });
      await job.removeCredentials('server', 'digest');
      expect(h.service.job(job.id)!.credentials.size).toBe(0);
      await job.removeCredentials('proxy', 'basic');
    });
  });

  test.each([
    ['an unknown target', 'credentials.target', { target: 'gateway', scheme: 'basic', userName: 'u', password: 'p' }],
    ['an unknown scheme', 'credentials.scheme', { target: 'server', scheme: 'kerberos', userName: 'u', password: 'p' }],
    ['Basic without a user name', 'credentials.userName', { target: 'server', scheme: 'basic' }],
    ['Digest without a password', 'credentials.password', { target: 'proxy', scheme: 'digest', userName: 'u' }],
    ['NTLM with half a pair', 'credentials.password', { target: 'proxy', scheme: 'ntlm', userName: 'u' }],
    ['a user name over 300 characters', 'credentials.userName', { target: 'server', scheme: 'basic', userName: 'u'.repeat(301), password: 'p' }],
    ['a password over 65,536 characters', 'credentials.password', { target: 'server', scheme: 'basic', userName: 'u', password: 'p'.repeat(65_537) }],
    ['a password with a NUL', 'credentials.password', { target: 'server', scheme: 'basic', userName: 'u', password: 'hunter\u00002' }],
    ['a user name with a NUL', 'credentials.userName', { target: 'server', scheme: 'basic', userName: 'a\0b', password: 'hunter2' }],
    ['not an object', 'credentials', null],
    ['a password that is not a string', 'credentials.password', { target: 'server', scheme: 'basic', userName: 'u', password: 7_654_321 }],
  ])('%s is refused before any call, naming the field and never the secret', async (_name, field, credentials) => {
    const error = await refusedBeforeCom(h, field, (job) => job.setCredentials(credentials as never));
    expect(`${error.message} ${error.stack}`).not.toMatch(/hunter|7654321/);
  });

  test.each([
    ['target', 'credentials.target', 'gateway', 'basic'],
    ['scheme', 'credentials.scheme', 'server', 'kerberos'],
  ])('removeCredentials with an unknown %s is refused before any call', async (_name, field, target, scheme) => {
    await refusedBeforeCom(h, field, (job) => job.removeCredentials(target as never, scheme as never));
  });

  test('the strings are in native memory for the call only, and zeroed before the block is freed', async () => {
    const size = koffi.sizeof(BG_AUTH_CREDENTIALS) + 2 * ('user'.length + 1) + 2 * ('hunter2'.length + 1);
    const realFree = koffi.free.bind(koffi);
    let address: Pointer = 0n;
    let atFree: Buffer | undefined;
    const free = vi.spyOn(koffi, 'free').mockImplementation((value: unknown) => {
      if (value === address) atFree = Buffer.from(new Uint8Array(koffi.view(value, size)));
      realFree(value);
    });
    try {
      const seen = await withNativeCredentials({ target: 2, scheme: 1, userName: 'user', password: 'hunter2' }, async (block) => {
        address = block;
        return koffi.decode(block, BG_AUTH_CREDENTIALS) as unknown;
      });
      expect(seen).toEqual({ Target: 2, Scheme: 1, Credentials: { UserName: 'user', Password: 'hunter2' } });
    } finally {
      free.mockRestore();
    }
    expect(atFree, 'the block was freed').toBeDefined();
    expect([...atFree!].every((byte) => byte === 0), 'every byte zero when freed').toBe(true);
  });

  test('the block is freed when the call fails too', async () => {
    const free = vi.spyOn(koffi, 'free');
    try {
      await expect(withNativeCredentials({ target: 1, scheme: 3, userName: null, password: null }, () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
      expect(free).toHaveBeenCalledTimes(1);
    } finally {
      free.mockRestore();
    }
  });

  test('a server that challenges with Basic gets them; rejected ones end in ERROR with BG_E_HTTP_ERROR_401', async () => {
    const url = h.server.url('/files/guarded.bin?size=4096&user=alice&password=hunter2');
    const good = await h.bits.createJob({ displayName: 'auth', files: [{ url, localPath: h.local('good.bin') }] });
    await good.setCredentials({ target: 'server', scheme: 'basic', userName: 'alice', password: 'hunter2' });
    await good.resume();
    await until(async () => (await good.getState()) === 'transferred');
    await good.complete();
    await good.release();

    const bad = await h.bits.createJob({ displayName: 'auth', files: [{ url, localPath: h.local('bad.bin') }] });
    await bad.setCredentials({ target: 'server', scheme: 'basic', userName: 'alice', password: 'wrong' });
    await bad.resume();
    await until(async () => (await bad.getState()) === 'error');
    expect((await bad.getError())?.code).toBe('BG_E_HTTP_ERROR_401');
    await bad.cancel();
    await bad.release();
  });
});

describe('reply methods outside upload-reply jobs', () => {
  test.each([
    ['getReplyData', (job: BitsJob) => job.getReplyData()],
    ['getReplyProgress', (job: BitsJob) => job.getReplyProgress()],
    ['getReplyFileName', (job: BitsJob) => job.getReplyFileName()],
    ['setReplyFileName', (job: BitsJob) => job.setReplyFileName(null)],
  ])('%s on a download job is E_NOTIMPL from the service', async (_name, act) => {
    await withJob(h.bits, async (job) => {
      const error = await act(job).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ComError);
      expect(error).toMatchObject({ code: 'E_NOTIMPL' });
    });
  });
});

describe('services without IBackgroundCopyJob2', () => {
  const old = useLoopback({ bitsVersion: '1.0' });

  test.each([
    ['setNotifyCommandLine', (job: BitsJob) => job.setNotifyCommandLine({ program: '/opt/updater' })],
    ['setCredentials', (job: BitsJob) => job.setCredentials({ target: 'server', scheme: 'ntlm' })],
    ['getReplyData', (job: BitsJob) => job.getReplyData()],
  ])('BITS 1.0: %s is an InterfaceNotSupportedError naming BITS 1.5', async (_name, act) => {
    await notOnThisVersion(old, 'IBackgroundCopyJob2', '1.5', act);
  });
});
