import { describe, expect, test } from 'vitest';
import { CallbackObject } from '../src/com/callback-object.js';
import { NotifyFlags, referenceStats } from '../src/index.js';
import { until, useLoopback } from './support/harness.js';

/**
 * Issue G: a sink that throws on FileTransferred must still give back the file pointer the
 * notification carried (the harness's leak checks and the service's live-file count tell).
 */
describe('a sink that throws', () => {
  const h = useLoopback();

  test('on FileTransferred: the file pointer is released, the error reported, the service answered S_OK', async () => {
    const reported: unknown[] = [];
    const callback = new CallbackObject(
      (notification) => {
        if (notification.kind === 'fileTransferred') throw new Error('subscriber bug');
      },
      { onSinkError: (error) => reported.push(error) },
    );
    const job = await h.bits.createJob({
      displayName: 'throws-file',
      files: [
        { url: h.server.url('/files/a?size=100'), localPath: h.local('a.bin') },
        { url: h.server.url('/files/b?size=100'), localPath: h.local('b.bin') },
      ],
    });
    await job.setNotifyFlags(NotifyFlags.FileTransferred | NotifyFlags.JobTransferred);
    await job.setNotifyInterface(callback);
    const live = referenceStats().live;
    await job.resume();
    await until(() => reported.length === 2);
    // Each retained file pointer was given back as its sink threw (the count drops synchronously).
    expect(referenceStats().live).toBe(live);
    await h.service.settled();
    expect(h.service.notifier.stats.failures).toBe(0);
    expect(h.service.notifier.stats.calls.fileTransferred).toBe(2);
    expect(reported.map(String)).toEqual(['Error: subscriber bug', 'Error: subscriber bug']);
    await job.setNotifyInterface(null);
    await job.complete();
    await job.release();
    callback.dispose();
  });
});
