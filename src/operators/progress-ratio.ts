import { map, type OperatorFunction } from 'rxjs';
import type { JobProgress } from '../com/job.js';
import type { ModificationEvent } from '../observables/events.js';
import { progressOf, ratioOf } from './progress-of.js';

/**
 * Progress as a fraction in 0..1: bytes where the total is known, files where every file is empty,
 * and `undefined` (never NaN or Infinity) while the total is unknown.
 *
 * @example
 * progress$(job).pipe(progressRatio()).subscribe((r) => bar.update(r ?? 0));
 */
export function progressRatio(): OperatorFunction<JobProgress | ModificationEvent, number | undefined> {
  return map((value) => ratioOf(progressOf(value)));
}
