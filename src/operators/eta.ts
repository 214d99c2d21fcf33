import { defer, map, type OperatorFunction } from 'rxjs';
import type { JobProgress } from '../com/job.js';
import type { ModificationEvent } from '../observables/events.js';
import { progressOf, secondsLeft } from './progress-of.js';
import { SlidingRate } from './sliding-rate.js';
import { checkRateOptions, type TransferRateOptions } from './transfer-rate.js';

/**
 * Seconds left at the current rate (see `transferRate`): `undefined` while the total or the rate is
 * unknown or the transfer is stalled, 0 once everything has arrived. Never NaN or Infinity.
 *
 * @example
 * progress$(job).pipe(eta()).subscribe((s) => console.log(s === undefined ? 'ETA unknown' : `${Math.ceil(s)} s left`));
 */
export function eta(options: TransferRateOptions = {}): OperatorFunction<JobProgress | ModificationEvent, number | undefined> {
  const { window, scheduler } = checkRateOptions(options);
  return (source) =>
    defer(() => {
      const rate = new SlidingRate(window);
      return source.pipe(
        map((value) => {
          const progress = progressOf(value);
          return secondsLeft(progress, rate.sample(scheduler.now(), progress.bytesTransferred));
        }),
      );
    });
}
