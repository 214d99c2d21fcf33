import { describe, expect, test } from 'vitest';
import { COST_FLAGS, TRANSFER_POLICIES } from '../src/com/enums.js';
import { flagBits } from '../src/com/flags.js';
import { GuidFormatError, JobPropertyNotSupportedError, parseGuid, type BitsJob } from '../src/index.js';
import { until, useLoopback } from './support/harness.js';
import { notOnThisVersion, refusedBeforeCom, withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyJob5 (BITS 5.0) through BitsJob, against the loopback service: every job property,
 * the union passed by value (the loopback's copy of its bytes shows what arrived), bad values refused
 * before any call, the service's own refusals, and properties newer than the service.
 */

const h = useLoopback();

/** The union bytes the loopback stored for a property id. */
const stored = (job: BitsJob, id: number): Buffer | undefined => h.service.job(job.id)!.properties.get(id);

describe('transfer policy', () => {
  // bits-com-extended.md, "Enumerations and constants", transcribed: BITS_JOB_TRANSFER_POLICY_* as the SDK's values.
  test.each([
    ['always', 0x800000ff],
    ['notRoaming', 0x8000007f],
    ['noSurcharge', 0x8000006f],
    ['standard', 0x80000067],
    ['unrestricted', 0x80000021],
  ] as const)("the '%s' policy has the SDK's value (%d), and travels as such", async (name, bits) => {
    expect(flagBits(COST_FLAGS, TRANSFER_POLICIES[name], 'policy', 'cost flag')).toBe(bits);
    await withJob(h.bits, async (job) => {
      await job.setProperty('transferPolicy', name);
      expect(stored(job, 1)!.readUInt32LE()).toBe(bits);
      expect((await job.getProperty('transferPolicy')).policy).toBe(name);
    });
  });

  test('the cost flags have the SDK values', () => {
    expect(COST_FLAGS).toEqual({
      unrestricted: 0x1, cappedUsageUnknown: 0x2, belowCap: 0x4, nearCap: 0x8, overcapCharged: 0x10,
      overcapThrottled: 0x20, usageBased: 0x40, roaming: 0x80, ignoreCongestion: 0x80000000,
    });
  });

  test('a list of cost flags: only unmetered networks; read back as names, no policy matching it exactly', async () => {
    await withJob(h.bits, async (job) => {
      await job.setProperty('transferPolicy', ['unrestricted']);
      expect(stored(job, 1)!.readUInt32LE()).toBe(0x1);
      expect(await job.getProperty('transferPolicy')).toEqual({ policy: undefined, costFlags: ['unrestricted'] });
      await job.setProperty('transferPolicy', ['belowCap', 'unrestricted', 'ignoreCongestion']);
      expect(await job.getProperty('transferPolicy')).toEqual({ policy: undefined, costFlags: ['unrestricted', 'belowCap', 'ignoreCongestion'] });
    });
  });

  test.each([
    ['an unknown policy name', 'transferPolicy', 'notMetered'],
    ['an unknown cost flag', 'transferPolicy[1]', ['unrestricted', 'metered']],
    ['no network at all', 'transferPolicy', []],
    ['only ignoreCongestion', 'transferPolicy', ['ignoreCongestion']],
    ['a number', 'transferPolicy', 0x80000067],
  ])('%s is refused before any call', async (_name, field, value) => {
    await refusedBeforeCom(h, field, (job) => job.setProperty('transferPolicy', value as never));
  });
});

describe('the other properties', () => {
  test('notification CLSID: all 16 bytes of the union arrive; null clears (GUID_NULL)', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getProperty('notificationClsid')).toBeUndefined();
      await job.setProperty('notificationClsid', parseGuid('{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}'));
      expect(stored(job, 2)!.toString('hex')).toBe('3c2d1e0f5a4b7869' + '8796a5b4c3d2e1f0');
      expect(await job.getProperty('notificationClsid')).toBe('0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0');
      await job.setProperty('notificationClsid', null);
      expect(await job.getProperty('notificationClsid')).toBeUndefined();
    });
  });

  test('dynamic content: before the first resume, download jobs only, not with ranges', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getProperty('dynamicContent')).toBe(false);
      await job.setProperty('dynamicContent', true);
      expect(await job.getProperty('dynamicContent')).toBe(true);
      await job.addFile({ url: h.server.url('/files/d.bin?size=64'), localPath: h.local('d.bin') });
      await job.resume();
      await expect(job.setProperty('dynamicContent', false)).rejects.toMatchObject({ code: 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME' });
    });
    await withJob(h.bits, async (job) => {
      await job.addFilesWithRanges([{ url: h.server.url('/files/r.bin'), localPath: h.local('r.bin'), ranges: [{ offset: 0, length: 4 }] }]);
      await expect(job.setProperty('dynamicContent', true)).rejects.toMatchObject({ code: 'BG_E_UNSUPPORTED_JOB_CONFIGURATION' });
    });
    await withJob(h.bits, async (job) => {
      await expect(job.setProperty('dynamicContent', true)).rejects.toMatchObject({ code: 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY' });
    }, { type: 'upload' });
  });

  test('high performance: only before the first file', async () => {
    await withJob(h.bits, async (job) => {
      await job.setProperty('highPerformance', true);
      expect(await job.getProperty('highPerformance')).toBe(true);
      await job.addFile({ url: h.server.url('/files/p.bin'), localPath: h.local('p.bin') });
      await expect(job.setProperty('highPerformance', false)).rejects.toMatchObject({ code: 'BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE' });
    });
  });

  test('maximum download size: no limit until set; a UINT64 in the union', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getProperty('maxDownloadSize')).toBeUndefined();
      await job.setProperty('maxDownloadSize', 2 ** 40 + 5);
      expect(stored(job, 5)!.readBigUInt64LE()).toBe(2n ** 40n + 5n);
      expect(await job.getProperty('maxDownloadSize')).toBe(2 ** 40 + 5);
    });
  });

  test('a download over its maximum size fails with BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED', async () => {
    const job = await h.bits.createJob({ displayName: 'capped' });
    await job.setProperty('maxDownloadSize', 1000);
    await job.addFile({ url: h.server.url('/files/big.bin?size=4096'), localPath: h.local('big.bin') });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect((await job.getError())?.code).toBe('BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED');
    await job.cancel();
    await job.release();
  });

  test('stored credentials: the proxy target', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getProperty('useStoredCredentials')).toBeUndefined();
      await job.setProperty('useStoredCredentials', 'proxy');
      expect(stored(job, 7)!.readInt32LE()).toBe(2);
      expect(await job.getProperty('useStoredCredentials')).toBe('proxy');
    });
  });

  test('minimum notification interval: 500 ms by default', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getProperty('minimumNotificationInterval')).toBe(500);
      await job.setProperty('minimumNotificationInterval', 2000);
      expect(await job.getProperty('minimumNotificationInterval')).toBe(2000);
    });
  });

  test('on-demand mode: off by default; not with dynamic content', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getProperty('onDemand')).toBe(false);
      await job.setProperty('onDemand', true);
      expect(await job.getProperty('onDemand')).toBe(true);
      await expect(job.setProperty('dynamicContent', true)).rejects.toMatchObject({ code: 'BG_E_UNSUPPORTED_JOB_CONFIGURATION' });
    });
  });

  test('a job that left the queue takes none (BG_E_INVALID_STATE)', async () => {
    const job = await h.bits.createJob({ displayName: 'finished' });
    await job.cancel();
    await expect(job.setProperty('transferPolicy', 'always')).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.release();
  });

  test.each([
    ['an unknown property', 'property', 'bandwidth', 1],
    ['dynamic content that is not a boolean', 'dynamicContent', 'dynamicContent', 1],
    ['a maximum download size of 0', 'maxDownloadSize', 'maxDownloadSize', 0],
    ['a maximum download size beyond 2^53', 'maxDownloadSize', 'maxDownloadSize', 2 ** 53],
    ['stored credentials for the server', 'useStoredCredentials', 'useStoredCredentials', 'server'],
    ['a negative notification interval', 'minimumNotificationInterval', 'minimumNotificationInterval', -1],
    ['a notification interval beyond a DWORD', 'minimumNotificationInterval', 'minimumNotificationInterval', 2 ** 32],
    ['on-demand mode as a string', 'onDemand', 'onDemand', 'yes'],
  ])('%s is refused before any call', async (_name, field, property, value) => {
    await refusedBeforeCom(h, field, (job) => job.setProperty(property as never, value as never));
  });

  test('a malformed CLSID is a GuidFormatError naming the property, before any call', async () => {
    const error = await refusedBeforeCom(h, 'notificationClsid', (job) => job.setProperty('notificationClsid', 'not-a-guid' as never));
    expect(error).toBeInstanceOf(GuidFormatError);
  });
});

