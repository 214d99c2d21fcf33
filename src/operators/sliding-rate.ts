import { InvalidArgumentError } from '../com/errors.js';

/**
 * Bytes per second over a sliding window of samples. Shared by `transferRate` and `eta`, which
 * each keep their own tracker per subscription.
 */
export class SlidingRate {
  readonly #samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly windowMs: number) {}

  /** Adds a sample and answers the rate, or undefined until two samples span some time. */
  sample(at: number, bytes: number): number | undefined {
    const last = this.#samples.at(-1);
    // A restarted transfer counts from zero again: its old samples say nothing about the new rate.
    if (last !== undefined && bytes < last.bytes) this.#samples.length = 0;
    this.#samples.push({ at, bytes });
    // Keep one sample at or beyond the window's start as the baseline.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.windowMs) this.#samples.shift();
    const first = this.#samples[0]!;
    const elapsed = at - first.at;
    return elapsed > 0 ? ((bytes - first.bytes) * 1000) / elapsed : undefined;
  }
}

/** The `window` option of `transferRate` and `eta`, checked when the operator is made. */
export function checkWindow(windowMs: number): number {
  if (typeof windowMs !== 'number' || !(windowMs > 0)) throw new InvalidArgumentError('window', `expected milliseconds > 0, got ${String(windowMs)}`);
  return windowMs;
}
