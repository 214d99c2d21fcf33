import { execFile } from 'node:child_process';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CallbackObject, callbackTrampolines, liveCallbackObjects, type Notification, type NotificationKind } from '../src/com/callback-object.js';
import { S_OK } from '../src/com/hresult.js';
import type { ComMethod } from '../src/com/interface-table.js';
import { IBackgroundCopyCallback2, IBackgroundCopyCallback3, IBackgroundCopyServerCertificateValidationCallback, IUnknown } from '../src/com/interfaces.js';
import { IDODownloadStatusCallback } from '../src/com/do-interfaces.js';
import { invokeSync } from '../src/com/invoke.js';
import { POINTER_SIZE, type Pointer } from '../src/com/native-types.js';
import { until } from './support/harness.js';

/**
 * The receiver thread (src/com/receiver-thread.ts): callback objects answered off the main thread,
 * their notifications delivered on it in call order. The "service threads" here are worker threads
 * calling the objects' vtables synchronously, as BITS's RPC threads do.
 */

/** A service thread: makes the calls it is sent, in order, each followed by the service's Release of what it passed. */
const SERVICE_THREAD = `
const { parentPort } = require('node:worker_threads');
const koffi = require('koffi');
koffi.load(null); // koffi allocates a thread's call stack in load() or register() only
const protos = {
  transferred: koffi.proto('int __stdcall (void *self, void *job)'),
  modification: koffi.proto('int __stdcall (void *self, void *job, uint32 reserved)'),
  carrying: koffi.proto('int __stdcall (void *self, void *job, void *carried)'),
  release: koffi.proto('uint32 __stdcall (void *self)'),
};
parentPort.on('message', ({ calls, release, gate, done }) => {
  if (gate) Atomics.wait(new Int32Array(gate), 0, 0);
  const results = calls.map(({ fn, self, kind, carried }) => {
    const proto = kind === 'transferred' ? protos.transferred : kind === 'modification' ? protos.modification : protos.carrying;
    const hr = koffi.decode(fn, proto)(self, null, kind === 'modification' ? 0 : carried);
    if (carried) koffi.decode(release, protos.release)(carried);
    return hr;
  });
  if (done) {
    const cells = new Int32Array(done);
    Atomics.store(cells, 0, 1);
    Atomics.notify(cells, 0);
  }
  parentPort.postMessage(results);
});
parentPort.postMessage('ready');
`;

interface ServiceCall {
  readonly self: Pointer;
  readonly kind: NotificationKind;
  readonly carried: Pointer | null;
}

const METHOD = { transferred: 'JobTransferred', error: 'JobError', modification: 'JobModification', fileTransferred: 'FileTransferred' } as const;

/** The method of a kind, called as one chosen at run time: every kind gets the same two arguments here. */
const methodOf = (kind: NotificationKind): ComMethod => IBackgroundCopyCallback2.method(METHOD[kind]);

function vtableEntry(self: Pointer, slot: number): Pointer {
  return koffi.decode(koffi.decode(self, 'void *') as Pointer, slot * POINTER_SIZE, 'void *') as Pointer;
}

