import { concatMap, defaultIfEmpty, filter, take, type OperatorFunction } from 'rxjs';
import { unlessComError } from '../com/errors.js';
import { isFinalState } from '../com/enums.js';
import type { Guid } from '../com/guid.js';
import type { BitsJob, JobFileInfo } from '../com/job.js';
import type { JobEvent } from '../observables/events.js';
import { JobLeftQueueError } from './job-left-queue-error.js';
import { checkJobMethods } from './option-checks.js';

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
 * first because the job left the queue (cancelled, or completed by another process), the stream
 * errors with a {@link JobLeftQueueError} that says which; if they were cut short otherwise, it
 * completes empty.
 *
 * @example
 * jobEvents$(job).pipe(completeWhenTransferred(job)).subscribe((done) => console.log(done.files.map((f) => f.localPath)));
 */
export function completeWhenTransferred(job: Pick<BitsJob, 'id' | 'complete' | 'getFiles' | 'getState'>): OperatorFunction<JobEvent, CompletedJob> {
  // Checked now, not on the `transferred` event, where a wrong job would be a bare TypeError.
  checkJobMethods(job, 'job', ['getFiles', 'complete', 'getState']);
  return (source) =>
    source.pipe(
      filter((event) => event.type === 'transferred'),
      take(1),
      defaultIfEmpty(undefined),
      concatMap(async (transferred): Promise<CompletedJob | undefined> => {
        if (transferred === undefined) {
          const left = await leftQueue(job);
          if (left !== undefined) throw left;
          return undefined;
        }
        // Which files made it is only knowable before Complete ends the job.
        const files = await job.getFiles();
        const result = await job.complete();
        return { jobId: job.id, ...result, files: files.filter((file) => file.completed) };
      }),
      filter((done) => done !== undefined),
    );
}

/**
 * Why the events ended without a transfer: the job left the queue (a service that no longer answers
 * for it counts), or nothing of the job's doing (the source was cut short, e.g. by `take`).
 */
async function leftQueue(job: Pick<BitsJob, 'id' | 'getState'>): Promise<JobLeftQueueError | undefined> {
  const state = await unlessComError(job.getState());
  if (state === undefined) return new JobLeftQueueError(job.id, undefined);
  return isFinalState(state) ? new JobLeftQueueError(job.id, state) : undefined;
}
