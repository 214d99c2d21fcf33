import type { Observable } from 'rxjs';
import type { BitsJob, JobProgress } from '../com/job.js';
import { sameProgress, type HubOptions } from './hub.js';
import { snapshotField$ } from './snapshot.js';

/**
 * The job's progress (bytes and files; `bytesTotal` undefined until known): the current value at
 * once, then every change. Asks for BG_NOTIFY_JOB_MODIFICATION and polls as a backstop.
 *
 * @example
 * progress$(job).subscribe((p) => console.log(`${p.bytesTransferred} / ${p.bytesTotal ?? '?'}`));
 */
export function progress$(job: BitsJob, options: HubOptions = {}): Observable<JobProgress> {
  return snapshotField$(job, 'progress', (snapshot) => snapshot.progress, sameProgress, options);
}
