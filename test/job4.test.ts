import { describe, expect, test } from 'vitest';
import { connect, type BitsJob } from '../src/index.js';
import { until, useLoopback } from './support/harness.js';
import { notOnThisVersion, refusedBeforeCom, withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyJob4 (BITS 3.0) through BitsJob, against the loopback service: peer caching flags
 * as names, the owner's integrity level and elevation, and the maximum download time (enforced).
 */

const h = useLoopback();

describe('peer caching flags', () => {
  test('set as names, read back as names; [] for none', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getPeerCachingFlags()).toEqual([]);
      await job.setPeerCachingFlags(['disableBranchCache', 'enableClient']);
      expect(h.service.job(job.id)!.peerCachingFlags).toBe(0x5);
      expect(await job.getPeerCachingFlags()).toEqual(['enableClient', 'disableBranchCache']);
      await job.setPeerCachingFlags(['enableServer']);
      expect(h.service.job(job.id)!.peerCachingFlags).toBe(0x2);
      await job.setPeerCachingFlags([]);
      expect(await job.getPeerCachingFlags()).toEqual([]);
    });
  });

  test.each([
    ['an unknown name', 'peerCachingFlags[0]', ['branchCache']],
    ['a bit mask', 'peerCachingFlags', 3],
  ])('%s is refused before any call', async (_name, field, flags) => {
    await refusedBeforeCom(h, field, (job) => job.setPeerCachingFlags(flags as never));
  });

  test('a finished job refuses them (BG_E_INVALID_STATE)', async () => {
    const job = await h.bits.createJob({ displayName: 'finished' });
    await job.cancel();
    await expect(job.setPeerCachingFlags(['enableClient'])).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await expect(job.setMaximumDownloadTime(60)).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.release();
  });
});

describe('owner', () => {
  test("an ordinary user's job: medium integrity, not elevated", async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getOwnerIntegrityLevel()).toBe(0x2000);
      expect(await job.isOwnerElevated()).toBe(false);
    });
  });

  test("an elevated administrator's job: high integrity, elevated", async () => {
    const admin = await connect({ backend: 'bits', runtime: h.service.process('admin', { user: 'S-1-5-21-1-2-3-500', elevated: true }).runtime });
    try {
      await withJob(admin, async (job) => {
        expect(await job.getOwnerIntegrityLevel()).toBe(0x3000);
        expect(await job.isOwnerElevated()).toBe(true);
      });
    } finally {
      await admin.release();
    }
  });
});

describe('maximum download time', () => {
  test("BITS's default is 90 days; set and read back", async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getMaximumDownloadTime()).toBe(7_776_000);
      await job.setMaximumDownloadTime(3600);
      expect(await job.getMaximumDownloadTime()).toBe(3600);
    });
  });

  test.each([
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['more than a DWORD', 2 ** 32],
    ['a string', '60'],
  ])('%s is refused before any call', async (_name, seconds) => {
    await refusedBeforeCom(h, 'maximumDownloadTime', (job) => job.setMaximumDownloadTime(seconds as never));
  });

  test('a transfer still running when it has passed fails with BG_E_MAXDOWNLOAD_TIMEOUT', async () => {
    // A gated file never finishes unless the test opens the gate: only the time limit can end it.
    const job = await h.bits.createJob({ displayName: 'slow', files: [{ url: h.server.url('/gate/held.bin?size=4096'), localPath: h.local('held.bin') }] });
    await job.setMaximumDownloadTime(1);
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect((await job.getError())?.code).toBe('BG_E_MAXDOWNLOAD_TIMEOUT');
    await job.cancel();
    await job.release();
  });
});

describe('services without IBackgroundCopyJob4', () => {
  const old = useLoopback({ bitsVersion: '2.5' });

  test.each([
    ['setPeerCachingFlags', (job: BitsJob) => job.setPeerCachingFlags([])],
    ['getPeerCachingFlags', (job: BitsJob) => job.getPeerCachingFlags()],
    ['getOwnerIntegrityLevel', (job: BitsJob) => job.getOwnerIntegrityLevel()],
    ['isOwnerElevated', (job: BitsJob) => job.isOwnerElevated()],
    ['setMaximumDownloadTime', (job: BitsJob) => job.setMaximumDownloadTime(60)],
    ['getMaximumDownloadTime', (job: BitsJob) => job.getMaximumDownloadTime()],
  ])('BITS 2.5: %s is an InterfaceNotSupportedError naming BITS 3.0', async (_name, act) => {
    await notOnThisVersion(old, 'IBackgroundCopyJob4', '3.0', act);
  });

  test('BITS 2.5 still has IBackgroundCopyJob3', async () => {
    await withJob(old.bits, async (job) => {
      expect(await job.getFileAclFlags()).toEqual([]);
    });
  });
});
