import type { Observable } from 'rxjs';
import type { BitsJob } from '../com/job.js';
import type { TransferredEvent } from './events.js';
import type { HubOptions } from './hub.js';
import { jobEvents$ } from './job-events.js';

/**
 * Emits when every file of the job has arrived (asks for BG_NOTIFY_JOB_TRANSFERRED; never polls).
 * Completes when the job leaves the queue by this process's hand, or another's that the hub notices.
 *
 * @example
 * transferred$(job).pipe(take(1)).subscribe(() => job.complete());
 */
export function transferred$(job: BitsJob, options?: HubOptions): Observable<TransferredEvent> {
  return jobEvents$(job, ['transferred'], options);
}
