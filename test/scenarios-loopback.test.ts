import { connect } from '../src/index.js';
import { useLoopback } from './support/harness.js';
import { bitsScenarios } from './support/scenarios.js';

// A BITS second of 10 ms, as on the engine: the same waits on both.
const h = useLoopback({ secondMs: 10 });

bitsScenarios(() => ({
  get bits() {
    return h.bits;
  },
  server: h.server,
  local: h.local,
  restart: async () => {
    await h.bits.release();
    h.bits = await connect({ backend: 'bits', runtime: h.service.runtime });
  },
  capabilities: { resumesFromOffset: false, minimumRetryDelay: true, keepsJobsWithoutFiles: true },
}));
