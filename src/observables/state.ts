import type { Observable } from 'rxjs';
import type { JobState } from '../com/enums.js';
import type { BitsJob } from '../com/job.js';
import type { HubOptions } from './hub.js';
import { snapshotField$ } from './snapshot.js';

/**
 * The job's state: the current one at once, then every change. Asks for BG_NOTIFY_JOB_MODIFICATION
 * and polls as a backstop, because the service does not notify the moves into ERROR or TRANSFERRED.
 * Ends with the job: `acknowledged` or `cancelled` is the last value.
 *
 * @example
 * state$(job).subscribe((state) => console.log(state)); // 'suspended', 'queued', 'transferring', ...
 */
export function state$(job: BitsJob, options: HubOptions = {}): Observable<JobState> {
  return snapshotField$(job, 'state', (snapshot) => snapshot.state, (a, b) => a === b, options);
}
