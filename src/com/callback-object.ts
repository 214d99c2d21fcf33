import { ComPtr } from './com-ptr.js';
import type { Guid } from './guid.js';
import { IBackgroundCopyError, IBackgroundCopyFile } from './interfaces.js';
import type { NotificationKind } from './enums.js';
import type { FileRange } from './file-ranges.js';
import type { Pointer } from './native-types.js';
import { InvalidArgumentError } from './errors.js';
import { HostedObject } from './hosted-object.js';
import { checkObject } from './validate.js';
import { liveReceiverObjects, readyReceiver, receiverReady, receiverTrampolines } from './receiver-thread.js';

/**
 * Our IBackgroundCopyCallback3 (Callback2's methods and FileRangesTransferred). The service calls it on its own threads; every callback object is
 * hosted by the receiver thread (receiver-thread.ts), which answers S_OK at once, so the service's
 * thread never waits for the application's main thread (BITS allows four notifications in flight
 * per user across every application). The notifications reach the sink afterwards, on the main
 * thread, in the order the service made the calls.
 */

export type Notification =
  | { readonly kind: 'transferred' }
  | { readonly kind: 'error'; readonly error: ComPtr<typeof IBackgroundCopyError> | undefined }
  | { readonly kind: 'modification' }
  | { readonly kind: 'fileTransferred'; readonly file: ComPtr<typeof IBackgroundCopyFile> | undefined }
  | {
      readonly kind: 'fileRangesTransferred';
      readonly file: ComPtr<typeof IBackgroundCopyFile> | undefined;
      /** The ranges completed since the previous call, copied during the call. */
      readonly ranges: readonly FileRange[];
    };

/** The notifications that carry no more than a pointer: IBackgroundCopyCallback2's. */
export type { NotificationKind } from './enums.js';

/** Receives notifications on the main thread, in call order; takes ownership of the pointers. */
export type NotificationSink = (notification: Notification) => void;

export interface CallbackObjectOptions {
  /** Where an exception thrown by the sink goes (the service got S_OK long before). Defaults to a process warning. */
  readonly onSinkError?: (error: unknown) => void;
  /** Sees every QueryInterface the service makes, in order with the notifications; for diagnostics and tests. */
  readonly onQueryInterface?: (iid: Guid) => void;
}

function warn(error: unknown, where: string): void {
  process.emitWarning(`rx-bits: ${where} threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}

function notification(kind: NotificationKind, pointer: Pointer | null): Notification {
  switch (kind) {
    case 'error':
      return { kind, error: pointer === null ? undefined : ComPtr.adopt(pointer, IBackgroundCopyError) };
    case 'fileTransferred':
      return { kind, file: pointer === null ? undefined : ComPtr.adopt(pointer, IBackgroundCopyFile) };
    default:
      return { kind };
  }
}

export class CallbackObject extends HostedObject {

  /**
   * Starts the receiver thread if needed, without blocking. Await it once before the first
   * construction: a constructor that finds the receiver not yet started blocks the calling thread
   * until it is (tens to hundreds of milliseconds, once per process).
   */
  static ready(): Promise<void> {
    return receiverReady();
  }

  constructor(sink: NotificationSink, options: CallbackObjectOptions = {}) {
    // Checked before the object exists: a bad sink would only fail at the first notification, on the receiver's schedule.
    if (typeof sink !== 'function') throw new InvalidArgumentError('sink', 'expected a function (notification) => void');
    checkObject(options, 'options', '{ onSinkError?, onQueryInterface? }');
    for (const field of ['onSinkError', 'onQueryInterface'] as const) {
      if (options[field] !== undefined && typeof options[field] !== 'function') throw new InvalidArgumentError(field, 'expected a function');
    }
    const { onQueryInterface } = options;
    const deliver = (received: Notification): void => {
      try {
        sink(received);
      } catch (error) {
        if ('error' in received) void received.error?.release();
        if ('file' in received) void received.file?.release();
        (options.onSinkError ?? ((e: unknown) => warn(e, 'a notification sink')))(error);
      }
    };
    super(
      readyReceiver().create({
      notify: (kind, pointer) => deliver(notification(kind, pointer)),
      ranges: (file, ranges) =>
        deliver({ kind: 'fileRangesTransferred', file: file === null ? undefined : ComPtr.adopt(file, IBackgroundCopyFile), ranges }),
      ...(onQueryInterface === undefined ? {} : { queryInterface: onQueryInterface }),
      }),
    );
  }
}

/** Callback objects whose native block is still allocated (ours or the service's reference outstanding). */
export function liveCallbackObjects(): number {
  return liveReceiverObjects();
}

/**
 * koffi callbacks registered for all callback objects together: one per vtable slot of each interface
 * the receiver hosts (ours for BITS and for Delivery Optimization), whatever the number of objects.
 */
export function callbackTrampolines(): number {
  return receiverTrampolines();
}
