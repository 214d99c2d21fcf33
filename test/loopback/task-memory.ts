/** The loopback's CoTaskMemAlloc/CoTaskMemFree: the portable engine's, which counts double frees for the leak checks. */
export { TaskMemory } from '../../src/engine/com/task-memory.js';
