import type { Observable } from 'rxjs';
import { requireSupport } from '../com/backend.js';
import { checkJob, type BitsJob } from '../com/job.js';
import type { FileRangesTransferredEvent } from './events.js';
import { checkHubOptions, type HubOptions } from './hub.js';
import { hubEvents$ } from './job-events.js';

/**
 * Emits the byte ranges of a file as they arrive (BITS 10.1: asks for BG_NOTIFY_FILE_RANGES_TRANSFERRED
 * and answers as IBackgroundCopyCallback3), for on-demand reads: `file.requestFileRanges(...)`, then
 * read the bytes each event reports. Each event holds the ranges completed since the previous one,
 * which need not match those requested; the job's MINIMUM_NOTIFICATION_INTERVAL_MS paces them.
 *
 * Lossy: BITS drops these calls under load, and no poll can tell which ranges arrived since the last
 * call, so nothing is replayed or backstopped. What is certain is GetFilledFileRanges
 * (`file.getFilledFileRanges()`): read it when an event may have been missed, e.g. once the job
 * suspends after every requested range is in.
 *
 * Throws NotSupportedByBackendError at once on Delivery Optimization and the portable engine, which
 * refuse the flag.
 *
 * @example
 * fileRangesTransferred$(job).subscribe(({ file, ranges }) => readFrom(file.localPath, ranges));
 */
export function fileRangesTransferred$(job: BitsJob, options: HubOptions = {}): Observable<FileRangesTransferredEvent> {
  const checked = checkHubOptions(options);
  requireSupport(checkJob(job).backend, 'FileRangesTransferred');
  return hubEvents$(job, new Set(['fileRangesTransferred'] as const), checked);
}
