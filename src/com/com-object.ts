import koffi from 'koffi';
import { decodeGuid, type Guid } from './guid.js';
import { E_NOINTERFACE, E_NOTIMPL, E_POINTER, E_UNEXPECTED, S_OK, toSignedHresult } from './hresult.js';
import type { ComInterface, HandlerArgs, MethodsOf, SignatureOf } from './interface-table.js';
import { POINTER_SIZE, type Pointer } from './native-types.js';

/**
 * COM objects implemented in JavaScript. koffi allows 8,192 registered callbacks per process, so a
 * class registers one trampoline per vtable slot, once, and every instance is a small native block
 * `{ lpVtbl, id }` that shares the class's vtable. A trampoline finds its instance from `this`.
 *
 * Calls may come from any thread: koffi relays a foreign thread's call to the JS thread and holds
 * that thread until we return, so reference counts need no locking, and a handler must be quick.
 */

/** IUnknown's methods, which every object answers itself (reference counting, its interfaces). */
type OwnMethods<I extends ComInterface> = Exclude<MethodsOf<I>, 'QueryInterface' | 'AddRef' | 'Release'>;

/**
 * A method handler: receives the native arguments its prototype declares (pointers as BigInt or
 * null, `const char16_t *` as a string or null) and answers an HRESULT.
 */
export type MethodHandler<I extends ComInterface, K extends MethodsOf<I>> = (...args: HandlerArgs<SignatureOf<I, K>>) => number;

/** Handlers by method name; a method without one answers E_NOTIMPL. */
export type MethodHandlers<I extends ComInterface> = { readonly [K in OwnMethods<I>]?: MethodHandler<I, K> };

export interface ComImplementation<I extends ComInterface> {
  readonly methods: MethodHandlers<I>;
  /**
   * Other interfaces this object hands out (tear-offs): return an owned (AddRef'd) pointer, or
   * undefined to answer E_NOINTERFACE.
   */
  queryInterface?(iid: Guid): Pointer | undefined;
  /** Sees every QueryInterface, in arrival order, whatever the answer. */
  onQueryInterface?(iid: Guid): void;
  /** Runs when the last reference is released and the native block has been freed. */
  onFinalRelease?(): void;
}

export interface ComClassOptions {
  /** What a handler that throws answers: a deliberate choice per class, never koffi's accidental 0. */
  readonly answerOnThrow: number;
  /** Where the exception goes. */
  readonly report: (error: unknown, method: string) => void;
}

interface Instance {
  readonly block: Pointer;
  refCount: number;
  readonly implementation: ComImplementation<ComInterface>;
}

type Trampoline = (self: Pointer | null, ...args: unknown[]) => number;

export class ComClass<I extends ComInterface> {
  readonly #instances = new Map<number, Instance>();
  #nextId = 1;
  #vtable: Pointer | undefined;

  constructor(
    readonly iface: I,
    private readonly options: ComClassOptions,
  ) {}

  /** koffi callbacks this class registered: one per vtable slot once it has an instance, else none. */
  get trampolines(): number {
    return this.#vtable === undefined ? 0 : this.iface.methods.length;
  }

  /** Instances not yet freed. */
  get liveCount(): number {
    return this.#instances.size;
  }

