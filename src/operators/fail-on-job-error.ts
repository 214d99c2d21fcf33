import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { JobEvent } from '../observables/events.js';
import { BitsJobError } from './bits-job-error.js';

export interface FailOnJobErrorOptions {
  /** Let transient errors (the service retries those by itself) pass as events instead. Default false. */
  readonly ignoreTransient?: boolean;
}

/**
 * Turns `error` events into an Observable error of type {@link BitsJobError}, so that RxJS's own
 * `retry` and `catchError` compose with jobs. Other events pass through.
 *
 * @example
 * jobEvents$(job).pipe(
 *   failOnJobError(),
 *   catchError((e: BitsJobError) => (e.code === 'BG_E_HTTP_ERROR_404' ? EMPTY : throwError(() => e))),
 * );
 */
export function failOnJobError<T extends JobEvent>(options: FailOnJobErrorOptions = {}): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (event) => {
          if (event.type === 'error' && !(options.ignoreTransient === true && event.transient)) subscriber.error(new BitsJobError(event));
          else subscriber.next(event);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
