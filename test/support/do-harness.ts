import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { liveCallbackObjects } from '../../src/com/callback-object.js';
import { ComPtr, referenceStats } from '../../src/com/com-ptr.js';
import { IDODownload, IDOManager } from '../../src/com/do-interfaces.js';
import { CLSID_DeliveryOptimization } from '../../src/com/interfaces.js';
import { pointerSlot, readPointer } from '../../src/com/native-types.js';
import { whenBridgeClosed } from '../../src/do/runtime.js';
import { DoDownload } from '../../src/do/download.js';
import { engineBugs } from '../../src/engine/com/context.js';
import { connect, type BitsManager } from '../../src/com/manager.js';
import { whenHubsIdle } from '../../src/observables/hub.js';
import { LoopbackDoService, type DoLoopbackOptions } from '../loopback-do/service.js';
import { startTestServer, type TestServer } from './http-server.js';

export interface DoHarness {
  service: LoopbackDoService;
  server: TestServer;
  dir: string;
  local(name: string): string;
  /** A new IDOManager of the loopback service, owned by the caller. */
  manager(): Promise<ComPtr<typeof IDOManager>>;
  /** CreateDownload on a new manager (released at once, as DO allows: [N]), typed. */
  createDownload(): Promise<DoDownload>;
}

/**
 * A loopback Delivery Optimization service, an HTTP server and a temporary folder per test; after each,
 * every reference given back and nothing leaked (objects, BSTRs, callback objects).
 */
export function useDoLoopback(options: Partial<DoLoopbackOptions> = {}): DoHarness {
  const h = {} as DoHarness;
  const before = { live: 0, leaked: 0, callbacks: 0 };
  beforeEach(async () => {
    Object.assign(before, referenceStats(), { callbacks: liveCallbackObjects() });
    h.service = new LoopbackDoService(options);
    h.server = await startTestServer();
    h.dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-do-'));
    h.local = (name) => path.join(h.dir, name);
    h.manager = async () => ComPtr.adopt(await h.service.runtime.createInstance(CLSID_DeliveryOptimization, IDOManager.iid), IDOManager);
    h.createDownload = async () => {
      const manager = await h.manager();
      const slot = pointerSlot();
      try {
        await manager.call('CreateDownload', slot);
      } finally {
        await manager.release();
      }
      return new DoDownload(ComPtr.adopt(readPointer(slot), IDODownload), h.service.automation);
    };
  });
  afterEach(async () => {
    await h.service.close();
    await h.server.close();
    await rm(h.dir, { recursive: true, force: true });
    h.service.assertNoLeaks();
    expect(referenceStats().live - before.live, 'interface references still owned').toBe(0);
    expect(referenceStats().leaked - before.leaked, 'references released by the finalizer backstop').toBe(0);
    expect(liveCallbackObjects() - before.callbacks, 'callback objects still allocated').toBe(0);
  });
  return h;
}

export interface DoBackendHarness extends DoHarness {
  /** The manager connected with `backend: 'delivery-optimization'` over the loopback DO service. */
  bits: BitsManager;
  /** The app restarts: its manager is released, the bridge lets go of DO, and a new connect() finds the jobs again. */
  restart(): Promise<void>;
}

/** {@link useDoLoopback} plus a manager on the 'delivery-optimization' backend, released (and its bridge closed) after each test. */
export function useDoBackend(options: Partial<DoLoopbackOptions> = {}): DoBackendHarness {
  const h = useDoLoopback(options) as DoBackendHarness;
  beforeEach(async () => {
    h.bits = await connect({ backend: 'delivery-optimization', runtime: h.service.runtime });
    h.restart = async () => {
      await h.bits.release();
      await whenHubsIdle();
      await whenBridgeClosed(h.service.runtime);
      h.bits = await connect({ backend: 'delivery-optimization', runtime: h.service.runtime });
    };
  });
  afterEach(async () => {
    await whenHubsIdle();
    await h.bits.release();
    await whenBridgeClosed(h.service.runtime);
    expect(engineBugs(), 'bridge or engine bugs').toEqual([]);
  });
  return h;
}