  /** A new object with one reference, owned by the caller. */
  create(implementation: ComImplementation<I>): ComObject {
    const block = koffi.alloc('void *', 2) as Pointer;
    const id = this.#nextId++;
    koffi.encode(block, 0, 'void *', this.#ensureVtable());
    koffi.encode(block, POINTER_SIZE, 'uint32', id);
    // Instances of every class share one shape; each handler is called with the arguments koffi
    // decoded from its own slot's prototype, which is what its type promised.
    const instance: Instance = { block, refCount: 1, implementation: implementation as ComImplementation<ComInterface> };
    this.#instances.set(id, instance);
    return new ComObject(block, this, id);
  }

  /** @internal Reference count of an instance, 0 once freed. */
  refCountOf(id: number): number {
    return this.#instances.get(id)?.refCount ?? 0;
  }

  /** @internal AddRef/Release on our own side, without a native round trip. */
  adjust(id: number, delta: 1 | -1): number {
    const instance = this.#instances.get(id);
    if (instance === undefined) return 0;
    instance.refCount += delta;
    if (instance.refCount === 0) {
      this.#instances.delete(id);
      koffi.free(instance.block);
      instance.implementation.onFinalRelease?.();
    }
    return instance.refCount;
  }

  #ensureVtable(): Pointer {
    if (this.#vtable !== undefined) return this.#vtable;
    const { methods } = this.iface;
    const vtable = koffi.alloc('void *', methods.length) as Pointer;
    for (const method of methods) {
      const trampoline = koffi.register(this.#trampoline(method.name), koffi.pointer(method.proto));
      koffi.encode(vtable, method.slot * POINTER_SIZE, 'void *', trampoline);
    }
    // The vtable and its trampolines live as long as the process: instances may be called until the
    // service drops its last reference, which can be after anything we could hook for cleanup.
    this.#vtable = vtable;
    return vtable;
  }

  #lookup(self: Pointer | null): [number, Instance] | undefined {
    if (self === null || self === 0n) return undefined;
    const id = koffi.decode(self, POINTER_SIZE, 'uint32') as number;
    const instance = this.#instances.get(id);
    return instance === undefined ? undefined : [id, instance];
  }

  #trampoline(name: string): Trampoline {
    switch (name) {
      case 'AddRef':
        return (self) => {
          const found = this.#lookup(self);
          return found === undefined ? 0 : this.adjust(found[0], 1);
        };
      case 'Release':
        return (self) => {
          const found = this.#lookup(self);
          return found === undefined ? 0 : this.adjust(found[0], -1);
        };
      case 'QueryInterface':
        return (self, riid, out) => this.#queryInterface(self, riid as Pointer | null, out as Pointer | null);
      default:
        return (self, ...args) => {
          const found = this.#lookup(self);
          if (found === undefined) return toSignedHresult(E_UNEXPECTED);
          const handler = found[1].implementation.methods[name];
          if (handler === undefined) return toSignedHresult(E_NOTIMPL);
          try {
            return toSignedHresult(handler(...args));
          } catch (error) {
            this.options.report(error, `${this.iface.name}::${name}`);
            return toSignedHresult(this.options.answerOnThrow);
          }
        };
    }
  }

  #queryInterface(self: Pointer | null, riid: Pointer | null, out: Pointer | null): number {
    if (out === null || out === 0n || riid === null || riid === 0n) return toSignedHresult(E_POINTER);
    koffi.encode(out, 'void *', 0n);
    const found = this.#lookup(self);
    if (found === undefined) return toSignedHresult(E_UNEXPECTED);
    const [id, instance] = found;
    const iid = decodeGuid(new Uint8Array(koffi.view(riid, 16).slice(0)));
    try {
      instance.implementation.onQueryInterface?.(iid);
      if (this.iface.iids.includes(iid)) {
        this.adjust(id, 1);
        koffi.encode(out, 'void *', instance.block);
        return S_OK;
      }
      const other = instance.implementation.queryInterface?.(iid);
      if (other === undefined) return toSignedHresult(E_NOINTERFACE);
      koffi.encode(out, 'void *', other);
      return S_OK;
    } catch (error) {
      this.options.report(error, `${this.iface.name}::QueryInterface`);
      return toSignedHresult(E_NOINTERFACE);
    }
  }
}

/** Our side's handle on one instance: its address for passing to a service, and reference counting. */
export class ComObject {
  constructor(
    readonly address: Pointer,
    private readonly cls: ComClass<ComInterface>,
    private readonly id: number,
  ) {}

  get refCount(): number {
    return this.cls.refCountOf(this.id);
  }

  /** Takes one more reference on our side (e.g. before handing the pointer out through an out-parameter). */
  addRef(): void {
    this.cls.adjust(this.id, 1);
  }

  /** Drops one reference; the block is freed when the last one goes. */
  release(): void {
    this.cls.adjust(this.id, -1);
  }
}
