import type { ErrorContext, JobState, ProxyUsage } from '../com/enums.js';

/**
 * What the portable engine keeps of a job on disk: everything BITS keeps across a restart, as plain
 * JSON. The registered callback is not in it: BITS does not persist the notify interface either.
 */

import type { Validator } from './transfer.js';

export type { Validator };

export interface FileRecord {
  readonly url: string;
  readonly localPath: string;
  /** Where the bytes arrive until Complete moves them to `localPath` (beside it, as BITS's BIT*.tmp). */
  readonly tempPath: string;
  bytesTotal: number | undefined;
  bytesTransferred: number;
  completed: boolean;
  /** What the server said the file was when its bytes started arriving: guards a resumed range. */
  validator: Validator | undefined;
}

export interface ErrorRecord {
  readonly hresult: number;
  readonly context: ErrorContext;
  /** Index in `files` of the file that failed, when one did. */
  readonly fileIndex: number | undefined;
  readonly message: string;
}

export interface ProxyRecord {
  readonly usage: ProxyUsage;
  readonly list: string;
  readonly bypass: string;
}

export interface JobRecord {
  readonly id: string;
  /** The record's format, for the day it changes. */
  readonly version: 1;
  displayName: string;
  description: string;
  readonly type: 'download';
  /** BG_JOB_PRIORITY: 0 foreground, 1 high, 2 normal, 3 low. */
  priority: number;
  state: JobState;
  readonly files: FileRecord[];
  notifyFlags: number;
  minimumRetryDelay: number;
  noProgressTimeout: number;
  errorCount: number;
  error: ErrorRecord | undefined;
  /** CRLF-separated custom request headers, as IBackgroundCopyJobHttpOptions keeps them. */
  headers: string;
  proxy: ProxyRecord;
  readonly owner: string;
  /** ISO times. */
  readonly created: string;
  modified: string;
  transferCompleted: string | undefined;
  /** When bytes last arrived (or the job was last resumed): the no-progress timeout counts from here. */
  lastProgress: string;
  /** In TRANSIENT_ERROR: when the engine queues the job again by itself. */
  retryAt: string | undefined;
}
