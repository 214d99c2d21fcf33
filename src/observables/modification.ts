import type { Observable } from 'rxjs';
import type { BitsJob } from '../com/job.js';
import type { ModificationEvent } from './events.js';
import type { HubOptions } from './hub.js';
import { jobEvents$ } from './job-events.js';

/**
 * Emits the job's state and progress each time something changes. Asks for
 * BG_NOTIFY_JOB_MODIFICATION and polls as a backstop (the notification is lossy).
 *
 * @example
 * modification$(job).subscribe(({ state, progress }) => console.log(state, progress.bytesTransferred));
 */
export function modification$(job: BitsJob, options?: HubOptions): Observable<ModificationEvent> {
  return jobEvents$(job, ['modification'], options);
}