describe('older services', () => {
  const bits5 = useLoopback({ bitsVersion: '5.0' });

  test.each([
    ['minimumNotificationInterval', (job: BitsJob) => job.setProperty('minimumNotificationInterval', 1000)],
    ['minimumNotificationInterval', (job: BitsJob) => job.getProperty('minimumNotificationInterval')],
    ['onDemand', (job: BitsJob) => job.setProperty('onDemand', true)],
    ['onDemand', (job: BitsJob) => job.getProperty('onDemand')],
  ])('BITS 5.0: %s is a JobPropertyNotSupportedError naming BITS 10.1', async (property, act) => {
    await withJob(bits5.bits, async (job) => {
      const error = await act(job).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(JobPropertyNotSupportedError);
      expect(error).toMatchObject({ property, introducedIn: '10.1', backend: 'bits' });
    });
  });

  test('BITS 5.0 has the transfer policy', async () => {
    await withJob(bits5.bits, async (job) => {
      await job.setProperty('transferPolicy', 'noSurcharge');
      expect((await job.getProperty('transferPolicy')).policy).toBe('noSurcharge');
    });
  });

  const bits4 = useLoopback({ bitsVersion: '4.0' });

  test.each([
    ['setProperty', (job: BitsJob) => job.setProperty('transferPolicy', 'standard')],
    ['getProperty', (job: BitsJob) => job.getProperty('highPerformance')],
  ])('BITS 4.0: %s is an InterfaceNotSupportedError naming BITS 5.0', async (_name, act) => {
    await notOnThisVersion(bits4, 'IBackgroundCopyJob5', '5.0', act);
  });
});
