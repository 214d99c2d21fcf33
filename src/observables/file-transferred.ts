import type { Observable } from 'rxjs';
import type { BitsJob } from '../com/job.js';
import type { FileTransferredEvent } from './events.js';
import type { HubOptions } from './hub.js';
import { jobEvents$ } from './job-events.js';

/**
 * Emits each file as it arrives, before the job's `transferred` (asks for BG_NOTIFY_FILE_TRANSFERRED;
 * BITS only: Delivery Optimization has no IBackgroundCopyCallback2).
 *
 * @example
 * fileTransferred$(job).subscribe(({ file }) => console.log('got', file.localPath));
 */
export function fileTransferred$(job: BitsJob, options?: HubOptions): Observable<FileTransferredEvent> {
  return jobEvents$(job, ['fileTransferred'], options);
}
