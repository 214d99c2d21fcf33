import { Observable } from 'rxjs';
import type { JobState } from '../com/enums.js';
import type { BitsJob } from '../com/job.js';
import { checkHubOptions, hubFor, type HubOptions } from './hub.js';

/**
 * The job's state: the current one at once, then every change. Asks for BG_NOTIFY_JOB_MODIFICATION
 * and polls as a backstop, because the service does not notify the moves into ERROR or TRANSFERRED.
 *
 * @example
 * state$(job).subscribe((state) => console.log(state)); // 'suspended', 'queued', 'transferring', ...
 */
export function state$(job: BitsJob, options: HubOptions = {}): Observable<JobState> {
  const checked = checkHubOptions(options);
  return new Observable((subscriber) => {
    const hub = hubFor(job);
    let last: JobState | undefined;
    const snapshots = hub.snapshots.subscribe(({ state }) => {
      if (state === last) return;
      last = state;
      subscriber.next(state);
    });
    const unregister = hub.register(job, new Set(['state']), checked, (error) => subscriber.error(error));
    return () => {
      snapshots.unsubscribe();
      unregister();
    };
  });
}
