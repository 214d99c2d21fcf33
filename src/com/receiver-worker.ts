import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
// The struct types the prototypes name (GUID, ...): koffi's type registry is per thread.
import { POINTER_SIZE } from './native-types.js';
import './do-native-types.js';
import { IDODownloadStatusCallback } from './do-interfaces.js';
import type { ComInterface } from './interface-table.js';
import { IBackgroundCopyCallback3, IBackgroundCopyServerCertificateValidationCallback } from './interfaces.js';
import { CallbackMemory, callbackMethods, certificateValidationMethods, statusCallbackMethods, type CallbackHost, type CallbackMethod, type ReceiverMessage } from './receiver-core.js';
import { fitsRing, NotificationRing } from './receiver-ring.js';

/**
 * The receiver (see receiver-thread.ts): the thread that registers the trampolines of every callback
 * object, so that koffi relays a service thread's call here, to a thread that does nothing else,
 * instead of to the application's main thread. It answers at once and hands the main thread a record
 * per call (receiver-ring.ts).
 *
 * It never initializes COM: a thread that did not belongs to the multithreaded apartment implicitly
 * while some thread keeps the MTA alive, which the apartment thread (call-threads.ts, runtime.ts) does
 * for the life of the process; so the proxies it AddRefs (IBackgroundCopyError, IBackgroundCopyFile)
 * are valid here. It never calls the main thread, which may itself be waiting on a call into us.
 */

if (parentPort === null) throw new Error('receiver-worker.ts runs only as a worker thread');
const port = parentPort;
const post = (message: ReceiverMessage): void => port.postMessage(message);
const shared = workerData as { memory: SharedArrayBuffer; ring: SharedArrayBuffer };
const memory = new CallbackMemory(shared.memory);
const ring = new NotificationRing(shared.ring);

/** One vtable of trampolines for every object of an interface, registered on this thread. */
function vtableOf(iface: ComInterface, methods: Readonly<Record<string, CallbackMethod>>): bigint {
  const vtable = koffi.alloc('void *', iface.methods.length) as bigint;
  for (const method of iface.methods) {
    const trampoline = koffi.register(methods[method.name]!, koffi.pointer(method.proto));
    koffi.encode(vtable, method.slot * POINTER_SIZE, 'void *', trampoline);
  }
  return vtable;
}

try {
  const host: CallbackHost = {
    memory,
    // BITS's notifications through the ring (a full one refuses them); the rare others, and the
    // ranges the ring has no room for, as messages.
    forward: (record) => {
      if (!fitsRing(record) || !ring.write(record)) post(record);
    },
    freed: (slot) => post({ freed: slot }),
    fault: (error, method) => post({ fault: `${method} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` }),
  };
  // The vtables and their trampolines live as long as the process, as the objects may.
  memory.publish(
    vtableOf(IBackgroundCopyCallback3, callbackMethods(host)),
    vtableOf(IDODownloadStatusCallback, statusCallbackMethods(host)),
    vtableOf(IBackgroundCopyServerCertificateValidationCallback, certificateValidationMethods(host)),
  );
  post({ ready: true });
} catch (error) {
  memory.fail();
  throw error;
}

// koffi relays calls through a threadsafe function it unrefs: this listener is what keeps this
// thread's loop running. The main thread unrefs the worker, so it never keeps the process alive.
port.on('message', () => undefined);
