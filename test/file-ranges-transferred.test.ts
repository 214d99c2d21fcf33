import { Worker } from 'node:worker_threads';
import koffi from 'koffi';
import { firstValueFrom, Subject } from 'rxjs';
import { filter, scan } from 'rxjs/operators';
import { afterAll, describe, expect, test } from 'vitest';
import { CallbackObject, type Notification } from '../src/com/callback-object.js';
import { ComClass } from '../src/com/com-object.js';
import { NotifyFlags } from '../src/com/enums.js';
import { encodeFileRanges, type FileRange } from '../src/com/file-ranges.js';
import { S_OK } from '../src/com/hresult.js';
import { IBackgroundCopyCallback2, IBackgroundCopyCallback3 } from '../src/com/interfaces.js';
import { POINTER_SIZE, type Pointer } from '../src/com/native-types.js';
import { whenHubsIdle } from '../src/observables/hub.js';
import { fileRangesTransferred$, fileTransferred$, NotSupportedByBackendError, type BitsManager, type FileRangesTransferredEvent } from '../src/index.js';
import { useEngine } from './support/engine-harness.js';
import { until, useLoopback } from './support/harness.js';
import { withJob } from './support/job-interfaces.js';

/**
 * IBackgroundCopyCallback3::FileRangesTransferred (BITS 10.1) and fileRangesTransferred$: the ranges of
 * an on-demand read reported as they arrive, the flag asked for only while someone listens, and the
 * typed refusal of the backends that have no such notification.
 */

const bytesIn = (ranges: readonly FileRange[]): number => ranges.reduce((sum, range) => sum + (range.length ?? 0), 0);

describe('on the loopback (BITS 10.3)', () => {
  const h = useLoopback();

  test('an on-demand read reports the requested ranges as they arrive, with the file they belong to', async () => {
    const url = h.server.url('/files/ranged.bin?size=10000');
    const job = await h.bits.createJob({ displayName: 'ranges', files: [{ url, localPath: h.local('ranged.bin') }] });
    const events: FileRangesTransferredEvent[] = [];
    const heard = new Subject<FileRangesTransferredEvent>();
    const subscription = fileRangesTransferred$(job).subscribe((event) => {
      events.push(event);
      heard.next(event);
    });
    // Every requested byte reported: 2,000 of them, whatever the number of calls.
    const allIn = firstValueFrom(
      heard.pipe(
        scan((sum, event) => sum + bytesIn(event.ranges), 0),
        filter((sum) => sum >= 2000),
      ),
    );
    await whenHubsIdle();
    const [file] = await job.files();
    try {
      await file!.requestFileRanges([{ offset: 1000, length: 2000 }]);
      await job.resume();
      expect(await allIn).toBe(2000);
    } finally {
      await file!.release();
    }
    subscription.unsubscribe();
    for (const event of events) {
      expect(event).toMatchObject({ type: 'fileRangesTransferred', jobId: job.id, source: 'callback', file: { url, localPath: h.local('ranged.bin') } });
      for (const range of event.ranges) {
        expect(range.offset).toBeGreaterThanOrEqual(1000);
        expect(range.offset + range.length!).toBeLessThanOrEqual(3000);
      }
    }
    expect(h.service.notifier.stats.calls.fileRangesTransferred).toBe(events.length);
    await job.cancel();
    await job.release();
  });

  test('a callback that is no IBackgroundCopyCallback3 is never called with ranges, whatever the flags', async () => {
    const callback2 = new ComClass(IBackgroundCopyCallback2, { answerOnThrow: S_OK, report: () => undefined }).create({ methods: {} });
    const job = await h.bits.createJob({ displayName: 'callback2', files: [{ url: h.server.url('/files/c2.bin?size=10000'), localPath: h.local('c2.bin') }] });
    await job.pointer.call('SetNotifyInterface', callback2.address);
    await job.setNotifyFlags(NotifyFlags.FileRangesTransferred);
    const [file] = await job.files();
    try {
      await file!.requestFileRanges([{ offset: 0, length: 3000 }]);
      await job.resume();
      // Suspended once the requested bytes are in (transferred if the whole file came at once): every
      // range that would be reported has arrived.
      await until(async () => ['suspended', 'transferred'].includes(await job.getState()));
    } finally {
      await file!.release();
    }
    await h.service.settled();
    expect(h.service.notifier.stats.calls.fileRangesTransferred).toBe(0);
    await job.cancel();
    await job.release();
    callback2.release();
  });

  test('BG_NOTIFY_FILE_RANGES_TRANSFERRED is set only while fileRangesTransferred$ is subscribed', async () => {
    await withJob(h.bits, async (job) => {
      await job.addFile({ url: h.server.url('/files/flags.bin?size=100'), localPath: h.local('flags.bin') });
      const files = fileTransferred$(job).subscribe();
      await whenHubsIdle();
      expect((await job.getNotifyFlags()) & NotifyFlags.FileRangesTransferred).toBe(0);
      const ranges = fileRangesTransferred$(job).subscribe();
      await whenHubsIdle();
      const flags = await job.getNotifyFlags();
      expect(flags & NotifyFlags.FileRangesTransferred).toBe(NotifyFlags.FileRangesTransferred);
      expect(flags & NotifyFlags.FileTransferred).toBe(NotifyFlags.FileTransferred);
      ranges.unsubscribe();
      await whenHubsIdle();
      expect((await job.getNotifyFlags()) & NotifyFlags.FileRangesTransferred).toBe(0);
      files.unsubscribe();
      await whenHubsIdle();
    });
  });
});

