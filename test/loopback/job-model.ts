import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Guid } from '../../src/com/guid.js';
import {
  BG_E_EMPTY,
  BG_E_INVALID_STATE,
  BG_E_NETWORK_DISCONNECTED,
  BG_S_PARTIAL_COMPLETE,
  BG_S_UNABLE_TO_DELETE_FILES,
  E_ACCESSDENIED,
  E_UNEXPECTED,
  S_OK,
} from '../../src/com/hresult.js';
import { transferFile, TransferFailure } from './transfer.js';

/** The loopback's model of one BITS job: its properties, its state machine and its transfer loop. */

export const State = {
  QUEUED: 0,
  CONNECTING: 1,
  TRANSFERRING: 2,
  SUSPENDED: 3,
  ERROR: 4,
  TRANSIENT_ERROR: 5,
  TRANSFERRED: 6,
  ACKNOWLEDGED: 7,
  CANCELLED: 8,
} as const;

export interface FileModel {
  readonly url: string;
  readonly localPath: string;
  readonly tempPath: string;
  bytesTotal: number | undefined;
  bytesTransferred: number;
  completed: boolean;
  /** Moved to its local name by a partial Complete that kept the job (keepsPartlyCompletedJobs). */
  committed?: boolean;
}

export interface ErrorModel {
  readonly hresult: number;
  readonly context: number;
  readonly file: FileModel | undefined;
}

/** What a job tells the service's notifier. */
export interface JobEvents {
  modification(job: JobModel): void;
  fileTransferred(job: JobModel, file: FileModel): void;
  transferred(job: JobModel): void;
  error(job: JobModel): void;
  /** The job left the queue (acknowledged or cancelled). */
  removed(job: JobModel): void;
}

export interface Faults {
  /** Transfer attempts still to fail with BG_E_NETWORK_DISCONNECTED (decremented per attempt). */
  disconnects: number;
  /** Cancel answers BG_S_UNABLE_TO_DELETE_FILES (Wine does so for errored jobs). */
  unableToDeleteFiles: boolean;
  /** Cancel fails with E_ACCESSDENIED and the job stays (BITS does so for another user's job). */
  cancelDenied: boolean;
}

export interface JobModelOptions {
  /** Milliseconds per BITS second, for MinimumRetryDelay and NoProgressTimeout (1 makes 600 s last 600 ms). */
  readonly secondMs: number;
  /** Faults the test injects while the service runs. */
  readonly faults: Faults;
  /**
   * A Complete with files still missing moves those that arrived and keeps the job, answering
   * BG_S_PARTIAL_COMPLETE (recent Wine's dlls/qmgr/job.c); BITS acknowledges the job instead.
   */
  readonly keepsPartlyCompletedJobs: boolean;
}

