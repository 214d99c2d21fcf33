import { ComClass, type ComObject } from './com-object.js';
import { ComPtr } from './com-ptr.js';
import type { Guid } from './guid.js';
import { S_OK } from './hresult.js';
import { IBackgroundCopyCallback2, IBackgroundCopyError, IBackgroundCopyFile, IUnknown } from './interfaces.js';
import { invokeSync } from './invoke.js';
import type { Pointer } from './native-types.js';

/**
 * Our IBackgroundCopyCallback2. The service calls it on its own threads; koffi relays each call to
 * the JS thread and holds the service's thread until we return. BITS allows four notifications in
 * flight per user across every application, so a call here only records what arrived and returns:
 * whoever consumes the notifications does the rest later, outside the native call.
 */

export type Notification =
  | { readonly kind: 'transferred' }
  | { readonly kind: 'error'; readonly error: ComPtr<string> | undefined }
  | { readonly kind: 'modification' }
  | { readonly kind: 'fileTransferred'; readonly file: ComPtr<string> | undefined };

export type NotificationKind = Notification['kind'];

/** Receives notifications inside the native call: it must only enqueue, and must take ownership of the pointers. */
export type NotificationSink = (notification: Notification) => void;

export interface CallbackObjectOptions {
  /** Where an exception thrown by the sink goes (the service still gets S_OK). Defaults to a process warning. */
  readonly onSinkError?: (error: unknown) => void;
  /** Sees every QueryInterface the service makes, in order; for diagnostics and tests. */
  readonly onQueryInterface?: (iid: Guid) => void;
}

function warn(error: unknown, where: string): void {
  process.emitWarning(`rx-bits: ${where} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}

/**
 * One class for the whole process. A handler that throws answers S_OK on purpose: an error HRESULT
 * from JobTransferred/JobError makes BITS call again and again, which would not cure a bug of ours
 * and would hold one of the user's four notification slots each time.
 */
const callbackClass = new ComClass(IBackgroundCopyCallback2, { answerOnThrow: S_OK, report: warn });

/** Takes a reference to an interface the service passed in, so it outlives the call. */
function retain<M extends string>(address: Pointer | null, iface: Parameters<typeof ComPtr.adopt<M>>[1]): ComPtr<M> | undefined {
  if (address === null || address === 0n) return undefined;
  // AddRef on the proxy the service handed us is answered by the in-process proxy manager.
  invokeSync(address, IUnknown.method('AddRef'));
  return ComPtr.adopt(address, iface);
}

export class CallbackObject {
  #sink: NotificationSink | undefined;
  #disposed = false;
  readonly #object: ComObject;

  constructor(sink: NotificationSink, options: CallbackObjectOptions = {}) {
    this.#sink = sink;
    const deliver = (make: () => Notification): number => {
      const target = this.#sink;
      // Detached: a late call (a replay, a retry already in flight) is acknowledged and dropped.
      if (target === undefined) return S_OK;
      const notification = make();
      try {
        target(notification);
      } catch (error) {
        if ('error' in notification) void notification.error?.release();
        if ('file' in notification) void notification.file?.release();
        (options.onSinkError ?? ((e: unknown) => warn(e, 'a notification sink')))(error);
      }
      return S_OK;
    };
    this.#object = callbackClass.create({
      methods: {
        JobTransferred: () => deliver(() => ({ kind: 'transferred' })),
        JobError: (_job: Pointer | null, error: Pointer | null) =>
          deliver(() => ({ kind: 'error', error: retain(error, IBackgroundCopyError) })),
        JobModification: () => deliver(() => ({ kind: 'modification' })),
        FileTransferred: (_job: Pointer | null, file: Pointer | null) =>
          deliver(() => ({ kind: 'fileTransferred', file: retain(file, IBackgroundCopyFile) })),
      },
      ...(options.onQueryInterface === undefined ? {} : { onQueryInterface: options.onQueryInterface }),
    });
  }

  /** The pointer to give to SetNotifyInterface. */
  get address(): Pointer {
    return this.#object.address;
  }

  /** References held on the object, ours included until {@link dispose}. */
  get refCount(): number {
    return this.#object.refCount;
  }

  /** Stops delivering: later calls are answered S_OK and dropped. */
  detach(): void {
    this.#sink = undefined;
  }

  /** Detaches and drops our reference; the native block lives until the service drops its own. */
  dispose(): void {
    this.detach();
    if (this.#disposed) return;
    this.#disposed = true;
    this.#object.release();
  }
}

/** Callback objects whose native block is still allocated (ours or the service's reference outstanding). */
export function liveCallbackObjects(): number {
  return callbackClass.liveCount;
}

/** koffi callbacks registered for all callback objects together (one per vtable slot, whatever their number). */
export function callbackTrampolines(): number {
  return callbackClass.trampolines;
}
