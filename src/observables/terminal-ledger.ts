import type { JobState } from '../com/enums.js';

/**
 * Which terminal events of a job were already told, so that each is told exactly once however often
 * the service replays it (BITS calls JobTransferred and JobError again until they answer S_OK, and
 * again after every registration) and however it is found (callback, poll, replay on attach).
 *
 * A terminal event belongs to a *stay* in its state: a new stay begins when the job is seen outside
 * that state, or when this process resumes the job. The service's error count refines this within a
 * stay (it moved: a new failure the polls did not see the job leave for) but never decides alone:
 * Microsoft documents that it "may not accurately reflect" moves into the error states (it is not
 * raised for network disconnects, chkdsk or bandwidth policy), and Wine has none (E_NOTIMPL).
 */
export class TerminalLedger {
  #transferred = false;
  /** Error counts told during the current stay in ERROR / TRANSIENT_ERROR; `null` where the service has no count. */
  readonly #errors = new Set<number | null>();
  readonly #transientErrors = new Set<number | null>();

  /** A reading of the job's state: leaving a terminal state starts a new stay in it. */
  observe(state: JobState): void {
    if (state !== 'transferred' && state !== 'error' && state !== 'transientError') this.#transferred = false;
    if (state !== 'error') this.#errors.clear();
    if (state !== 'transientError') this.#transientErrors.clear();
  }

  /** This process resumed the job: whatever it ends in next is new, whatever the count says. */
  newAttempt(): void {
    this.#transferred = false;
    this.#errors.clear();
    this.#transientErrors.clear();
  }

  /** Whether a `transferred` is new; if so it counts as told. */
  admitTransferred(): boolean {
    if (this.#transferred) return false;
    this.#transferred = true;
    return true;
  }

  /** Whether this error (with the service's count, if it has one) was told during the current stay. */
  toldError(transient: boolean, count: number | undefined): boolean {
    return (transient ? this.#transientErrors : this.#errors).has(count ?? null);
  }

  /** Whether an error is new; if so it counts as told. */
  admitError(transient: boolean, count: number | undefined): boolean {
    if (this.toldError(transient, count)) return false;
    (transient ? this.#transientErrors : this.#errors).add(count ?? null);
    return true;
  }
}
