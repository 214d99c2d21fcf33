import { useDoBackend } from './support/do-harness.js';
import { bitsScenarios } from './support/scenarios.js';

// A DO second of 10 ms: callbacks at DO's default cadence (1 s) every 10 ms, retries after 2 DO seconds.
const h = useDoBackend({ secondMs: 10, retrySeconds: 2 });

bitsScenarios(() => ({
  get bits() {
    return h.bits;
  },
  server: h.server,
  local: h.local,
  restart: () => h.restart(),
  capabilities: { resumesFromOffset: false, minimumRetryDelay: false, keepsJobsWithoutFiles: false },
}));
