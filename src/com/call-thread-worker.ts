import { parentPort } from 'node:worker_threads';
import koffi, { type TypeObject } from 'koffi';
import type { CallReply, CallRequest } from './call-threads.js';
// The struct types the prototypes name (GUID, BG_FILE_INFO, ...): koffi's type registry is per thread.
import './native-types.js';
import './do-native-types.js';

/**
 * One call thread (see call-threads.ts): receives a native call, makes it synchronously here, and
 * answers with its return value. Blocking is this thread's whole job; it never touches libuv's pool.
 */

if (parentPort === null) throw new Error('call-thread-worker.ts runs only as a worker thread');
const port = parentPort;

// koffi 3.3.4 allocates a thread's call stack in load() (or register()) only; a call through a
// decoded function pointer before either crashes the process. load(null) is that allocation.
koffi.load(null);

type NativeFunction = (...args: unknown[]) => number;
/** Per prototype, its functions by address: vtable entries and exports are few and live forever. */
const byDeclaration = new Map<string, { proto: TypeObject; byAddress: Map<bigint, NativeFunction> }>();

function nativeFunction({ fn, declaration }: CallRequest): NativeFunction {
  let known = byDeclaration.get(declaration);
  if (known === undefined) {
    known = { proto: koffi.proto(declaration), byAddress: new Map() };
    byDeclaration.set(declaration, known);
  }
  let call = known.byAddress.get(fn);
  if (call === undefined) {
    call = koffi.decode(fn, known.proto) as NativeFunction;
    known.byAddress.set(fn, call);
  }
  return call;
}

port.on('message', (request: CallRequest) => {
  let reply: CallReply;
  try {
    reply = { result: nativeFunction(request)(...request.args) };
  } catch (error) {
    reply = { error };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies CallReply);
