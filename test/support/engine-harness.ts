import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { liveCallbackObjects } from '../../src/com/callback-object.js';
import { referenceStats } from '../../src/com/com-ptr.js';
import { connect, type BitsManager } from '../../src/com/manager.js';
import { engineBugs } from '../../src/engine/com/context.js';
import { ENGINE_DEFAULTS, PortableEngine, type EngineOptions } from '../../src/engine/engine.js';
import { whenHubsIdle } from '../../src/observables/hub.js';
import { startTestServer, type TestServer } from './http-server.js';

export interface EngineHarness {
  engine: PortableEngine;
  server: TestServer;
  bits: BitsManager;
  /** This test's temporary folder; the engine's state directory is `state` inside it. */
  dir: string;
  stateDir: string;
  local(name: string): string;
  /** Closes the engine and opens the state directory again, as a new process would. */
  reopen(): Promise<void>;
}

/**
 * Options that keep the engine's own waits short in tests: a BITS second is 10 ms (the 5 s retry
 * floor is 50 ms), and modifications go out at once.
 */
export const FAST: EngineOptions = {
  ...ENGINE_DEFAULTS,
  secondMs: 10,
  notifier: { minimumModificationIntervalMs: 0, terminalRetryMs: 10, terminalAttempts: 10 },
};

/**
 * A portable engine on a fresh state directory, a connected manager and an HTTP server for each test.
 * After each test: everything released, no string or COM reference outstanding, no engine bug.
 */
export function useEngine(options: Partial<EngineOptions> = {}): EngineHarness {
  const harness = {} as EngineHarness;
  const before = { live: 0, leaked: 0, callbacks: 0, bugs: 0 };
  beforeEach(async () => {
    Object.assign(before, referenceStats(), { callbacks: liveCallbackObjects(), bugs: engineBugs().length });
    harness.dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-engine-'));
    harness.stateDir = path.join(harness.dir, 'state');
    harness.local = (name) => path.join(harness.dir, name);
    harness.server = await startTestServer();
    harness.engine = await PortableEngine.open(harness.stateDir, { ...FAST, ...options });
    harness.bits = await connect({ backend: 'portable', runtime: harness.engine.runtime });
    harness.reopen = async () => {
      await harness.bits.release();
      await harness.engine.close();
      harness.engine = await PortableEngine.open(harness.stateDir, { ...FAST, ...options });
      harness.bits = await connect({ backend: 'portable', runtime: harness.engine.runtime });
    };
  });
  afterEach(async () => {
    await whenHubsIdle();
    await harness.bits.release();
    await harness.engine.settled();
    expect(harness.engine.taskMemory.outstanding, 'strings handed out and never freed').toBe(0);
    expect(harness.engine.heldObjects, 'engine objects still held').toBe(0);
    await harness.engine.close();
    await harness.server.close();
    await rm(harness.dir, { recursive: true, force: true });
    expect(engineBugs().slice(before.bugs), 'engine handlers that threw').toEqual([]);
    expect(referenceStats().live - before.live, 'interface references still owned').toBe(0);
    expect(referenceStats().leaked - before.leaked, 'references released by the finalizer backstop').toBe(0);
    expect(liveCallbackObjects() - before.callbacks, 'callback objects still allocated').toBe(0);
  });
  return harness;
}
