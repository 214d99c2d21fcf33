import type { ErrorContext } from '../com/enums.js';
import { RxBitsError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import { labelHresult } from '../com/hresult.js';
import type { JobFileInfo } from '../com/job.js';
import type { ErrorEvent } from '../observables/events.js';

/** One failed attempt, as `retryOnJobError` records it. */
export interface JobAttempt {
  /** 1 for the first failure. */
  readonly attempt: number;
  readonly code: string | undefined;
  readonly hresult: number;
  /** Milliseconds waited before resuming (undefined for the failure that was not retried). */
  readonly delay: number | undefined;
}

/**
 * A job's failure as an Observable error, so that plain RxJS `retry` and `catchError` compose with
 * jobs. Carries everything IBackgroundCopyError said, and the attempts made before giving up.
 */
export class BitsJobError extends RxBitsError {
  override readonly name = 'BitsJobError';
  readonly jobId: Guid;
  readonly context: ErrorContext;
  /** Unsigned HRESULT, e.g. 0x80190194. */
  readonly hresult: number;
  /** Symbolic name, e.g. `BG_E_HTTP_ERROR_404`. */
  readonly code: string | undefined;
  readonly description: string;
  readonly file: JobFileInfo | undefined;
  /** The job was in TRANSIENT_ERROR: the service would retry it by itself. */
  readonly transient: boolean;
  /** The attempts `retryOnJobError` made up to this failure, this one last (none from `failOnJobError`). Never changes afterwards. */
  readonly attempts: readonly JobAttempt[];

  constructor(event: ErrorEvent, attempts: readonly JobAttempt[] = []) {
    const { error } = event;
    const where = error.file === undefined ? '' : ` (${error.file.url})`;
    const tries = attempts.length > 1 ? ` after ${attempts.length} attempts` : '';
    super(`job ${event.jobId} failed${tries} with ${labelHresult(error.hresult)} in ${error.context}${where}: ${error.description}`);
    this.jobId = event.jobId;
    this.context = error.context;
    this.hresult = error.hresult;
    this.code = error.code;
    this.description = error.description;
    this.file = error.file;
    this.transient = event.transient;
    // A copy: the caller's list may grow with later attempts, this error must keep saying what it said.
    this.attempts = Object.freeze([...attempts]);
  }
}