async function refusedBeforeAnyCall(bits: BitsManager, localPath: string, backend: string): Promise<void> {
  await withJob(bits, async (job) => {
    await job.addFile({ url: 'http://127.0.0.1:1/a.bin', localPath });
    const before = await job.getNotifyFlags();
    let caught: unknown;
    try {
      fileRangesTransferred$(job);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NotSupportedByBackendError);
    expect(caught).toMatchObject({ backend, operation: 'FileRangesTransferred' });
    await whenHubsIdle();
    expect(await job.getNotifyFlags()).toBe(before);
  });
}

describe('Delivery Optimization', () => {
  const h = useLoopback({}, 'delivery-optimization');
  test('fileRangesTransferred$ is a NotSupportedByBackendError, before any call', async () => {
    await refusedBeforeAnyCall(h.bits, h.local('a.bin'), 'delivery-optimization');
  });
});

describe('the portable engine', () => {
  const h = useEngine();
  test('fileRangesTransferred$ is a NotSupportedByBackendError, before any call', async () => {
    await refusedBeforeAnyCall(h.bits, h.local('a.bin'), 'portable');
  });
});

/**
 * A service thread: calls FileRangesTransferred synchronously, then, as BITS does once the call
 * returned, overwrites the array and releases the file it passed, and only then lets the main thread run.
 */
const SERVICE_THREAD = `
const { parentPort } = require('node:worker_threads');
const koffi = require('koffi');
koffi.load(null); // koffi allocates a thread's call stack in load() or register() only
const call = koffi.proto('int __stdcall (void *self, void *job, void *file, uint32 count, void *ranges)');
const release = koffi.proto('uint32 __stdcall (void *self)');
parentPort.on('message', ({ fn, self, file, count, ranges, fileRelease, done }) => {
  const hr = koffi.decode(fn, call)(self, null, file, count, ranges);
  new Uint8Array(koffi.view(ranges, count * 16)).fill(0xff);
  koffi.decode(fileRelease, release)(file);
  const cells = new Int32Array(done);
  Atomics.store(cells, 0, 1);
  Atomics.notify(cells, 0);
  parentPort.postMessage(hr);
});
`;

function vtableEntry(self: Pointer, slot: number): Pointer {
  return koffi.decode(koffi.decode(self, 'void *') as Pointer, slot * POINTER_SIZE, 'void *') as Pointer;
}

describe('the receiver', () => {
  const worker = new Worker(SERVICE_THREAD, { eval: true });
  afterAll(() => worker.terminate());

  test('copies the ranges during the call and keeps the file: both outlive what the service frees', async () => {
    await CallbackObject.ready();
    const heard = new Subject<Notification>();
    const arrived = firstValueFrom(heard);
    const callback = new CallbackObject((notification) => heard.next(notification));
    // The file: any object that counts its references. The one it starts with is the service's, dropped after the call.
    const file = new CallbackObject(() => undefined);
    file.detach();
    const sent: FileRange[] = [
      { offset: 0, length: 512 },
      { offset: 4096, length: 100 },
    ];
    const ranges = koffi.alloc('uint8', 32) as Pointer;
    koffi.encode(ranges, koffi.array('uint8', 32), [...encodeFileRanges(sent)]);
    const done = new SharedArrayBuffer(4);
    const answered = new Promise<number>((resolve) => worker.once('message', resolve));
    worker.postMessage({
      fn: vtableEntry(callback.address, IBackgroundCopyCallback3.method('FileRangesTransferred').slot),
      self: callback.address,
      file: file.address,
      count: sent.length,
      ranges,
      fileRelease: vtableEntry(file.address, IBackgroundCopyCallback3.method('Release').slot),
      done,
    });
    // Nothing runs here until the service thread has overwritten the array and released the file.
    expect(Atomics.wait(new Int32Array(done), 0, 0, 60_000)).not.toBe('timed-out');
    expect(await answered).toBe(S_OK);
    const notification = await arrived;
    koffi.free(ranges);
    if (notification.kind !== 'fileRangesTransferred') throw new Error(`expected fileRangesTransferred, heard ${notification.kind}`);
    expect(notification.ranges).toEqual(sent);
    // The service's reference is gone: the receiver's AddRef, now the notification's, keeps the file alive.
    expect(notification.file?.address()).toBe(file.address);
    expect(file.refCount).toBe(1);
    await notification.file?.release();
    expect(file.refCount).toBe(0);
    callback.dispose();
  });
});
