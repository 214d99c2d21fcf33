import { concatMap, filter, take, type OperatorFunction } from 'rxjs';
import type { Guid } from '../com/guid.js';
import type { BitsJob, JobFileInfo } from '../com/job.js';
import type { JobEvent } from '../observables/events.js';

/** What `completeWhenTransferred` reports once the job is complete. */
export interface CompletedJob {
  readonly jobId: Guid;
  /** S_OK, BG_S_PARTIAL_COMPLETE or BG_S_UNABLE_TO_DELETE_FILES: results, not errors. */
  readonly hresult: number;
  readonly code: string | undefined;
  readonly partial: boolean;
  readonly unableToDeleteFiles: boolean;
  /** The files now at their local names. */
  readonly files: readonly JobFileInfo[];
}

/**
 * On the `transferred` event, completes the job (its files appear at their local names), emits
 * what was kept, and completes. Other events are dropped; errors pass through.
 *
 * @example
 * jobEvents$(job).pipe(completeWhenTransferred(job)).subscribe((done) => console.log(done.files.map((f) => f.localPath)));
 */
export function completeWhenTransferred(job: Pick<BitsJob, 'id' | 'complete' | 'getFiles'>): OperatorFunction<JobEvent, CompletedJob> {
  return (source) =>
    source.pipe(
      filter((event) => event.type === 'transferred'),
      take(1),
      concatMap(async () => {
        // Which files made it is only knowable before Complete ends the job.
        const files = await job.getFiles();
        const result = await job.complete();
        return { jobId: job.id, ...result, files: files.filter((file) => file.completed) };
      }),
    );
}
