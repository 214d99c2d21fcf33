import { InvalidArgumentError } from '../com/errors.js';

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
  const { initial = 1000, max = 60_000, jitter = 0.5, random = Math.random } = options;
  if (!(initial >= 0)) throw new InvalidArgumentError('initial', `expected milliseconds >= 0, got ${initial}`);
  if (!(max >= initial)) throw new InvalidArgumentError('max', `expected milliseconds >= initial (${initial}), got ${max}`);
  if (!(jitter >= 0 && jitter <= 1)) throw new InvalidArgumentError('jitter', `expected a fraction in 0..1, got ${jitter}`);
  return (attempt) => {
    const capped = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
    return Math.round(capped * (1 - jitter * random()));
  };
}
