import { isFinalState } from '../com/enums.js';
import type { Guid } from '../com/guid.js';
import { followDownload, type DownloadOptions, type DownloadSnapshot } from './download.js';
import { ownJob } from './follow-job.js';
import { checkTransferOptions, connectFor, jobPrefix } from './transfer-options.js';
import { Observable } from 'rxjs';

/** A download an earlier run of the app left in the service. */
export interface PendingDownload {
  readonly jobId: Guid;
  readonly displayName: string;
  /**
   * Follows it to its end like `download()`; a job that finished while the app was closed completes
   * at once. Subscribe once: the job's reference is given back when that subscription ends. Leaving
   * never cancels a job found again (it was left to run on purpose); a permanent failure does, as
   * under download(): the stream errors with a `BitsJobError` and the job leaves the queue.
   */
  readonly download$: Observable<DownloadSnapshot>;
  /** Gives the job's reference back without following it (the job carries on in the service). */
  release(): Promise<void>;
}

/**
 * At app start: finds the jobs an earlier run left behind (display name `<appName>: ...`) and returns
 * their download Observables. The service does not keep our callbacks across a restart; subscribing
 * attaches again, and what happened meanwhile is replayed. Jobs already acknowledged or cancelled are
 * not pending (Wine still lists them for a moment): they are skipped. The options are download()'s,
 * checked as download() checks them before anything connects: a bad one rejects with an
 * `InvalidArgumentError` naming it, and the service was not asked anything.
 *
 * @example
 * for (const pending of await resumePending({ appName: 'myapp' })) pending.download$.subscribe(render);
 */
export async function resumePending(given?: DownloadOptions): Promise<PendingDownload[]> {
  // download()'s own check, before anything connects: a bad option rejects with the error download()
  // would give it (`appName`, `retry.count`...), rather than finding nothing or failing once a job is followed.
  const { options } = checkTransferOptions<DownloadOptions>(given);
  const manager = options.manager ?? (await connectFor(options));
  const pending: PendingDownload[] = [];
  try {
    for await (const job of manager.jobs({ displayNamePrefix: jobPrefix(options.appName ?? 'rx-bits') })) {
      const found = await Promise.all([job.getDisplayName(), job.getState()]).catch(async (error: unknown) => {
        await job.release();
        throw error;
      });
      const [displayName, state] = found;
      if (isFinalState(state)) {
        await job.release();
        continue;
      }
      // Owned as download({ persist: true }) owns its job: kept when left, cancelled on a permanent failure.
      const download$ = followDownload(job, { ...options, resume: state === 'suspended' }).pipe(ownJob(job, true));
      pending.push({ jobId: job.id, displayName, download$, release: () => job.release() });
    }
  } catch (error) {
    // Nothing half-found stays referenced.
    await Promise.all(pending.map((found) => found.release()));
    throw error;
  } finally {
    if (options.manager === undefined) await manager.release();
  }
  return pending;
}
