import { takeWhile, type MonoTypeOperatorFunction } from 'rxjs';
import { isFinalState, type JobState } from '../com/enums.js';
import type { JobEvent } from '../observables/events.js';

function stateOf(value: JobEvent | JobState): JobState | undefined {
  if (typeof value === 'string') return value;
  return value.type === 'modification' ? value.state : undefined;
}

/**
 * Completes once the job is ACKNOWLEDGED or CANCELLED (it has left the queue), after passing on the
 * value that said so. Works on `state$` and on `jobEvents$`/`modification$` (modification events).
 *
 * @example
 * state$(job).pipe(takeUntilFinal()).subscribe({ complete: () => console.log('job is gone') });
 */
export function takeUntilFinal<T extends JobEvent | JobState>(): MonoTypeOperatorFunction<T> {
  return takeWhile((value: T) => {
    const state = stateOf(value);
    return state === undefined || !isFinalState(state);
  }, true);
}
