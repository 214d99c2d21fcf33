import { ComError, ReleasedError } from './errors.js';
import { encodeGuid } from './guid.js';
import { isFailure, toUnsignedHresult } from './hresult.js';
import type { CallArgs, ComInterface, ComMethod, MethodsOf, SignatureOf } from './interface-table.js';
import { IUnknown } from './interfaces.js';
import { invokeAsync } from './invoke.js';
import { pointerSlot, readPointer, type Pointer } from './native-types.js';

/** Counts of interface references held through {@link ComPtr}, for tests and diagnostics. */
export interface ReferenceStats {
  /** References owned right now and not yet released. */
  readonly live: number;
  /** References nobody released: the garbage collector found their owner and the backstop released them. */
  readonly leaked: number;
}

const counts = { live: 0, leaked: 0 };

/**
 * The backstop: an owner that became garbage without `release()` still gives its reference back, and
 * is counted, so that a test can assert that nothing leaked (and a program does not hold a service
 * object forever).
 */
const backstop = new FinalizationRegistry<Pointer>((address) => {
  counts.live--;
  counts.leaked++;
  invokeAsync(address, IUnknown.method('Release')).catch(() => undefined);
});

export function referenceStats(): ReferenceStats {
  return { live: counts.live, leaked: counts.leaked };
}

/**
 * One owned reference to a native interface. Exactly one owner calls `release()` (idempotent); the
 * owner may also be `using`/`await using`. Every call goes to a worker thread and returns a Promise.
 * Typed by its interface table: a method's arguments are those its prototype declares.
 */
export class ComPtr<I extends ComInterface = ComInterface> {
  #address: Pointer | undefined;
  #released: Promise<void> | undefined;
  /** Calls made on this reference that have not returned yet; the native Release waits for them. */
  #inFlight = 0;
  #whenIdle: (() => void) | undefined;

  private constructor(
    address: Pointer,
    readonly iface: I,
  ) {
    this.#address = address;
    counts.live++;
    backstop.register(this, address, this);
  }

  /** Takes ownership of a reference the caller already holds (an out-parameter, a QueryInterface result). */
  static adopt<I extends ComInterface>(address: Pointer, iface: I): ComPtr<I> {
    if (address === 0n) throw new TypeError(`cannot adopt a NULL ${iface.name} pointer`);
    return new ComPtr(address, iface);
  }

  /** Reads an out-parameter slot and adopts what it holds; NULL gives undefined. */
  static fromSlot<I extends ComInterface>(slot: Buffer, iface: I): ComPtr<I> | undefined {
    const address = readPointer(slot);
    return address === 0n ? undefined : new ComPtr(address, iface);
  }

  get released(): boolean {
    return this.#address === undefined;
  }

  /** The raw pointer, for passing as an argument. Throws once released. */
  address(operation = 'use'): Pointer {
    if (this.#address === undefined) throw new ReleasedError(this.iface.name, operation);
    return this.#address;
  }

  /** Calls a method; a failure HRESULT becomes a {@link ComError}, a success code (S_FALSE, BG_S_*) is returned. */
  async call<K extends MethodsOf<I>>(method: K, ...args: CallArgs<SignatureOf<I, K>>): Promise<number> {
    const hr = await this.callRaw(method, ...args);
    if (isFailure(hr)) throw new ComError(hr, this.iface.name, method);
    return hr;
  }

  /** Calls a method and returns its HRESULT, failure or not (unsigned). */
  async callRaw<K extends MethodsOf<I>>(method: K, ...args: CallArgs<SignatureOf<I, K>>): Promise<number> {
    return toUnsignedHresult(await this.#invoke(method, this.iface.method(method), ...args));
  }

  /** QueryInterface on a worker thread: a new owned reference, or a ComError (E_NOINTERFACE). */
  async queryInterface<T extends ComInterface>(target: T): Promise<ComPtr<T>> {
    const slot = pointerSlot();
    const hr = await this.#invoke('QueryInterface', IUnknown.method('QueryInterface'), encodeGuid(target.iid), slot);
    if (isFailure(hr)) throw new ComError(hr, this.iface.name, `QueryInterface(${target.name})`);
    return ComPtr.adopt(readPointer(slot), target);
  }

  /** One call on this reference, counted as in flight until it has returned, failed or not. */
  async #invoke<S extends string>(operation: string, method: ComMethod<S>, ...args: CallArgs<S>): Promise<number> {
    const self = this.address(operation);
    this.#inFlight++;
    try {
      return await invokeAsync(self, method, ...args);
    } finally {
      if (--this.#inFlight === 0) this.#whenIdle?.();
    }
  }

  /**
   * Gives the reference back. It counts as released at once (new calls throw {@link ReleasedError}),
   * but the native Release waits until the calls in flight on it have returned: on Windows a Release
   * racing a call on the same proxy can free the proxy under that call. The Promise resolves once
   * the Release has returned; later calls return the same Promise.
   */
  release(): Promise<void> {
    this.#released ??= this.#giveBack();
    return this.#released;
  }

  async #giveBack(): Promise<void> {
    const address = this.address('Release');
    this.#address = undefined;
    backstop.unregister(this);
    counts.live--;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#whenIdle = resolve));
    await invokeAsync(address, IUnknown.method('Release'));
  }

  [Symbol.dispose](): void {
    void this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
