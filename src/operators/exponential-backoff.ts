import { InvalidArgumentError } from '../com/errors.js';
import { checkObject } from '../com/validate.js';
import { checkFunction, checkMilliseconds } from './option-checks.js';

export interface BackoffOptions {
  /** Milliseconds before the first retry. Default 1,000. */
  readonly initial?: number;
  /** The cap, in milliseconds. Default 60,000. */
  readonly max?: number;
  /** Fraction of each delay drawn at random (0 none, 1 "full jitter"). Default 0.5. */
  readonly jitter?: number;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

/**
 * A delay function for `retryOnJobError`: `initial * 2^(attempt-1)`, capped at `max`, with the top
 * `jitter` fraction drawn at random so that many clients do not retry in step.
 *
 * @example
 * retryOnJobError(job, { delay: exponentialBackoff({ initial: 500, max: 30_000 }) });
 */
export function exponentialBackoff(options: BackoffOptions = {}): (attempt: number) => number {
  // Checked now, not at the first retry, and within what a timer can wait (retryOnJobError checks each answer too).
  checkObject(options, 'options', 'an object of options');
  const { initial = 1000, max = 60_000, jitter = 0.5, random = Math.random } = options;
  checkMilliseconds(initial, 'initial');
  if (!(checkMilliseconds(max, 'max') >= initial)) throw new InvalidArgumentError('max', `expected milliseconds >= initial (${initial}), got ${max}`);
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) throw new InvalidArgumentError('jitter', `expected a fraction in 0..1, got ${typeof jitter === 'number' ? jitter : typeof jitter}`);
  checkFunction(random, 'random', '() => a number in [0, 1)');
  return (attempt) => {
    const capped = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
    return Math.round(capped * (1 - jitter * random()));
  };
}
