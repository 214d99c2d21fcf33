import { describe, expect, test } from 'vitest';
import { ComPtr } from '../src/com/com-ptr.js';
import { E_NOTIMPL, formatHresult, S_FALSE, S_OK } from '../src/com/hresult.js';
import {
  CLSID_BackgroundCopyManager,
  IBackgroundCopyJobHttpOptions,
  IBackgroundCopyManager,
  IEnumBackgroundCopyFiles,
  IEnumBackgroundCopyJobs,
} from '../src/com/interfaces.js';
import { pointerSlot, readPointer } from '../src/com/native-types.js';
import { useLoopback } from './support/harness.js';

/** Answers of the loopback that Windows gives (Microsoft's pages; Wine's dlls/qmgr/tests run on Windows). */

const hex = (hr: number): string => formatHresult(hr);

describe('what Windows answers', () => {
  const h = useLoopback();

  test('Skip landing exactly on the end is S_OK; S_FALSE only when fewer were left than asked ("IEnumBackgroundCopyJobs::Skip")', async () => {
    const job = await h.bits.createJob({
      displayName: 'skip',
      files: [
        { url: h.server.url('/files/a'), localPath: h.local('a.bin') },
        { url: h.server.url('/files/b'), localPath: h.local('b.bin') },
      ],
    });
    const slot = pointerSlot();
    await job.pointer.call('EnumFiles', slot);
    const files = ComPtr.fromSlot(slot, IEnumBackgroundCopyFiles)!;
    expect(hex(await files.callRaw('Skip', 2))).toBe(hex(S_OK));
    expect(hex(await files.callRaw('Skip', 0))).toBe(hex(S_OK));
    expect(hex(await files.callRaw('Skip', 1))).toBe(hex(S_FALSE));
    await files.call('Reset');
    expect(hex(await files.callRaw('Skip', 3))).toBe(hex(S_FALSE));
    await files.release();

    const manager = ComPtr.adopt(await h.service.runtime.createInstance(CLSID_BackgroundCopyManager, IBackgroundCopyManager.iid), IBackgroundCopyManager);
    await manager.call('EnumJobs', 0, slot);
    const jobs = ComPtr.adopt(readPointer(slot), IEnumBackgroundCopyJobs);
    expect(hex(await jobs.callRaw('Skip', 1))).toBe(hex(S_OK));
    expect(hex(await jobs.callRaw('Skip', 1))).toBe(hex(S_FALSE));
    await Promise.all([jobs.release(), manager.release()]);
    await job.cancel();
    await job.release();
  });

  test('GetCustomHeaders without headers answers S_FALSE and NULL, which getCustomHeaders reads as none', async () => {
    const job = await h.bits.createJob({ displayName: 'headers' });
    const options = await job.pointer.queryInterface(IBackgroundCopyJobHttpOptions);
    const slot = pointerSlot();
    slot.writeBigUInt64LE(0xdeadbeefn);
    expect(hex(await options.callRaw('GetCustomHeaders', slot))).toBe(hex(S_FALSE));
    expect(readPointer(slot)).toBe(0n);
    expect(await job.getCustomHeaders()).toEqual({});
    await job.setCustomHeaders({ 'X-Tenant': 'a' });
    expect(await job.getCustomHeaders()).toEqual({ 'X-Tenant': 'a' });
    await job.setCustomHeaders({});
    expect(hex(await options.callRaw('GetCustomHeaders', slot))).toBe(hex(S_FALSE));
    await options.release();
    await job.cancel();
    await job.release();
  });

  test('Get/SetSecurityFlags: 0 on a new job, the documented flags kept, an unsupported value E_NOTIMPL', async () => {
    const job = await h.bits.createJob({ displayName: 'security' });
    const options = await job.pointer.queryInterface(IBackgroundCopyJobHttpOptions);
    const flags = Buffer.alloc(4, 0xff);
    await options.call('GetSecurityFlags', flags);
    expect(flags.readUInt32LE()).toBe(0);
    // BG_SSL_ENABLE_CRL_CHECK | BG_SSL_IGNORE_UNKNOWN_CA | BG_HTTP_REDIRECT_POLICY_DISALLOW | ..._ALLOW_HTTPS_TO_HTTP
    await options.call('SetSecurityFlags', 0x1 | 0x8 | 0x200 | 0x800);
    await options.call('GetSecurityFlags', flags);
    expect(flags.readUInt32LE()).toBe(0xa09);
    for (const unsupported of [0x20, 0x300, 0x1000, 0x80000000]) {
      expect(hex(await options.callRaw('SetSecurityFlags', unsupported)), hex(unsupported)).toBe(hex(E_NOTIMPL));
    }
    await options.call('GetSecurityFlags', flags);
    expect(flags.readUInt32LE()).toBe(0xa09);
    await options.release();
    await job.cancel();
    await job.release();
  });
});
