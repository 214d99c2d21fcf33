import koffi, { type TypeObject } from 'koffi';
import type { ComMethod } from './interface-table.js';
import { POINTER_SIZE, type Pointer } from './native-types.js';

/**
 * Calling a method of a native COM object: read `this->lpVtbl[slot]`, turn the function pointer into
 * a koffi function of the method's prototype (cached per pointer), and call it. Asynchronous calls
 * run on a libuv worker thread, so a service that calls back into our objects while it handles the
 * call (QueryInterface, AddRef, the notifications) finds the JS thread free to answer.
 */

type NativeFunction = ReturnType<typeof koffi.decode> & {
  (...args: unknown[]): unknown;
  async: (...args: unknown[]) => void;
};

const functionsByProto = new WeakMap<TypeObject, Map<Pointer, NativeFunction>>();

function nativeFunction(self: Pointer, method: ComMethod): NativeFunction {
  if (self === 0n) throw new TypeError(`${method.interfaceName}::${method.name} called on a NULL pointer`);
  const vtable = koffi.decode(self, 'void *') as Pointer;
  const entry = koffi.decode(vtable, method.slot * POINTER_SIZE, 'void *') as Pointer;
  let cache = functionsByProto.get(method.proto);
  if (cache === undefined) {
    cache = new Map();
    functionsByProto.set(method.proto, cache);
  }
  let fn = cache.get(entry);
  if (fn === undefined) {
    fn = koffi.decode(entry, method.proto) as NativeFunction;
    cache.set(entry, fn);
  }
  return fn;
}

/**
 * Calls into our own in-process objects only (or from a service's side, its own ones). Never use it
 * on a service's interface: the JS thread would wait on a call that may need the JS thread.
 */
export function invokeSync(self: Pointer, method: ComMethod, ...args: unknown[]): number {
  return nativeFunction(self, method)(self, ...args) as number;
}

/**
 * koffi refuses more than `max_async_calls` (256 by default) calls in flight; we stay well below
 * and queue the rest, so a burst of 10,000 jobs waits its turn instead of throwing.
 */
const MAX_IN_FLIGHT = 64;
let inFlight = 0;
const waiting: Array<() => void> = [];

function acquire(): Promise<void> {
  if (inFlight < MAX_IN_FLIGHT) {
    inFlight++;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push(resolve));
}

function releaseSlot(): void {
  const next = waiting.shift();
  if (next === undefined) inFlight--;
  else next();
}

/** Calls a method on a libuv worker thread; resolves with its raw return value (an HRESULT or a count). */
export async function invokeAsync(self: Pointer, method: ComMethod, ...args: unknown[]): Promise<number> {
  const fn = nativeFunction(self, method);
  await acquire();
  try {
    return await new Promise<number>((resolve, reject) => {
      fn.async(self, ...args, (error: unknown, result: number) => {
        if (error === null || error === undefined) resolve(result);
        else reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  } finally {
    releaseSlot();
  }
}
