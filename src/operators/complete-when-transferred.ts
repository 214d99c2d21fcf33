import { concatMap, defaultIfEmpty, filter, take, type OperatorFunction } from 'rxjs';
import { ComError } from '../com/errors.js';
import { isFinalState, type FinalJobState } from '../com/enums.js';
import type { Guid } from '../com/guid.js';
import type { BitsJob, JobFileInfo } from '../com/job.js';
import type { JobEvent } from '../observables/events.js';
import { JobLeftQueueError } from './job-left-queue-error.js';

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
 * what was kept, and completes. Other events are dropped; errors pass through. If the events end
 * first (the job left the queue: cancelled, or completed by another process), the stream errors
 * with a {@link JobLeftQueueError} that says which.
 *
 * @example
 * jobEvents$(job).pipe(completeWhenTransferred(job)).subscribe((done) => console.log(done.files.map((f) => f.localPath)));
 */
export function completeWhenTransferred(job: Pick<BitsJob, 'id' | 'complete' | 'getFiles' | 'getState'>): OperatorFunction<JobEvent, CompletedJob> {
  return (source) =>
    source.pipe(
      filter((event) => event.type === 'transferred'),
      take(1),
      defaultIfEmpty(undefined),
      concatMap(async (transferred) => {
        if (transferred === undefined) throw new JobLeftQueueError(job.id, await finalState(job));
        // Which files made it is only knowable before Complete ends the job.
        const files = await job.getFiles();
        const result = await job.complete();
        return { jobId: job.id, ...result, files: files.filter((file) => file.completed) };
      }),
    );
}

/** The state a job ended in, or undefined where the service no longer answers for it. */
async function finalState(job: Pick<BitsJob, 'getState'>): Promise<FinalJobState | undefined> {
  try {
    const state = await job.getState();
    return isFinalState(state) ? state : undefined;
  } catch (error) {
    if (error instanceof ComError) return undefined;
    throw error;
  }
}
