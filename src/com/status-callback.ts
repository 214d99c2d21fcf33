import type { DoStatusRecord } from './receiver-core.js';
import { readyReceiver, receiverReady, type ReceiverObject } from './receiver-thread.js';
import type { Pointer } from './native-types.js';

export type { DoStatusRecord } from './receiver-core.js';

/**
 * Our IDODownloadStatusCallback, for one download. Hosted by the receiver thread like the BITS
 * callback objects (one set of trampolines per process, shared by every object): Delivery
 * Optimization's thread is answered S_OK at once, with the 32-byte status copied during the call,
 * and the statuses reach the sink afterwards on the main thread, in the order DO made the calls.
 */
export class StatusCallback {
  readonly #object: ReceiverObject;

  /** Starts the receiver thread if needed, without blocking (see CallbackObject.ready). */
  static ready(): Promise<void> {
    return receiverReady();
  }

  constructor(sink: (status: DoStatusRecord) => void, onSinkError: (error: unknown) => void) {
    this.#object = readyReceiver().create(
      {
        status: (status) => {
          try {
            sink(status);
          } catch (error) {
            onSinkError(error);
          }
        },
      },
      'delivery-optimization',
    );
  }

  /** The pointer to put in SetProperty(CallbackInterface)'s VT_UNKNOWN. */
  get address(): Pointer {
    return this.#object.address;
  }

  get refCount(): number {
    return this.#object.refCount;
  }

  /** Stops delivering: later calls are answered S_OK and dropped. */
  detach(): void {
    this.#object.detach();
  }

  /** Detaches and drops our reference; the block lives until DO drops its own. */
  dispose(): void {
    this.#object.dispose();
  }
}
