import type { MonoTypeOperatorFunction } from 'rxjs';
import { ComError } from '../com/errors.js';
import { BG_E_INVALID_STATE } from '../com/hresult.js';
import type { BitsJob } from '../com/job.js';
import { operate } from './operate.js';
import { checkJobMethods } from './option-checks.js';

/**
 * Cancels the job when the subscriber leaves before the stream has ended. An explicit opt-in:
 * unsubscribing from a job's Observables never cancels it otherwise. A job that already left the
 * queue has nothing to cancel, and that refusal is dropped; any other failure of Cancel (the job's
 * handle released meanwhile, the service gone) is a process warning, as nobody is left to tell.
 *
 * A stream that an operator after this one ends while a job error passes (failOnJobError, so that
 * RxJS's `retry` and `catchError` compose) has ended on that error: the subscriber did not leave,
 * and the job is not cancelled.
 *
 * Once a value saying the job is TRANSFERRED has passed (a `transferred` event, a modification event
 * or snapshot with that state, or the state itself), leaving no longer cancels: the job's success
 * belongs to whoever completes it. That is what lets this operator sit before
 * `completeWhenTransferred`, which leaves upstream on that very event to call Complete.
 *
 * @example
 * const subscription = jobEvents$(job).pipe(cancelOnUnsubscribe(job), completeWhenTransferred(job)).subscribe();
 * subscription.unsubscribe(); // before the transfer ended: the download is cancelled
 */
export function cancelOnUnsubscribe<T>(job: Pick<BitsJob, 'cancel'>): MonoTypeOperatorFunction<T> {
  // Checked now: a wrong job would only fail on unsubscribe, thrown from finalize (an UnsubscriptionError nobody catches).
  checkJobMethods(job, 'job', ['cancel']);
  return operate<T, T>((subscriber) => {
    let keep = false;
    /** While a job error is handed on: a teardown then is the stream ending on it, not the subscriber leaving. */
    let deliveringError = false;
    return {
      next: (value) => {
        if (reportsTransfer(value)) keep = true;
        if (!reportsError(value)) return subscriber.next(value);
        deliveringError = true;
        try {
          subscriber.next(value);
        } finally {
          deliveringError = false;
        }
      },
      error: (error) => {
        keep = true;
        subscriber.error(error);
      },
      complete: () => {
        keep = true;
        subscriber.complete();
      },
      finalize: () => {
        if (!keep && !deliveringError) job.cancel().catch(reportUnlessGone);
      },
    };
  });
}

/** Whether a value of a job's Observables says every file arrived. */
function reportsTransfer(value: unknown): boolean {
  return says(value, 'transferred');
}

/** Whether a value of a job's Observables is a job error (an `error` event, or a snapshot or state in ERROR). */
function reportsError(value: unknown): boolean {
  return says(value, 'error');
}

function says(value: unknown, what: 'transferred' | 'error'): boolean {
  if (value === what) return true;
  if (typeof value !== 'object' || value === null) return false;
  return ('type' in value && value.type === what) || ('state' in value && value.state === what);
}

function reportUnlessGone(error: unknown): void {
  // BG_E_INVALID_STATE: the job was already completed or cancelled, which is what leaving wanted.
  if (error instanceof ComError && error.hresult === BG_E_INVALID_STATE) return;
  process.emitWarning(`rx-bits: cancelOnUnsubscribe could not cancel the job: ${error instanceof Error ? error.message : String(error)}`);
}
