import { asyncScheduler, defer, map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { JobProgress } from '../com/job.js';
import type { ModificationEvent } from '../observables/events.js';
import { progressOf } from './progress-of.js';
import { checkWindow, SlidingRate } from './sliding-rate.js';

export interface TransferRateOptions {
  /** Milliseconds of history the rate is measured over. Default 5,000. */
  readonly window?: number;
  /** For tests. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Bytes per second over a sliding window, `undefined` until there are two readings some time apart.
 *
 * @example
 * progress$(job).pipe(transferRate({ window: 3000 })).subscribe((bps) => console.log(bps === undefined ? '-' : `${bps | 0} B/s`));
 */
export function transferRate(options: TransferRateOptions = {}): OperatorFunction<JobProgress | ModificationEvent, number | undefined> {
  const { scheduler = asyncScheduler } = options;
  const window = checkWindow(options.window ?? 5000);
  return (source) =>
    defer(() => {
      const rate = new SlidingRate(window);
      return source.pipe(map((value) => rate.sample(scheduler.now(), progressOf(value).bytesTransferred)));
    });
}