const FINAL: readonly number[] = [State.ACKNOWLEDGED, State.CANCELLED];

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class JobModel {
  description = '';
  priority = 2;
  state: number = State.SUSPENDED;
  readonly files: FileModel[] = [];
  notifyFlags = 0x1 | 0x2;
  minimumRetryDelay = 600;
  noProgressTimeout = 1_209_600;
  errorCount = 0;
  error: ErrorModel | undefined;
  readonly created = new Date();
  modified = new Date();
  transferCompleted: Date | undefined;
  /** performance.now() when the job reached TRANSFERRED, for measuring how soon a client notices. */
  transferredAt: number | undefined;
  proxy = { usage: 0, list: '', bypass: '' };
  /** Custom request headers, CRLF-separated, as IBackgroundCopyJobHttpOptions stores them. */
  headers = '';
  readonly owner = 'S-1-5-21-1004336348-1177238915-682003330-1000';
  #abort: AbortController | undefined;
  #lastProgress = Date.now();
  /** The running transfer loop, for tests that wait for the job to settle. */
  running: Promise<void> = Promise.resolve();

  constructor(
    readonly id: Guid,
    public displayName: string,
    readonly type: number,
    private readonly events: JobEvents,
    private readonly options: JobModelOptions,
  ) {}

  get final(): boolean {
    return FINAL.includes(this.state);
  }

  /** A property changed: JobModification, as BITS sends for property and progress changes. */
  touch(): void {
    this.modified = new Date();
    this.events.modification(this);
  }

  addFile(url: string, localPath: string): number {
    if (this.final) return BG_E_INVALID_STATE;
    const tempPath = path.join(path.dirname(localPath), `BIT${randomBytes(4).toString('hex').toUpperCase()}.tmp`);
    this.files.push({ url, localPath, tempPath, bytesTotal: undefined, bytesTransferred: 0, completed: false });
    this.touch();
    return S_OK;
  }

  resume(): number {
    if (this.final) return BG_E_INVALID_STATE;
    if (this.files.length === 0) return BG_E_EMPTY;
    if (this.state === State.TRANSFERRED) return S_OK;
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    this.#lastProgress = Date.now();
    this.#setState(State.QUEUED);
    this.running = this.#run(abort.signal);
    return S_OK;
  }

  suspend(): number {
    if (this.final) return BG_E_INVALID_STATE;
    this.#abort?.abort();
    if (this.state !== State.SUSPENDED) this.#setState(State.SUSPENDED);
    return S_OK;
  }

  /**
   * Cancel and Complete answer at once, as a COM method must; the transfer loop is stopped and the
   * temporary files are cleaned up behind (see {@link cleanup}).
   */
  cancel(): number {
    if (this.final) return BG_E_INVALID_STATE;
    if (this.options.faults.cancelDenied) return E_ACCESSDENIED;
    this.#finish(State.CANCELLED, []);
    return this.options.faults.unableToDeleteFiles ? BG_S_UNABLE_TO_DELETE_FILES : S_OK;
  }

  /** Moves every transferred file to its local name (before answering), drops the others. */
  complete(): number {
    if (this.final) return BG_E_INVALID_STATE;
    const done = this.files.filter((file) => file.completed);
    for (const file of done.filter((file) => !file.committed)) renameSync(file.tempPath, file.localPath);
    if (done.length < this.files.length && this.options.keepsPartlyCompletedJobs) {
      for (const file of done) file.committed = true;
      return BG_S_PARTIAL_COMPLETE;
    }
    this.#finish(State.ACKNOWLEDGED, done);
    return done.length === this.files.length ? S_OK : BG_S_PARTIAL_COMPLETE;
  }

  /** Temporary-file cleanup after Cancel/Complete; resolves when it is done. */
  cleanup: Promise<void> = Promise.resolve();

  #finish(state: number, kept: readonly FileModel[]): void {
    this.#abort?.abort();
    this.state = state;
    this.modified = new Date();
    const leftovers = this.files.filter((file) => !kept.includes(file));
    this.cleanup = this.running.then(async () => {
      await Promise.all(leftovers.map((file) => rm(file.tempPath, { force: true })));
    });
    this.events.removed(this);
  }

  #setState(state: number): void {
    this.state = state;
    // JobModification is not fired for the transitions into ERROR or TRANSFERRED (the reference).
    if (state !== State.ERROR && state !== State.TRANSFERRED) this.touch();
    else this.modified = new Date();
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#setState(State.CONNECTING);
      let current: FileModel | undefined;
      try {
        for (const file of this.files) {
          if (file.completed) continue;
          current = file;
          if (this.options.faults.disconnects > 0) {
            this.options.faults.disconnects--;
            throw new TransferFailure(BG_E_NETWORK_DISCONNECTED, 6, true);
          }
          this.#setState(State.TRANSFERRING);
          file.bytesTransferred = 0;
          await transferFile(file.url, file.tempPath, this.headers, signal, {
            total: (bytes) => {
              file.bytesTotal = bytes;
            },
            advance: (bytes) => {
              file.bytesTransferred += bytes;
              this.#lastProgress = Date.now();
              this.touch();
            },
          });
          if (signal.aborted) return;
          file.completed = true;
          this.events.fileTransferred(this, file);
        }
        this.error = undefined;
        this.transferCompleted = new Date();
        this.transferredAt = performance.now();
        this.#setState(State.TRANSFERRED);
        this.events.transferred(this);
        return;
      } catch (caught) {
        if (signal.aborted) return;
        const failure = caught instanceof TransferFailure ? caught : new TransferFailure(E_UNEXPECTED, 1, false);
        this.errorCount++;
        this.error = { hresult: failure.hresult, context: failure.context, file: current };
        const timeout = this.noProgressTimeout * this.options.secondMs;
        if (!failure.transient || this.noProgressTimeout === 0 || Date.now() - this.#lastProgress > timeout) {
          this.#setState(State.ERROR);
          this.events.error(this);
          return;
        }
        this.#setState(State.TRANSIENT_ERROR);
        await sleep(this.minimumRetryDelay * this.options.secondMs, signal);
      }
    }
  }
}
