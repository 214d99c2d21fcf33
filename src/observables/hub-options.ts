import { InvalidArgumentError } from '../com/errors.js';

/** What a hub does when another process takes the job's notify interface (last writer wins). */
export type DisplacedPolicy =
  /** Leave it to them: this job's streams go on by polling for what their subscribers need. */
  | 'poll'
  /** Register our callback again (and again, each time it is taken). */
  | 'reclaim'
  /**
   * Never take the notify interface from anyone: a job that already has one when the hub attaches
   * is watched by polling, as a displaced one is; ours is registered only while nobody holds it.
   * For tools that look at other applications' jobs (`rx-bits top`).
   */
  | 'observe';

export interface HubOptions {
  /** Milliseconds between backstop polls while state, progress, modifications or errors are observed. Default 1,000. */
  readonly pollInterval?: number;
  /** Milliseconds to stay attached after the last subscriber leaves, so that a quick re-subscribe does not churn. Default 0. */
  readonly detachDelay?: number;
  /**
   * Milliseconds between renewals of the registration while attached: one call into the service
   * per job each time, checking in turn that the job is still queued and that its notify interface
   * is still ours (so each is checked every second renewal). Default 30,000.
   */
  readonly leaseInterval?: number;
  /** When another process takes the job's notify interface. Default `'poll'`. */
  readonly onDisplaced?: DisplacedPolicy;
  /** Milliseconds the service may stay unreachable before the streams error with a `ServiceUnavailableError`. Default 60,000. */
  readonly reconnectTimeout?: number;
}

export type CheckedHubOptions = Required<HubOptions>;

export const DEFAULT_HUB_OPTIONS: CheckedHubOptions = {
  pollInterval: 1000,
  detachDelay: 0,
  leaseInterval: 30_000,
  onDisplaced: 'poll',
  reconnectTimeout: 60_000,
};

function milliseconds(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 0x7fffffff) {
    throw new InvalidArgumentError(field, `expected a whole number of milliseconds from ${min} to 2147483647, got ${String(value)}`);
  }
  return value;
}

export function checkHubOptions(options: HubOptions): CheckedHubOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'expected an object of hub options');
  const merged = { ...DEFAULT_HUB_OPTIONS, ...options };
  if (merged.onDisplaced !== 'poll' && merged.onDisplaced !== 'reclaim' && merged.onDisplaced !== 'observe') {
    throw new InvalidArgumentError('onDisplaced', `expected 'poll', 'reclaim' or 'observe', got ${String(merged.onDisplaced)}`);
  }
  return {
    pollInterval: milliseconds(merged.pollInterval, 'pollInterval', 1),
    detachDelay: milliseconds(merged.detachDelay, 'detachDelay', 0),
    leaseInterval: milliseconds(merged.leaseInterval, 'leaseInterval', 1),
    onDisplaced: merged.onDisplaced,
    reconnectTimeout: milliseconds(merged.reconnectTimeout, 'reconnectTimeout', 0),
  };
}
