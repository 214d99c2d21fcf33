import { RxBitsError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import { labelHresult } from '../com/hresult.js';

/**
 * The service stayed unreachable (stopped, crashed, or refusing new connections) for longer than
 * the hub's `reconnectTimeout`: the job's streams end with this instead of waiting for ever.
 */
export class ServiceUnavailableError extends RxBitsError {
  override readonly name = 'ServiceUnavailableError';

  constructor(
    readonly jobId: Guid,
    /** The HRESULT of the last attempt to reach it, e.g. RPC_S_SERVER_UNAVAILABLE. */
    readonly hresult: number,
    /** Milliseconds it was tried for. */
    readonly waited: number,
  ) {
    super(`the transfer service stayed unreachable for ${waited} ms while watching job ${jobId} (last answer ${labelHresult(hresult)})`);
  }
}
