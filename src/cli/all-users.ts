import { ComError, RxBitsError } from '../com/errors.js';
import { E_ACCESSDENIED } from '../com/hresult.js';

/** `--all-users` from a process that is not elevated: BITS lists every user's jobs to administrators only. */
export class AllUsersDeniedError extends RxBitsError {
  override readonly name = 'AllUsersDeniedError';
  constructor(cause: ComError) {
    super(`--all-users needs an elevated process (run it from an administrator prompt); the service answered ${cause.message}`, { cause });
  }
}

/** What listing with `allUsers` threw, as the CLI reports it: E_ACCESSDENIED becomes {@link AllUsersDeniedError}. */
export function allUsersError(error: unknown, allUsers: boolean): unknown {
  return allUsers && error instanceof ComError && error.hresult === E_ACCESSDENIED ? new AllUsersDeniedError(error) : error;
}
