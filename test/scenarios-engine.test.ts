import { useEngine } from './support/engine-harness.js';
import { bitsScenarios } from './support/scenarios.js';

const h = useEngine();

bitsScenarios(() => ({
  get bits() {
    return h.bits;
  },
  server: h.server,
  local: h.local,
  restart: () => h.reopen(),
  capabilities: { resumesFromOffset: true, minimumRetryDelay: true, keepsJobsWithoutFiles: true },
}));
