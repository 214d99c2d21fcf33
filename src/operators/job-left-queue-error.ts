import type { FinalJobState } from '../com/enums.js';
import { RxBitsError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';

/**
 * The job left the queue before it transferred: another process (or the user, with the BITS tools)
 * cancelled or completed it, so the files this stream waited for will not come through it.
 */
export class JobLeftQueueError extends RxBitsError {
  override readonly name = 'JobLeftQueueError';

  constructor(
    readonly jobId: Guid,
    /** The state the job ended in, where the service still says (undefined if it no longer answers). */
    readonly state: FinalJobState | undefined,
  ) {
    const how = state === 'acknowledged' ? 'was completed elsewhere' : state === 'cancelled' ? 'was cancelled' : 'was cancelled or completed elsewhere';
    super(`job ${jobId} ${how} before it transferred; it has left the queue`);
  }
}
