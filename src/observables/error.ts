import type { Observable } from 'rxjs';
import type { BitsJob } from '../com/job.js';
import type { ErrorEvent } from './events.js';
import type { HubOptions } from './hub.js';
import { jobEvents$ } from './job-events.js';

/**
 * Emits each failure of the job, fatal (ERROR) or `transient` (TRANSIENT_ERROR, which the service
 * retries by itself). Asks for BG_NOTIFY_JOB_ERROR and polls as a backstop, since the service calls
 * JobError for neither transient errors nor (on Wine) anything at all.
 *
 * @example
 * error$(job).subscribe((e) => console.error(e.error.code, e.error.description));
 */
export function error$(job: BitsJob, options?: HubOptions): Observable<ErrorEvent> {
  return jobEvents$(job, ['error'], options);
}
