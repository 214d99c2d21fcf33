import type { SchedulerLike } from 'rxjs';
import { InvalidArgumentError } from '../com/errors.js';
import { describeValue as shown } from '../com/validate.js';

/*
 * The checks the operators make of their options when they are made. An option of the wrong type
 * that got through would only fail at the job's first error (`delay is not a function`), long after
 * the job was created and maybe never, and as a plain TypeError naming nothing. The options object
 * itself and booleans are checked by validate.ts's checkObject and checkBoolean, as everywhere else.
 */

/** setTimeout's limit: Node fires a longer timer after 1 ms (TimeoutOverflowWarning), so a longer wait is refused rather than cut short. */
const MAX_TIMER_MS = 0x7fffffff;

/** A wait in milliseconds that a timer can honour: 0 to 2,147,483,647. `or` says what else the option takes. */
export function checkMilliseconds(value: unknown, field: string, or = ''): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= MAX_TIMER_MS)) {
    throw new InvalidArgumentError(field, `expected milliseconds from 0 to ${MAX_TIMER_MS}${or === '' ? '' : ` or ${or}`}, got ${shown(value)}`);
  }
  return value;
}

/**
 * The job an operator acts on: anything with the methods it calls (the Observables, which need the
 * hub of a real job, check for a BitsJob instead: job.ts's checkJob).
 */
export function checkJobMethods(value: unknown, field: string, methods: readonly string[]): void {
  const job = value as Record<string, unknown> | null;
  if (typeof job !== 'object' || job === null || methods.some((method) => typeof job[method] !== 'function')) {
    throw new InvalidArgumentError(field, `expected a job (with ${methods.map((method) => `${method}()`).join(' and ')}), got ${shown(value)}`);
  }
}

/** A count: a whole number >= 0. */
export function checkCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidArgumentError(field, `expected a whole number >= 0, got ${shown(value)}`);
  return value;
}

/** A function the operator calls later; `signature` says how, for the message. */
export function checkFunction(value: unknown, field: string, signature: string): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(field, `expected a function ${signature}, got ${shown(value)}`);
}

/** An RxJS scheduler (tests pass a TestScheduler). */
export function checkScheduler(value: unknown, field: string): SchedulerLike {
  const scheduler = value as Partial<SchedulerLike> | null;
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw new InvalidArgumentError(field, `expected an RxJS scheduler, got ${shown(value)}`);
  }
  return value as SchedulerLike;
}
