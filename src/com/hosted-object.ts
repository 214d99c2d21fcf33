import type { Pointer } from './native-types.js';
import type { ReceiverObject } from './receiver-thread.js';

/**
 * A callback object the receiver thread hosts, from our side: its address for the service, and
 * detaching and disposing of it. The receiver answers the service; subclasses say what reaches us.
 */
export abstract class HostedObject {
  readonly #object: ReceiverObject;
  #disposed = false;

  protected constructor(object: ReceiverObject) {
    this.#object = object;
  }

  /** The pointer to hand to the service. */
  get address(): Pointer {
    return this.#object.address;
  }

  /** References held on the object, ours included until {@link dispose}. */
  get refCount(): number {
    return this.#object.refCount;
  }

  /** Stops delivering: later calls are answered S_OK and dropped, and so are those not yet delivered. */
  detach(): void {
    this.#object.detach();
  }

  /** Whether {@link dispose} was called: the object then serves nobody and must not be handed out again. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Detaches and drops our reference; the native block lives until the service drops its own. */
  dispose(): void {
    this.#disposed = true;
    this.#object.dispose();
  }
}
