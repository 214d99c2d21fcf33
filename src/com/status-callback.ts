import type { DoStatusRecord } from './receiver-core.js';
import { HostedObject } from './hosted-object.js';
import { readyReceiver, receiverReady } from './receiver-thread.js';

export type { DoStatusRecord } from './receiver-core.js';

/**
 * Our IDODownloadStatusCallback, for one download. Hosted by the receiver thread like the BITS
 * callback objects (one set of trampolines per process, shared by every object): Delivery
 * Optimization's thread is answered S_OK at once, with the 32-byte status copied during the call,
 * and the statuses reach the sink afterwards on the main thread, in the order DO made the calls.
 */
export class StatusCallback extends HostedObject {

  /** Starts the receiver thread if needed, without blocking (see CallbackObject.ready). */
  static ready(): Promise<void> {
    return receiverReady();
  }

  constructor(sink: (status: DoStatusRecord) => void, onSinkError: (error: unknown) => void) {
    super(
      readyReceiver().create(
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
      ),
    );
  }
}
