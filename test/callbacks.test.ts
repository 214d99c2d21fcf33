import koffi from 'koffi';
import { describe, expect, test } from 'vitest';
import { CallbackObject, liveCallbackObjects } from '../src/com/callback-object.js';
import { ComClass } from '../src/com/com-object.js';
import { encodeGuid, type Guid } from '../src/com/guid.js';
import { E_NOINTERFACE, S_OK, toUnsignedHresult } from '../src/com/hresult.js';
import { IBackgroundCopyCallback2, IBackgroundCopyCallback3, IID_IExternalConnection, IID_IMarshal, IUnknown } from '../src/com/interfaces.js';
import { invokeAsync, invokeSync } from '../src/com/invoke.js';
import { readFileInfo, readJobError } from '../src/com/job.js';
import { pointerSlot, readPointer } from '../src/com/native-types.js';
import { NotifyFlags } from '../src/index.js';
import { CALLBACK_QUERY_ORDER } from './loopback/service.js';
import { Recorder, until, useLoopback } from './support/harness.js';

describe('callback object on its own', () => {
  test('answers IUnknown and the three callback IIDs with itself, refuses IMarshal and everything else', () => {
    const callback = new CallbackObject(() => undefined);
    const ask = (iid: Guid) => {
      const slot = pointerSlot();
      const hr = toUnsignedHresult(invokeSync(callback.address, IUnknown.method('QueryInterface'), encodeGuid(iid), slot));
      return { hr, pointer: readPointer(slot) };
    };
    for (const iid of [IUnknown.iid, IBackgroundCopyCallback3.iid, IBackgroundCopyCallback2.iid, IBackgroundCopyCallback2.base!.iid]) {
      expect(ask(iid)).toEqual({ hr: S_OK, pointer: callback.address });
    }
    expect(callback.refCount).toBe(5);
    for (const iid of [IID_IMarshal, IID_IExternalConnection]) expect(ask(iid)).toEqual({ hr: E_NOINTERFACE, pointer: 0n });
    for (let i = 0; i < 4; i++) invokeSync(callback.address, IUnknown.method('Release'));
    callback.dispose();
    expect(liveCallbackObjects()).toBe(0);
  });

  test('AddRef and Release are honoured from worker threads; the block lives until the count reaches zero', async () => {
    const callback = new CallbackObject(() => undefined);
    expect(await invokeAsync(callback.address, IUnknown.method('AddRef'))).toBe(2);
    callback.dispose();
    callback.dispose(); // once only
    expect(liveCallbackObjects()).toBe(1); // the "service" still holds its reference
    expect(await invokeAsync(callback.address, IUnknown.method('Release'))).toBe(0);
    expect(liveCallbackObjects()).toBe(0);
  });

  test('one set of trampolines serves every callback object', () => {
    new CallbackObject(() => undefined).dispose(); // the class registers on first use
    const before = koffi.stats().callbacks;
    const many = Array.from({ length: 1000 }, () => new CallbackObject(() => undefined));
    expect(koffi.stats().callbacks).toBe(before);
    expect(liveCallbackObjects()).toBe(1000);
    for (const callback of many) callback.dispose();
    expect(liveCallbackObjects()).toBe(0);
  });
});

