import { asyncScheduler, defer, map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { JobProgress } from '../com/job.js';
import type { ModificationEvent } from '../observables/events.js';
import { progressOf } from './progress-of.js';
import { checkObject } from '../com/validate.js';
import { checkScheduler } from './option-checks.js';
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
  const { window, scheduler } = checkRateOptions(options);
  return (source) =>
    defer(() => {
      const rate = new SlidingRate(window);
      return source.pipe(map((value) => rate.sample(scheduler.now(), progressOf(value).bytesTransferred)));
    });
}

/** transferRate's and eta's options, checked when the operator is made (a bad scheduler would fail only at the first value). */
export function checkRateOptions(options: unknown): { readonly window: number; readonly scheduler: SchedulerLike } {
  const given = checkObject(options, 'options', '{ window?, scheduler? }') as TransferRateOptions;
  return { window: checkWindow(given.window ?? 5000), scheduler: given.scheduler === undefined ? asyncScheduler : checkScheduler(given.scheduler, 'scheduler') };
}
