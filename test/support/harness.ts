import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { config } from 'rxjs';
import { afterEach, beforeEach, expect } from 'vitest';
import type { Backend } from '../../src/com/backend.js';
import { CallbackObject, liveCallbackObjects, type Notification, type NotificationKind } from '../../src/com/callback-object.js';
import { referenceStats } from '../../src/com/com-ptr.js';
import { NotifyFlags } from '../../src/com/enums.js';
import { connect, type BitsManager } from '../../src/com/manager.js';
import type { ComRuntime } from '../../src/com/runtime.js';
import { LoopbackService, type LoopbackOptions } from '../loopback/service.js';
import { startTestServer, type TestServer } from './http-server.js';

export interface Harness {
  service: LoopbackService;
  server: TestServer;
  bits: BitsManager;
  dir: string;
  /** An absolute path in this test's temporary folder. */
  local(name: string): string;
}

/**
 * A loopback service, an HTTP server, a connected manager and a temporary folder for each test.
 * After each test: everything released, and the service, the reference counters and the callback
 * objects all agree that nothing leaked.
 */
export function useLoopback(options: Partial<LoopbackOptions> = {}, backend: Backend = 'bits'): Harness {
  const harness = {} as Harness;
  // Baselines, so that one failing test does not fail every test after it.
  const before = { live: 0, leaked: 0, callbacks: 0 };
  beforeEach(async () => {
    Object.assign(before, referenceStats(), { callbacks: liveCallbackObjects() });
    harness.service = new LoopbackService(options);
    harness.server = await startTestServer();
    harness.bits = await connect({ backend, runtime: harness.service.runtime });
    harness.dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-'));
    harness.local = (name) => path.join(harness.dir, name);
  });
  afterEach(async () => {
    await harness.bits.release();
    await harness.service.close();
    await harness.server.close();
    await rm(harness.dir, { recursive: true, force: true });
    harness.service.assertNoLeaks();
    expect(referenceStats().live - before.live, 'interface references still owned').toBe(0);
    expect(referenceStats().leaked - before.leaked, 'references released by the finalizer backstop').toBe(0);
    expect(liveCallbackObjects() - before.callbacks, 'callback objects still allocated').toBe(0);
  });
  return harness;
}

/** A callback object that records what arrives and lets a test wait for a kind. */
export class Recorder {
  readonly notifications: Notification[] = [];
  readonly callback: CallbackObject;
  readonly #waiters: Array<{ kind: NotificationKind; count: number; resolve: () => void }> = [];

  constructor() {
    this.callback = new CallbackObject((notification) => {
      this.notifications.push(notification);
      for (const waiter of [...this.#waiters]) {
        if (this.count(waiter.kind) >= waiter.count) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  }

  count(kind: NotificationKind): number {
    return this.notifications.filter((n) => n.kind === kind).length;
  }

  kinds(): Array<Notification['kind']> {
    return this.notifications.map((n) => n.kind);
  }

  /** Resolves once `count` notifications of `kind` have arrived. */
  waitFor(kind: NotificationKind, count = 1): Promise<void> {
    if (this.count(kind) >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ kind, count, resolve }));
  }

  /** Releases the interface pointers notifications carried, and our reference on the callback object. */
  async dispose(): Promise<void> {
    for (const n of this.notifications) {
      if (n.kind === 'error') await n.error?.release();
      if (n.kind === 'fileTransferred') await n.file?.release();
    }
    this.callback.dispose();
  }
}

/**
 * Another process registers its own callback (and JobTransferred as its flags) on the job: BITS
 * keeps one notify interface per job, and the last writer wins. `done` clears and releases it.
 */
export async function registerAnother(bits: BitsManager, id: string): Promise<{ recorder: Recorder; done: () => Promise<void> }> {
  const other = await bits.getJob(id);
  const recorder = new Recorder();
  await other.setNotifyFlags(NotifyFlags.JobTransferred);
  await other.setNotifyInterface(recorder.callback);
  return {
    recorder,
    done: async () => {
      await other.setNotifyInterface(null).catch(() => undefined);
      await other.release();
      await recorder.dispose();
    },
  };
}

/**
 * Collects what rxjs reports as unhandled (a subscriber or a user callback that throws) instead of
 * crashing the run; the array is emptied before each test of the enclosing suite.
 */
export function captureUnhandled(): unknown[] {
  const errors: unknown[] = [];
  let previous: typeof config.onUnhandledError;
  beforeEach(() => {
    errors.length = 0;
    previous = config.onUnhandledError;
    config.onUnhandledError = (error) => errors.push(error);
  });
  afterEach(() => {
    config.onUnhandledError = previous;
  });
  return errors;
}

/** Polls a condition on the event loop; a hang guard is vitest's test timeout, not a wall-clock assertion. */
export async function until(condition: () => boolean | Promise<boolean>, everyMs = 5): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, everyMs));
}

/** Connections counted: `runtime` with its createInstance counted, for checks that must come before any connection. */
export interface CountedRuntime {
  readonly runtime: ComRuntime;
  readonly connects: { count: number };
}

/** `runtime` as it is, each connection (createInstance) counted. */
export function countConnects(runtime: ComRuntime): CountedRuntime {
  const connects = { count: 0 };
  return {
    connects,
    runtime: {
      ...runtime,
      createInstance: (clsid, iid) => {
        connects.count++;
        return runtime.createInstance(clsid, iid);
      },
    },
  };
}

/** A runtime that refuses every connection, counting the attempts: any count above 0 means something connected. */
export function refusingRuntime(): CountedRuntime {
  return countConnects({
    pathStyle: 'posix',
    initialize: () => Promise.resolve(),
    createInstance: () => Promise.reject(new Error('the CLI connected')),
    freeTaskMemory: () => undefined,
    disconnectObject: () => Promise.resolve(),
  });
}