describe('notifications from the loopback service', () => {
  const h = useLoopback();

  test('a registered callback is asked for interfaces in COM order, and JobTransferred arrives from a worker thread', async () => {
    const asked: Guid[] = [];
    const stacks: string[] = [];
    let transferred!: () => void;
    const arrived = new Promise<void>((resolve) => (transferred = resolve));
    const callback = new CallbackObject(
      (notification) => {
        stacks.push(new Error().stack ?? '');
        if (notification.kind === 'transferred') transferred();
      },
      { onQueryInterface: (iid) => asked.push(iid) },
    );
    const job = await h.bits.createJob({ displayName: 'cb', files: [{ url: h.server.url('/files/a?size=1000'), localPath: h.local('a.bin') }] });
    await job.setNotifyInterface(callback);
    expect(asked).toEqual(CALLBACK_QUERY_ORDER);
    expect(h.service.notifyTarget(job.id)).toEqual({ address: callback.address, supportsFileTransferred: true });
    await job.resume();
    await arrived;
    await h.service.settled();
    // Relayed by koffi from the worker thread: the loopback's own frames are not beneath us.
    expect(stacks[0]).not.toMatch(/notifier\.ts/);
    expect(h.service.notifier.stats.calls.transferred).toBe(1);
    expect(h.service.notifier.stats.holdTimes.length).toBeGreaterThan(0);
    await job.complete();
    await job.release();
    callback.dispose();
  });

  test('FileTransferred comes per file, before JobTransferred, with a file the library can read', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({
      displayName: 'files',
      files: [
        { url: h.server.url('/files/one?size=10'), localPath: h.local('one.bin') },
        { url: h.server.url('/files/two?size=20'), localPath: h.local('two.bin') },
      ],
    });
    await job.setNotifyFlags(NotifyFlags.JobTransferred | NotifyFlags.FileTransferred);
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    await recorder.waitFor('transferred');
    expect(recorder.kinds()).toEqual(['fileTransferred', 'fileTransferred', 'transferred']);
    const files = await Promise.all(
      recorder.notifications.flatMap((n) => (n.kind === 'fileTransferred' && n.file ? [readFileInfo(n.file, h.service.runtime)] : [])),
    );
    expect(files.map((f) => [f.localPath, f.completed])).toEqual([
      [h.local('one.bin'), true],
      [h.local('two.bin'), true],
    ]);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });

  test('JobError carries an error object that outlives the call', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({ displayName: 'err', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    await recorder.waitFor('error');
    const notification = recorder.notifications[0];
    expect(notification?.kind).toBe('error');
    if (notification?.kind !== 'error' || notification.error === undefined) throw new Error('no error object');
    expect(await readJobError(notification.error, h.service.runtime)).toMatchObject({ code: 'BG_E_HTTP_ERROR_404', context: 'remoteFile' });
    await job.cancel();
    await job.release();
    await recorder.dispose();
  });

  test('JobModification follows progress and state when asked for', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({ displayName: 'mod', files: [{ url: h.server.url('/files/m?size=200000'), localPath: h.local('m.bin') }] });
    await job.setNotifyFlags(NotifyFlags.JobModification | NotifyFlags.JobTransferred);
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    await recorder.waitFor('transferred');
    await h.service.settled();
    // The receiver answered every call; what it forwarded reaches the main thread a moment later.
    await recorder.waitFor('modification', 2);
    expect(recorder.count('modification')).toBeGreaterThan(1);
    expect(recorder.count('transferred')).toBe(1);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });

  test('a sink that throws does not reach the service: S_OK, reported, pointers released', async () => {
    const reported: unknown[] = [];
    const callback = new CallbackObject(() => {
      throw new Error('subscriber bug');
    }, { onSinkError: (error) => reported.push(error) });
    const job = await h.bits.createJob({ displayName: 'throws', files: [{ url: h.server.url('/status/410'), localPath: h.local('x.bin') }] });
    await job.setNotifyInterface(callback);
    await job.resume();
    await until(() => reported.length === 1);
    await h.service.settled();
    expect(h.service.notifier.stats.failures).toBe(0);
    expect(h.service.notifier.stats.calls.error).toBe(1);
    expect(String(reported[0])).toMatch(/subscriber bug/);
    await job.cancel();
    await job.release();
    callback.dispose();
  });

  test('after detach, late calls are acknowledged and dropped', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({ displayName: 'late', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    await job.setNotifyInterface(recorder.callback);
    recorder.callback.detach();
    await job.resume();
    await h.service.settled();
    expect(h.service.notifier.stats.calls.transferred).toBe(1);
    expect(recorder.notifications).toEqual([]);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });

  test('last writer wins: a second registration replaces the first, whose reference is given back', async () => {
    const first = new Recorder();
    const second = new Recorder();
    const job = await h.bits.createJob({ displayName: 'writers', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    await job.setNotifyInterface(first.callback);
    await job.setNotifyInterface(second.callback);
    expect(first.callback.refCount).toBe(1);
    await job.resume();
    await second.waitFor('transferred');
    expect(first.notifications).toEqual([]);
    await job.complete();
    expect(second.callback.refCount).toBe(1); // the service let go when the job left the queue
    await job.release();
    await Promise.all([first.dispose(), second.dispose()]);
  });
});

describe('documented delivery behaviours, injected', () => {
  const h = useLoopback({ replayTerminal: 2, holdModificationsUntilTerminal: true, errorDescriptionFails: true });

  test('terminal notifications are replayed (at least once) and JobTransferred overtakes pending modifications', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({ displayName: 'replay', files: [{ url: h.server.url('/files/a?size=100000'), localPath: h.local('a.bin') }] });
    await job.setNotifyFlags(NotifyFlags.JobTransferred | NotifyFlags.JobModification);
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    await recorder.waitFor('transferred', 3);
    await h.service.settled();
    // The receiver answered every call; what it forwarded reaches the main thread a moment later.
    await recorder.waitFor('modification', 1);
    expect(recorder.count('transferred')).toBe(3);
    expect(recorder.kinds()[0]).toBe('transferred');
    expect(recorder.count('modification')).toBeGreaterThan(0);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });

  test('where the service cannot describe an error (as on Wine), our table does', async () => {
    const job = await h.bits.createJob({ displayName: 'nodesc', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect((await job.getError())?.description).toBe('The server answered HTTP 404.');
    await job.cancel();
    await job.release();
  });
});

describe('terminal notifications are called again until they answer S_OK', () => {
  const h = useLoopback({ retryMs: 5 });

  test('JobTransferred answering E_FAIL twice is delivered three times', async () => {
    let calls = 0;
    const failing = new ComClass(IBackgroundCopyCallback2, { answerOnThrow: S_OK, report: () => undefined }).create({
      methods: { JobTransferred: () => (++calls <= 2 ? 0x80004005 : S_OK) },
    });
    const job = await h.bits.createJob({ displayName: 'retry', files: [{ url: h.server.url('/files/a?size=10'), localPath: h.local('a.bin') }] });
    await job.pointer.call('SetNotifyInterface', failing.address);
    await job.resume();
    await until(() => calls === 3);
    await h.service.settled();
    expect(calls).toBe(3);
    expect(h.service.notifier.stats.failures).toBe(2);
    await job.complete();
    await job.release();
    failing.release();
  });
});

describe('lossy and bounded delivery', () => {
  const h = useLoopback({ coalesceModifications: true, dropModification: (n) => n % 2 === 1 });

  test('modifications are coalesced and dropped; at most four notifications are in flight', async () => {
    const recorders = Array.from({ length: 8 }, () => new Recorder());
    const jobs = await Promise.all(
      recorders.map(async (recorder, i) => {
        const job = await h.bits.createJob({ displayName: `burst ${i}`, files: [{ url: h.server.url(`/files/b${i}?size=200000`), localPath: h.local(`b${i}.bin`) }] });
        await job.setNotifyFlags(NotifyFlags.JobTransferred | NotifyFlags.JobModification);
        await job.setNotifyInterface(recorder.callback);
        return job;
      }),
    );
    await Promise.all(jobs.map((job) => job.resume()));
    await Promise.all(recorders.map((recorder) => recorder.waitFor('transferred')));
    await h.service.settled();
    const { stats } = h.service.notifier;
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.maxInFlight).toBeGreaterThanOrEqual(1);
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    for (const job of jobs) {
      await job.complete();
      await job.release();
    }
    await Promise.all(recorders.map((recorder) => recorder.dispose()));
  });
});
