import { checkPins, encodePins, type CertificatePins } from './certificate-pins.js';
import type { Pointer } from './native-types.js';
import { readyReceiver, receiverReady, type ReceiverObject } from './receiver-thread.js';

/**
 * Our IBackgroundCopyServerCertificateValidationCallback, hosted by the receiver thread like the
 * notification callbacks (one set of trampolines per process, shared by every object). BITS calls it
 * during the TLS handshake and waits for the answer, so the answer cannot come from a JS function on
 * the main thread (a busy main thread would hold BITS, and koffi would block BITS's thread on it): it
 * is decided on the receiver thread from the pins given here, as data, which the object carries in
 * native memory and frees with itself.
 */
export class ServerCertificateValidator {
  readonly #object: ReceiverObject;

  /** Starts the receiver thread if needed, without blocking (see CallbackObject.ready). */
  static ready(): Promise<void> {
    return receiverReady();
  }

  /** Checks the pins (an InvalidArgumentError naming `field`) before anything is allocated. */
  constructor(pins: CertificatePins, field: string) {
    const checked = checkPins(pins, field);
    this.#object = readyReceiver().create({}, 'certificate-validation', encodePins(checked));
  }

  /** The pointer to give to SetServerCertificateValidationInterface. */
  get address(): Pointer {
    return this.#object.address;
  }

  get refCount(): number {
    return this.#object.refCount;
  }

  /** Drops our reference; the object and its pins live until the service drops its own. */
  dispose(): void {
    this.#object.dispose();
  }
}
