import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { defineInterface } from '../src/com/interface-table.js';
import type { Pointer } from '../src/com/native-types.js';

/**
 * Native objects whose one method blocks its calling thread until released, as a hung RPC does. Each
 * object's method is a koffi callback registered in a worker thread of its own: koffi relays a call
 * to that worker and blocks the caller until it returns, and the worker waits with Atomics.wait. So
 * every calling thread (a libuv pool thread under koffi's `.async`, a call thread of ours) stays
 * blocked until `release()`, and each call is seen entering (`allEntered`).
 */
export const IHang = defineInterface('IHang', 'A0E1B2C3-D4E5-4F60-8172-8394A5B6C7D8', undefined, {
  Hang: 'HRESULT ()',
});

const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const koffi = require(workerData.koffi);
  const gate = new Int32Array(workerData.gate);
  const hang = koffi.register(() => {
    parentPort.postMessage('entered');
    Atomics.wait(gate, 0, 0);
    return 0;
  }, koffi.pointer(koffi.proto('int32 IHang_Hang(void *self)')));
  const vtable = koffi.alloc('void *', 1);
  koffi.encode(vtable, 0, 'void *', hang);
  const object = koffi.alloc('void *', 1);
  koffi.encode(object, 0, 'void *', vtable);
  parentPort.on('message', () => {
    koffi.unregister(hang);
    koffi.free(vtable);
    koffi.free(object);
    parentPort.close();
  });
  parentPort.postMessage(object);
`;

export interface Hangs {
  /** One object per worker; `IHang::Hang` on it blocks until `release()`. */
  readonly objects: readonly Pointer[];
  /** Resolves once every object has been called once: that many threads are blocked. */
  readonly allEntered: Promise<void>;
  /** Lets every call, current and later, return S_OK. */
  release(): void;
  close(): Promise<void>;
}

export async function startHangs(count: number): Promise<Hangs> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const koffiPath = createRequire(import.meta.url).resolve('koffi');
  let entered = 0;
  let allEntered!: () => void;
  const whenAllEntered = new Promise<void>((resolve) => (allEntered = resolve));
  const workers = Array.from({ length: count }, () => new Worker(WORKER, { eval: true, workerData: { koffi: koffiPath, gate: gate.buffer } }));
  const objects = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<Pointer>((resolve, reject) => {
          worker.once('error', reject);
          worker.on('message', (message: Pointer | 'entered') => {
            if (message !== 'entered') resolve(message);
            else if (++entered === count) allEntered();
          });
        }),
    ),
  );
  const release = () => {
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
  };
  return {
    objects,
    allEntered: whenAllEntered,
    release,
    async close() {
      release();
      await Promise.all(workers.map((worker) => new Promise((resolve) => (worker.once('exit', resolve), worker.postMessage('close')))));
    },
  };
}
