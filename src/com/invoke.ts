import koffi, { type TypeObject } from 'koffi';
import type { CallArgs, ComMethod } from './interface-table.js';
import { comCallThreads } from './call-threads.js';
import { POINTER_SIZE, type Pointer } from './native-types.js';
import { callHere } from './receiver-thread.js';

/**
 * Calling a method of a native COM object: read `this->lpVtbl[slot]`, turn the function pointer into
 * a koffi function of the method's prototype (cached per pointer), and call it. Asynchronous calls
 * run on a call thread (call-threads.ts), so a service that calls back into our objects while it
 * handles the call (QueryInterface, AddRef, the notifications) finds the JS thread free to answer,
 * and a slow service does not hold libuv's pool, which the application's own I/O needs.
 */

type NativeFunction = (...args: unknown[]) => unknown;

const functionsByProto = new WeakMap<TypeObject, Map<Pointer, NativeFunction>>();

/** `this->lpVtbl[slot]`: read here, on the JS thread, while the caller holds its reference. */
function vtableEntry(self: Pointer, method: ComMethod): Pointer {
  if (self === 0n) throw new TypeError(`${method.interfaceName}::${method.name} called on a NULL pointer`);
  const vtable = koffi.decode(self, 'void *') as Pointer;
  return koffi.decode(vtable, method.slot * POINTER_SIZE, 'void *') as Pointer;
}

function nativeFunction(self: Pointer, method: ComMethod): NativeFunction {
  const entry = vtableEntry(self, method);
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
export function invokeSync<S extends string>(self: Pointer, method: ComMethod<S>, ...args: CallArgs<S>): number {
  // Our callback objects answer a call from this thread here: relayed to the receiver thread, it
  // would block this thread on the receiver, which may be waiting on this thread (receiver-thread.ts).
  return callHere(self, method, args) ?? (nativeFunction(self, method)(self, ...args) as number);
}

/** The method's prototype as a call thread declares it: `this` first, no name (each thread has its own registry). */
const declarations = new WeakMap<ComMethod, string>();

function declaration(method: ComMethod): string {
  let known = declarations.get(method);
  if (known === undefined) {
    const open = method.signature.indexOf('(');
    const params = method.signature.slice(open + 1, method.signature.lastIndexOf(')')).trim();
    known = `${method.signature.slice(0, open).trim()} __stdcall (void *self${params === '' ? '' : `, ${params}`})`;
    declarations.set(method, known);
  }
  return known;
}

/**
 * Calls a method on a call thread (call-threads.ts), never on libuv's pool; resolves with its raw return
 * value (an HRESULT or a count). Beyond the threads' cap, calls wait their turn instead of failing.
 */
export async function invokeAsync<S extends string>(self: Pointer, method: ComMethod<S>, ...args: CallArgs<S>): Promise<number> {
  return comCallThreads.call(vtableEntry(self, method), declaration(method), [self, ...args]);
}
