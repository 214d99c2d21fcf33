import { Worker } from 'node:worker_threads';
import koffi from 'koffi';
import type { Pointer } from './native-types.js';
import { workerSource, type WorkerSource } from './worker-source.js';

/**
 * Call threads: where blocking calls into COM are made. koffi's `.async` would run them on libuv's
 * thread pool (4 threads), which the application's fs, DNS, crypto and zlib work share: four slow
 * service calls (a service starting, a hung RPC) would stall all of that. Instead each call goes to a
 * worker thread of ours, which makes it synchronously and posts the result back.
 *
 * - Started lazily, on the first call; grown one thread at a time while calls wait and every thread is
 *   busy, up to `maxThreads`: a hung call holds its thread, the next call gets another one.
 * - At the cap, calls wait in a queue (they are never refused) until a thread returns. If every thread
 *   is hung, so are the calls queued behind them: nothing can preempt a blocked native call.
 * - A thread keeps the process alive only while it is in a call (as koffi's `.async` did); an idle one
 *   is unref'd, and those beyond the first end after `idleMs` without work.
 * - Arguments: numbers, bigints, strings, null and arrays of plain objects are copied to the thread
 *   (koffi converts them there, as it would here); a Buffer is passed by address, so the native side
 *   writes the caller's own memory (one address space), exactly as `.async` did. The Buffer is kept
 *   alive until the call returns.
 *
 * Every call thread but the apartment thread (runtime.ts) leaves COM uninitialized: a thread that did
 * not initialize COM belongs to the multithreaded apartment implicitly, as long as some thread keeps the
 * MTA alive, which the apartment thread does for the life of the process.
 */

/** One call, as a thread receives it: a function address, its prototype, and the arguments. */
export interface CallRequest {
  readonly fn: Pointer;
  /** A koffi prototype declaration without a name, e.g. `int __stdcall (void *self, uint32 flags)`. */
  readonly declaration: string;
  readonly args: readonly unknown[];
}

/** What a thread answers: once that it is ready, then the result or the exception of each call. */
export type CallReply = { readonly ready: true } | { readonly result: number } | { readonly error: unknown };

export interface CallThreadOptions {
  /** Named in errors and in the threads' names. */
  readonly name: string;
  readonly maxThreads: number;
  /** How long a thread beyond the first stays idle before it ends. */
  readonly idleMs: number;
}

export interface CallThreadStats {
  readonly threads: number;
  readonly busy: number;
  readonly queued: number;
}

interface PendingCall {
  readonly request: CallRequest;
  /** The caller's arguments, Buffers included: their memory must outlive the call. */
  readonly keepAlive: readonly unknown[];
  readonly resolve: (result: number) => void;
  readonly reject: (error: unknown) => void;
}

interface CallThread {
  readonly worker: Worker;
  state: 'starting' | 'idle' | 'busy';
  current: PendingCall | undefined;
  retirement: NodeJS.Timeout | undefined;
  /** Why it ended, when the worker reported an error before exiting. */
  failure: unknown;
}

let entry: WorkerSource | undefined;

export class CallThreadPool {
  readonly #options: CallThreadOptions;
  readonly #threads = new Set<CallThread>();
  readonly #queue: PendingCall[] = [];

  constructor(options: CallThreadOptions) {
    this.#options = options;
  }

  /** Calls `fn` on a call thread; resolves with its return value, rejects with what it threw. */
  call(fn: Pointer, declaration: string, args: readonly unknown[]): Promise<number> {
    const wire = args.map((arg) => (ArrayBuffer.isView(arg) ? (koffi.address(arg) as Pointer) : arg));
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { fn, declaration, args: wire }, keepAlive: args, resolve, reject });
      this.#pump();
    });
  }

  stats(): CallThreadStats {
    let busy = 0;
    for (const thread of this.#threads) if (thread.state === 'busy') busy++;
    return { threads: this.#threads.size, busy, queued: this.#queue.length };
  }

  /** Hands queued calls to idle threads, and starts one more thread if calls still wait. */
  #pump(): void {
    let starting = false;
    for (const thread of this.#threads) {
      if (thread.state === 'starting') starting = true;
      else if (thread.state === 'idle' && this.#queue.length > 0) this.#assign(thread, this.#queue.shift()!);
    }
    if (this.#queue.length > 0 && !starting && this.#threads.size < this.#options.maxThreads) this.#start();
  }

  #assign(thread: CallThread, call: PendingCall): void {
    clearTimeout(thread.retirement);
    thread.state = 'busy';
    thread.current = call;
    thread.worker.ref();
    try {
      thread.worker.postMessage(call.request);
    } catch (error) {
      // An argument that cannot be copied to another thread (a function, a koffi handle).
      this.#idle(thread);
      call.reject(error);
    }
  }

  #idle(thread: CallThread): void {
    thread.state = 'idle';
    thread.current = undefined;
    thread.worker.unref();
    if (this.#threads.values().next().value === thread) return; // the first thread stays
    thread.retirement = setTimeout(() => {
      this.#threads.delete(thread); // before it exits: no call may be handed to it meanwhile
      void thread.worker.terminate();
    }, this.#options.idleMs).unref();
  }

  #start(): void {
    entry ??= workerSource('call-thread-worker');
    const worker = new Worker(entry.source, { eval: entry.eval, name: this.#options.name });
    const thread: CallThread = { worker, state: 'starting', current: undefined, retirement: undefined, failure: undefined };
    this.#threads.add(thread);
    worker.on('message', (reply: CallReply) => {
      const call = thread.current;
      this.#idle(thread);
      if ('error' in reply) call?.reject(reply.error);
      else if ('result' in reply) call?.resolve(reply.result);
      this.#pump();
    });
    worker.on('error', (error) => (thread.failure = error));
    worker.on('exit', (code) => {
      clearTimeout(thread.retirement);
      this.#threads.delete(thread);
      const failure = thread.failure ?? new Error(`${this.#options.name}: a call thread exited (code ${code})`);
      thread.current?.reject(failure);
      // A thread that could not start at all (no worker file, no koffi) will not do better on a retry
      // now: the calls waiting for it fail rather than wait forever.
      if (thread.state === 'starting' && this.#threads.size === 0) {
        for (const call of this.#queue.splice(0)) call.reject(failure);
      }
      this.#pump();
    });
  }
}

/** The threads every call into a COM service runs on (invoke.ts, CoCreateInstance in runtime.ts). */
export const comCallThreads = new CallThreadPool({ name: 'rx-bits COM call', maxThreads: 8, idleMs: 30_000 });

/**
 * The apartment thread: it calls CoInitializeEx(MTA) (runtime.ts), never uninitializes, and never
 * ends (one thread, and a pool's first thread stays), so the MTA outlives every call. It runs no
 * service call, so no hung call can hold it.
 */
export const apartmentThread = new CallThreadPool({ name: 'rx-bits COM apartment', maxThreads: 1, idleMs: 0 });
