import { Observable } from 'rxjs';
import type { BitsJob, JobProgress } from '../com/job.js';
import { checkHubOptions, hubFor, sameProgress, type HubOptions } from './hub.js';

/**
 * The job's progress (bytes and files; `bytesTotal` undefined until known): the current value at
 * once, then every change. Asks for BG_NOTIFY_JOB_MODIFICATION and polls as a backstop.
 *
 * @example
 * progress$(job).subscribe((p) => console.log(`${p.bytesTransferred} / ${p.bytesTotal ?? '?'}`));
 */
export function progress$(job: BitsJob, options: HubOptions = {}): Observable<JobProgress> {
  const checked = checkHubOptions(options);
  return new Observable((subscriber) => {
    const hub = hubFor(job);
    let last: JobProgress | undefined;
    const snapshots = hub.snapshots.subscribe(({ progress }) => {
      if (sameProgress(progress, last)) return;
      last = progress;
      subscriber.next(progress);
    });
    const unregister = hub.register(job, new Set(['progress']), checked, (error) => subscriber.error(error));
    return () => {
      snapshots.unsubscribe();
      unregister();
    };
  });
}
