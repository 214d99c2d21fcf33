import { vi } from 'vitest';
import { ComPtr } from '../../src/com/com-ptr.js';
import { NotSupportedByBackendError } from '../../src/index.js';

/** An operation a backend should refuse, named as its NotSupportedByBackendError names it. */
export type Refusal = readonly [operation: string, act: () => Promise<unknown>];

/**
 * Counts the library's calls on BITS's interfaces (calls and QueryInterface through ComPtr). The DO
 * bridge and the portable engine run in this process, where no loopback counter sees them.
 */
export function countBitsCalls(): { count(): number; restore(): void } {
  const spies = [vi.spyOn(ComPtr.prototype, 'callRaw'), vi.spyOn(ComPtr.prototype, 'queryInterface')];
  const onBits = (self: unknown): boolean => (self as ComPtr).iface.name.startsWith('IBackgroundCopy');
  return {
    count: () => spies.reduce((total, spy) => total + spy.mock.contexts.filter(onBits).length, 0),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** What each refusal ended with, as `NotSupportedByBackendError(backend, operation)` or the error's text. */
export async function outcomesOf(refusals: readonly Refusal[]): Promise<Array<{ operation: string; error: string }>> {
  const outcomes: Array<{ operation: string; error: string }> = [];
  for (const [operation, act] of refusals) {
    const error = await act().then(
      () => 'none',
      (e: unknown) => (e instanceof NotSupportedByBackendError ? `NotSupportedByBackendError(${e.backend}, ${e.operation})` : String(e)),
    );
    outcomes.push({ operation, error });
  }
  return outcomes;
}
