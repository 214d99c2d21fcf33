import { describe, expect, test } from 'vitest';
import { connect, NotSupportedByBackendError, NotifyFlags } from '../src/index.js';
import { Recorder, useLoopback } from './support/harness.js';

describe('Delivery Optimization backend', () => {
  const h = useLoopback({}, 'delivery-optimization');

  test('files go through IDeliveryOptimizationJob::AddFileWithRanges and the download completes', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({
      displayName: 'do',
      files: [
        { url: h.server.url('/files/d1?size=5000'), localPath: h.local('d1.bin'), fileId: 'content-1', size: 5000 },
        { url: h.server.url('/files/d2?size=10'), localPath: h.local('d2.bin') },
      ],
    });
    expect(h.bits.backend).toBe('delivery-optimization');
    expect(h.service.calls('IDeliveryOptimizationJob::AddFileWithRanges')).toBe(2);
    expect(h.service.calls('IBackgroundCopyJob::AddFile')).toBe(0);
    expect(h.service.calls('IBackgroundCopyJob::AddFileSet')).toBe(0);
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    await recorder.waitFor('transferred');
    await job.complete();
    await job.release();
    await recorder.dispose();
  });

  test('what DO lacks is a typed error raised without touching the vtable', async () => {
    const job = await h.bits.createJob({ displayName: 'subset' });
    const refusals = [
      () => h.bits.jobs().next(),
      () => job.setMinimumRetryDelay(60),
      () => job.getMinimumRetryDelay(),
      () => job.setNotifyFlags(NotifyFlags.Disable),
      () => h.bits.createJob({ displayName: 'up', type: 'upload' }),
      () => h.bits.createJob({ displayName: 'delay', minimumRetryDelay: 5 }),
      () => job.setCustomHeaders({ 'X-A': 'b' }),
      () => h.bits.createJob({ displayName: 'headers', headers: { 'X-A': 'b' } }),
    ];
    for (const refuse of refusals) {
      await expect(refuse()).rejects.toBeInstanceOf(NotSupportedByBackendError);
    }
    await expect(h.bits.jobs().next()).rejects.toThrow(/EnumJobs is not supported by the 'delivery-optimization' backend/);
    for (const method of ['IBackgroundCopyManager::EnumJobs', 'IBackgroundCopyJob::SetMinimumRetryDelay', 'IBackgroundCopyJob::GetMinimumRetryDelay', 'IBackgroundCopyJob::SetNotifyFlags']) {
      expect(h.service.calls(method), method).toBe(0);
    }
    expect(h.service.calls('IBackgroundCopyManager::CreateJob')).toBe(1);
    // describe() has no service method to ask on DO: our table answers.
    expect(await h.bits.describe(0x80d02002)).toBe('The download made no progress within the allowed time.');
    expect(h.service.calls('IBackgroundCopyManager::GetErrorDescription')).toBe(0);
    // Detaching is SetNotifyInterface(NULL), which DO supports.
    await job.setNotifyInterface(null);
    await job.cancel();
    await job.release();
  });

  test('jobs of one backend are not found through the other', async () => {
    const job = await h.bits.createJob({ displayName: 'mine' });
    const bits = await connect({ backend: 'bits', runtime: h.service.runtime });
    await expect(bits.getJob(job.id)).rejects.toMatchObject({ code: 'BG_E_NOT_FOUND' });
    const again = await h.bits.getJob(job.id);
    expect(again.backend).toBe('delivery-optimization');
    await job.cancel();
    await Promise.all([job.release(), again.release(), bits.release()]);
  });
});
