import type { MonoTypeOperatorFunction } from 'rxjs';
import { checkBoolean, checkObject } from '../com/validate.js';
import type { JobEvent } from '../observables/events.js';
import { BitsJobError } from './bits-job-error.js';
import { operate } from './operate.js';

export interface FailOnJobErrorOptions {
  /** Let transient errors (the service retries those by itself) pass as events instead. Default false. */
  readonly ignoreTransient?: boolean;
}

/**
 * Turns `error` events into an Observable error of type {@link BitsJobError}, so that RxJS's own
 * `retry` and `catchError` compose with jobs. Other events pass through. The options are checked
 * when the operator is made (an `InvalidArgumentError` naming `ignoreTransient`).
 *
 * @example
 * jobEvents$(job).pipe(
 *   failOnJobError(),
 *   catchError((e: BitsJobError) => (e.code === 'BG_E_HTTP_ERROR_404' ? EMPTY : throwError(() => e))),
 * );
 */
export function failOnJobError<T extends JobEvent>(options: FailOnJobErrorOptions = {}): MonoTypeOperatorFunction<T> {
  // Checked now: a misspelt value ('yes') would otherwise quietly mean false.
  checkObject(options, 'options', 'an object of options');
  if (options.ignoreTransient !== undefined) checkBoolean(options.ignoreTransient, 'ignoreTransient');
  const ignoreTransient = options.ignoreTransient === true;
  return operate<T, T>((subscriber) => ({
    next: (event) => {
      if (event.type === 'error' && !(ignoreTransient && event.transient)) subscriber.error(new BitsJobError(event));
      else subscriber.next(event);
    },
  }));
}
