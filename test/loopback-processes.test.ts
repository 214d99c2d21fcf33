import { writeFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { CallbackObject } from '../src/com/callback-object.js';
import { ComPtr } from '../src/com/com-ptr.js';
import { IBackgroundCopyCallback2, IUnknown } from '../src/com/interfaces.js';
import { pointerSlot, readPointer } from '../src/com/native-types.js';
import { connect, type BitsJob } from '../src/index.js';
import { LoopbackService } from './loopback/service.js';
import { Recorder, until, useLoopback } from './support/harness.js';

/**
 * Two client processes sharing one loopback service: each has its own runtime, task allocator and
 * job objects; the notify interface is the job's, last writer wins, and a process that reads it back
 * gets its own object, or a proxy of another process's.
 */

/** GetNotifyInterface, raw: the address handed back, and an owner for its reference. */
async function notifyInterface(job: BitsJob): Promise<ComPtr<typeof IUnknown> | undefined> {
  const slot = pointerSlot();
  await job.pointer.call('GetNotifyInterface', slot);
  return ComPtr.fromSlot(slot, IUnknown);
}

describe('process B next to process A', () => {
  const h = useLoopback();

  test('B gets its own job object; the callback belongs to the job, last writer wins; each reads back its own or a proxy', async () => {
    await writeFile(h.local('shared.src'), 'payload');
    const jobA = await h.bits.createJob({ displayName: 'shared', files: [{ url: h.local('shared.src'), localPath: h.local('shared.out') }] });
    const bitsB = await connect({ runtime: h.service.process('B').runtime });
    const jobB = await bitsB.getJob(jobA.id);
    expect(jobB.pointer.address()).not.toBe(jobA.pointer.address());
    expect(h.service.process('A').jobReferences()).toBe(1);
    expect(h.service.process('B').jobReferences()).toBe(1);

    const recorderA = new Recorder();
    const recorderB = new Recorder();
    await jobA.setNotifyInterface(recorderA.callback);
    // A reads back its own object; B a proxy at another address, which holds A's object while it lives.
    const ownA = await notifyInterface(jobA);
    expect(ownA?.address()).toBe(recorderA.callback.address);
    const proxyInB = await notifyInterface(jobB);
    expect(proxyInB?.address()).not.toBe(recorderA.callback.address);
    expect(h.service.references().callbackProxies).toBe(1);
    // Ours, the service's registration, the reference A read back, and the proxy's.
    expect(recorderA.callback.refCount).toBe(4);
    const again = await notifyInterface(jobB);
    expect(again?.address()).toBe(proxyInB?.address());
    await Promise.all([ownA?.release(), proxyInB?.release(), again?.release()]);
    expect(h.service.references().callbackProxies).toBe(0);
    expect(recorderA.callback.refCount).toBe(2);

    // B registers last: the service lets A's callback go, and only B hears the transfer.
    await jobB.setNotifyInterface(recorderB.callback);
    expect(recorderA.callback.refCount).toBe(1);
    expect(h.service.notifyTarget(jobA.id)?.address).toBe(recorderB.callback.address);
    const proxyInA = await notifyInterface(jobA);
    expect(proxyInA?.address()).not.toBe(recorderB.callback.address);
    expect(proxyInA?.address()).not.toBe(recorderA.callback.address);
    await proxyInA?.release();

    await jobA.resume();
    await recorderB.waitFor('transferred');
    expect(recorderA.notifications).toEqual([]);
    await jobB.setNotifyInterface(null);
    await jobA.complete();
    await Promise.all([jobA.release(), jobB.release(), bitsB.release()]);
    await Promise.all([recorderA.dispose(), recorderB.dispose()]);
  });

  test("a proxy forwards calls to the other process's callback", async () => {
    const jobA = await h.bits.createJob({ displayName: 'forward' });
    const bitsB = await connect({ runtime: h.service.process('B').runtime });
    const jobB = await bitsB.getJob(jobA.id);
    const recorderA = new Recorder();
    await jobA.setNotifyInterface(recorderA.callback);
    const proxy = await notifyInterface(jobB);
    const callback2 = await proxy!.queryInterface(IBackgroundCopyCallback2);
    await callback2.call('JobTransferred', jobB.pointer.address());
    expect(recorderA.kinds()).toEqual(['transferred']);
    await Promise.all([callback2.release(), proxy!.release()]);
    await jobA.setNotifyInterface(null);
    await jobA.cancel();
    await Promise.all([jobA.release(), jobB.release(), bitsB.release()]);
    await recorderA.dispose();
  });
});

test("each process frees its own strings: one of A's freed through B's runtime is caught", async () => {
  const service = new LoopbackService();
  const bitsA = await connect({ runtime: service.runtime });
  const job = await bitsA.createJob({ displayName: 'strings' });
  const slot = pointerSlot();
  await job.pointer.call('GetDisplayName', slot);
  const address = readPointer(slot);
  expect(() => service.process('B').runtime.freeTaskMemory(address)).toThrow(/not a string this allocator handed out/);
  expect(service.references()).toMatchObject({ strings: 1, doubleFrees: 1 });
  service.runtime.freeTaskMemory(address);
  expect(service.references()).toMatchObject({ strings: 0 });
  await job.cancel();
  await Promise.all([job.release(), bitsA.release()]);
  await service.close();
  await until(() => service.references().jobs === 0);
});

test('a callback object of B that A registers over is released by the service, as last writer wins', async () => {
  const service = new LoopbackService();
  const [bitsA, bitsB] = await Promise.all([connect({ runtime: service.runtime }), connect({ runtime: service.process('B').runtime })]);
  const jobA = await bitsA.createJob({ displayName: 'writers' });
  const jobB = await bitsB.getJob(jobA.id);
  const [a, b] = [new CallbackObject(() => undefined), new CallbackObject(() => undefined)];
  await jobB.setNotifyInterface(b);
  expect(b.refCount).toBe(2);
  await jobA.setNotifyInterface(a);
  expect([a.refCount, b.refCount]).toEqual([2, 1]);
  await jobA.cancel();
  expect(a.refCount).toBe(1);
  await Promise.all([jobA.release(), jobB.release(), bitsA.release(), bitsB.release()]);
  await service.close();
  a.dispose();
  b.dispose();
  service.assertNoLeaks();
});