class ServiceThread {
  readonly #worker = new Worker(SERVICE_THREAD, { eval: true });
  /** Who waits for the next message: the start, then each run in turn. */
  readonly #waiting: Array<(message: number[]) => void> = [];
  readonly started = new Promise<void>((resolve) => this.#waiting.push(() => resolve()));

  constructor() {
    this.#worker.on('message', (message: number[]) => this.#waiting.shift()?.(message));
  }

  /** Makes `calls` on the thread; `gate`: wait for it to open; `done`: set to 1 when they returned. */
  run(calls: readonly ServiceCall[], sync: { gate?: SharedArrayBuffer; done?: SharedArrayBuffer } = {}): Promise<number[]> {
    const wire = calls.map(({ self, kind, carried }) => ({ fn: vtableEntry(self, IBackgroundCopyCallback2.method(METHOD[kind]).slot), self, kind, carried }));
    const release = calls[0] === undefined ? 0n : vtableEntry(calls[0].self, IUnknown.method('Release').slot);
    const results = new Promise<number[]>((resolve) => this.#waiting.push(resolve));
    this.#worker.postMessage({ calls: wire, release, ...sync });
    return results;
  }

  terminate(): Promise<number> {
    return this.#worker.terminate();
  }
}

/** Something a service passes with JobError/FileTransferred: one of our own objects, so it is counted and needs no main thread. */
function carriedObject(): Pointer {
  const object = new CallbackObject(() => undefined);
  object.detach(); // nothing is ever delivered to it; the reference it starts with is the service's
  return object.address;
}

function pointerOf(notification: Notification): Pointer | undefined {
  if (notification.kind === 'error') return notification.error?.address();
  if (notification.kind === 'fileTransferred') return notification.file?.address();
  return undefined;
}

async function releaseAll(notifications: readonly Notification[]): Promise<void> {
  for (const n of notifications) {
    if (n.kind === 'error') await n.error?.release();
    if (n.kind === 'fileTransferred') await n.file?.release();
  }
}

/** A hang guard on a thread blocked on purpose, never a speed target. */
const GUARD_MS = 30_000;

// The main thread's own native calls below (AddRef on what its calls carry): koffi 3.3.4 allocates a
// thread's call stack in load() or register() only, and nothing else in this file does either here.
koffi.load(null);

const threads = Array.from({ length: 3 }, () => new ServiceThread());
beforeAll(async () => {
  await CallbackObject.ready();
  await Promise.all(threads.map((thread) => thread.started));
});
afterAll(async () => {
  await Promise.all(threads.map((thread) => thread.terminate()));
});

describe('the receiver thread', () => {
  test('registers one set of trampolines for every object', () => {
    expect(callbackTrampolines()).toBe(
      IBackgroundCopyCallback3.methods.length + IDODownloadStatusCallback.methods.length + IBackgroundCopyServerCertificateValidationCallback.methods.length,
    );
  });

  test('answers a service thread while the main thread is blocked, and the subscriber hears it afterwards', async () => {
    const heard: Notification[] = [];
    const callback = new CallbackObject((n) => heard.push(n));
    const carried = carriedObject();
    const done = new SharedArrayBuffer(4);
    const results = threads[0]!.run(
      [
        { self: callback.address, kind: 'modification', carried: null },
        { self: callback.address, kind: 'error', carried },
      ],
      { done },
    );
    // The main thread does not run until both calls returned: answered by the main thread, they could not.
    expect(Atomics.wait(new Int32Array(done), 0, 0, GUARD_MS)).not.toBe('timed-out');
    expect(heard).toEqual([]);
    expect(await results).toEqual([S_OK, S_OK]);
    await until(() => heard.length === 2);
    expect(heard.map((n) => n.kind)).toEqual(['modification', 'error']);
    // AddRef'd by the receiver during the call: alive after the service's Release, owned by the notification.
    expect(pointerOf(heard[1]!)).toBe(carried);
    const before = liveCallbackObjects();
    await releaseAll(heard);
    expect(liveCallbackObjects()).toBe(before - 1);
    callback.dispose();
  });

  test('more notifications than the shared ring holds while the main thread is blocked: the rest are posted, none lost or reordered', async () => {
    const heard: Array<Notification['kind']> = [];
    const callback = new CallbackObject((n) => heard.push(n.kind));
    const kinds: NotificationKind[] = ['modification', 'transferred', 'modification', 'modification', 'error'];
    const plan = Array.from({ length: 3000 }, (_, i) => ({ self: callback.address, kind: kinds[i % kinds.length]!, carried: null }));
    const done = new SharedArrayBuffer(4);
    const results = threads[0]!.run(plan, { done });
    expect(Atomics.wait(new Int32Array(done), 0, 0, GUARD_MS)).not.toBe('timed-out');
    expect(await results).toEqual(plan.map(() => S_OK));
    await until(() => heard.length === plan.length);
    expect(heard).toEqual(plan.map((call) => call.kind));
    callback.dispose();
  });

  test('after detach, calls are answered and dropped, and so are records not yet delivered; what they carried is released', async () => {
    const heard: Notification[] = [];
    const callback = new CallbackObject((n) => heard.push(n));
    const before = liveCallbackObjects();
    const [first, second] = [carriedObject(), carriedObject()];
    const done = new SharedArrayBuffer(4);
    const results = threads[0]!.run([{ self: callback.address, kind: 'error', carried: first }], { done });
    expect(Atomics.wait(new Int32Array(done), 0, 0, GUARD_MS)).not.toBe('timed-out');
    callback.detach(); // the record of that call is still on its way to this thread
    expect(await threads[1]!.run([{ self: callback.address, kind: 'fileTransferred', carried: second }])).toEqual([S_OK]);
    expect(await results).toEqual([S_OK]);
    await until(() => liveCallbackObjects() === before);
    expect(heard).toEqual([]);
    callback.dispose();
  });

  test('a sink that throws: the service had S_OK, the error goes to onSinkError, what it carried is released', async () => {
    const reported: unknown[] = [];
    const callback = new CallbackObject(
      () => {
        throw new Error('subscriber bug');
      },
      { onSinkError: (error) => reported.push(error) },
    );
    const before = liveCallbackObjects();
    expect(await threads[0]!.run([{ self: callback.address, kind: 'error', carried: carriedObject() }])).toEqual([S_OK]);
    await until(() => reported.length === 1 && liveCallbackObjects() === before);
    expect(String(reported[0])).toMatch(/subscriber bug/);
    callback.dispose();
  });

  test('one order across the threads: a call made after another is delivered after it, whichever thread answered each', async () => {
    const origin = fc.constantFrom(0, 1, 2, 'main' as const);
    const kind = fc.constantFrom<NotificationKind>('transferred', 'error', 'modification', 'fileTransferred');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ origin, object: fc.nat(1), kind }), { minLength: 1, maxLength: 40 }), async (plan) => {
        const baseline = liveCallbackObjects();
        const heard: Notification[][] = [[], []];
        const objects = heard.map((list) => new CallbackObject((n) => list.push(n)));
        const running: Array<Promise<number[]>> = [];
        const expected: Array<Array<{ kind: NotificationKind; carried: Pointer | null }>> = [[], []];
        // No turn of the event loop until the end: the receiver's records queue up meanwhile, while the
        // main thread's own calls are answered here and now. Only their numbering keeps them in order.
        for (const { origin: from, object, kind: k } of plan) {
          const carried = k === 'error' || k === 'fileTransferred' ? carriedObject() : null;
          expected[object]!.push({ kind: k, carried });
          const self = objects[object]!.address;
          if (from === 'main') {
            expect(invokeSync(self, methodOf(k), null, k === 'modification' ? 0 : carried)).toBe(S_OK);
            if (carried !== null) invokeSync(carried, IUnknown.method('Release'));
            continue;
          }
          const done = new SharedArrayBuffer(4);
          running.push(threads[from]!.run([{ self, kind: k, carried }], { done }));
          expect(Atomics.wait(new Int32Array(done), 0, 0, GUARD_MS)).not.toBe('timed-out');
        }
        for (const results of await Promise.all(running)) expect(results).toEqual([S_OK]);
        await until(() => heard.every((list, i) => list.length === expected[i]!.length));
        for (const [i, list] of heard.entries()) {
          expect(list.map((n) => ({ kind: n.kind, carried: pointerOf(n) ?? null }))).toEqual(expected[i]);
          await releaseAll(list);
        }
        for (const object of objects) object.dispose();
        await until(() => liveCallbackObjects() === baseline);
      }),
      { numRuns: 30 },
    );
  });

  test('nothing lost or reordered: calls of every kind from several service threads and the main thread at once', async () => {
    const origin = fc.constantFrom(0, 1, 2, 'main' as const);
    const kind = fc.constantFrom<NotificationKind>('transferred', 'error', 'modification', 'fileTransferred');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(fc.record({ origin, object: fc.nat(2), kind }), { minLength: 1, maxLength: 80 }), async (count, plan) => {
        const baseline = liveCallbackObjects();
        const heard: Notification[][] = Array.from({ length: count }, () => []);
        const objects = heard.map((list) => new CallbackObject((n) => list.push(n)));
        /** Per carried pointer: which thread passed it, and its place in that thread's calls. */
        const sent = new Map<Pointer, { origin: string; index: number }>();
        const perOrigin = new Map<string, ServiceCall[]>();
        for (const { origin: from, object, kind: k } of plan) {
          const calls = perOrigin.get(String(from)) ?? [];
          const carried = k === 'error' || k === 'fileTransferred' ? carriedObject() : null;
          if (carried !== null) sent.set(carried, { origin: String(from), index: calls.length });
          calls.push({ self: objects[object % count]!.address, kind: k, carried });
          perOrigin.set(String(from), calls);
        }
        const gate = new SharedArrayBuffer(4);
        const running = threads.map((thread, i) => thread.run(perOrigin.get(String(i)) ?? [], { gate }));
        Atomics.store(new Int32Array(gate), 0, 1);
        Atomics.notify(new Int32Array(gate), 0);
        // The main thread's own synchronous calls (a test double's), one per turn of the loop, meanwhile.
        for (const { self, kind: k, carried } of perOrigin.get('main') ?? []) {
          const method = methodOf(k);
          expect(invokeSync(self, method, null, k === 'modification' ? 0 : carried)).toBe(S_OK);
          if (carried !== null) invokeSync(carried, IUnknown.method('Release'));
          await new Promise((resolve) => setImmediate(resolve));
        }
        for (const results of await Promise.all(running)) expect(results.every((hr) => hr === S_OK)).toBe(true);
        const expected = objects.map((o) => plan.filter((call) => objects[call.object % count] === o).map((call) => call.kind));
        await until(() => heard.every((list, i) => list.length === expected[i]!.length));
        for (const [i, list] of heard.entries()) {
          expect([...list.map((n) => n.kind)].sort()).toEqual([...expected[i]!].sort());
          // Each thread's calls to one object arrive in the order it made them.
          const last = new Map<string, number>();
          for (const n of list) {
            const pointer = pointerOf(n);
            if (pointer === undefined) continue;
            const from = sent.get(pointer)!;
            expect(from.index).toBeGreaterThan(last.get(from.origin) ?? -1);
            last.set(from.origin, from.index);
            sent.delete(pointer);
          }
        }
        expect(sent.size).toBe(0); // every carried pointer arrived once
        for (const list of heard) await releaseAll(list);
        for (const object of objects) {
          expect(object.refCount).toBe(1);
          object.dispose();
        }
        await until(() => liveCallbackObjects() === baseline);
      }),
      { numRuns: 30 },
    );
  });
});

test('a process that creates a callback object and does nothing else exits by itself', async () => {
  const root = path.resolve(import.meta.dirname, '..');
  const script = `import('./src/com/callback-object.ts').then(({ CallbackObject }) => { new CallbackObject(() => undefined); console.log('created'); });`;
  const outcome = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    // The timeout is a hang guard: a receiver holding the process would be killed by it, and fail.
    execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, timeout: GUARD_MS }, (error, stdout) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout }),
    );
  });
  expect(outcome).toEqual({ code: 0, stdout: 'created\n' });
});
