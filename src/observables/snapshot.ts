import { Observable } from 'rxjs';
import { checkJob, type BitsJob } from '../com/job.js';
import type { JobSnapshot } from './events.js';
import { checkHubOptions, hubFor, type HubOptions } from './hub.js';

/**
 * One field of the hub's snapshots as an Observable: registers `interest` (so the hub reads the job
 * at once and then polls), emits the current value first, then each value that differs from the last.
 */
export function snapshotField$<T>(
  job: BitsJob,
  interest: 'state' | 'progress',
  pick: (snapshot: JobSnapshot) => T,
  same: (a: T, b: T | undefined) => boolean,
  options: HubOptions,
): Observable<T> {
  const checked = checkHubOptions(options);
  checkJob(job);
  return new Observable<T>((subscriber) => {
    const hub = hubFor(job);
    let last: T | undefined;
    const snapshots = hub.snapshots.subscribe((snapshot) => {
      const value = pick(snapshot);
      if (same(value, last)) return;
      last = value;
      subscriber.next(value);
    });
    const unregister = hub.register(job, new Set([interest]), checked, {
      fail: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      snapshots.unsubscribe();
      unregister();
    };
  });
}
