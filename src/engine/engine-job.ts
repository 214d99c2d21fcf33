import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import path from 'node:path';
import type { ErrorContext, JobState } from '../com/enums.js';
import { BG_E_EMPTY, BG_E_INVALID_STATE, BG_S_PARTIAL_COMPLETE, E_INVALIDARG, S_OK } from '../com/hresult.js';
import type { ErrorRecord, FileRecord, JobRecord, Validator } from './job-record.js';
import { localWriteError } from './transfer-errors.js';
import { canMove, isActive } from './job-state.js';

/** What a job tells the engine: persistence, notifications and the scheduler all listen here. */
export interface JobListener {
  /** A property or the state changed (JobModification, and a save). */
  changed(job: EngineJob): void;
  /** Bytes arrived (JobModification, and a save before long: a resume reads the bytes on disk anyway). */
  progressed(job: EngineJob): void;
  fileTransferred(job: EngineJob, file: FileRecord): void;
  transferred(job: EngineJob): void;
  /** The job entered ERROR. */
  failed(job: EngineJob): void;
  /** The job wants a transfer slot (QUEUED), or gave its slot up (anything else). */
  scheduling(job: EngineJob): void;
  /** The job left the queue (ACKNOWLEDGED or CANCELLED); its leftover temporary files are `leftovers`. */
  removed(job: EngineJob, leftovers: readonly string[]): void;
}

/** BITS's documented floor: "MinimumRetryDelay (default 600 s, minimum 5 s)" (bits-com.md). */
export const MINIMUM_RETRY_DELAY_FLOOR = 5;

/** A failed transfer attempt, as the scheduler reports it. */
export interface AttemptFailure {
  readonly hresult: number;
  readonly context: ErrorContext;
  readonly transient: boolean;
  readonly message: string;
  readonly fileIndex: number | undefined;
}

const FINAL: readonly JobState[] = ['acknowledged', 'cancelled'];

/** How fresh the modification and last-progress times of a transferring job are kept. */
const STAMP_INTERVAL_MS = 250;

/**
 * One job of the portable engine: its record and the moves of BITS's life cycle. Methods called by
 * the COM objects answer an HRESULT, as the service would; the scheduler drives the transfer states.
 */
export class EngineJob {
  constructor(
    readonly record: JobRecord,
    private readonly listener: JobListener,
    /** Milliseconds in one of BITS's seconds (retry delay, no-progress timeout); 1000 but in tests. */
    private readonly secondMs: number,
  ) {}

  get id(): string {
    return this.record.id;
  }

  get state(): JobState {
    return this.record.state;
  }

  get final(): boolean {
    return FINAL.includes(this.record.state);
  }

  // --- what the COM methods ask -------------------------------------------------------------------

  addFile(url: string, localPath: string): number {
    if (this.final) return BG_E_INVALID_STATE;
    if (!path.isAbsolute(localPath) || !isSupportedSource(url)) return E_INVALIDARG;
    const tempPath = path.join(path.dirname(localPath), `BIT${randomBytes(4).toString('hex').toUpperCase()}.tmp`);
    this.record.files.push({ url, localPath, tempPath, bytesTotal: undefined, bytesTransferred: 0, completed: false, validator: undefined });
    this.#touch();
    return S_OK;
  }

  /** "Resume() retries at once"; a job with every file transferred is TRANSFERRED again. */
  resume(): number {
    if (this.final) return BG_E_INVALID_STATE;
    if (this.record.files.length === 0) return BG_E_EMPTY;
    if (isActive(this.state)) return S_OK;
    this.record.lastProgress = new Date().toISOString();
    this.record.retryAt = undefined;
    if (this.record.files.every((file) => file.completed)) {
      if (this.state !== 'transferred') this.#transferred();
      return S_OK;
    }
    this.#move('queued');
    return S_OK;
  }

  suspend(): number {
    if (this.final) return BG_E_INVALID_STATE;
    this.record.retryAt = undefined;
    if (this.state !== 'suspended') this.#move('suspended');
    return S_OK;
  }

  cancel(): number {
    if (this.final) return BG_E_INVALID_STATE;
    this.#leave('cancelled', this.record.files.map((file) => file.tempPath));
    return S_OK;
  }

  /**
   * Moves every transferred file to its local name before answering (as BITS does), drops the rest:
   * BG_S_PARTIAL_COMPLETE when some were missing.
   */
  complete(): number {
    if (this.final) return BG_E_INVALID_STATE;
    const done = this.record.files.filter((file) => file.completed);
    for (const file of done) {
      try {
        renameSync(file.tempPath, file.localPath);
      } catch (error) {
        // The job stays as it was, as when BITS cannot move a file into place.
        return localWriteError(error, file.localPath).hresult;
      }
    }
    const leftovers = this.record.files.filter((file) => !file.completed).map((file) => file.tempPath);
    this.#leave('acknowledged', leftovers);
    return leftovers.length === 0 ? S_OK : BG_S_PARTIAL_COMPLETE;
  }

  /** A property setter: refused on a finished job, a modification otherwise. */
  set(change: (record: JobRecord) => void): number {
    if (this.final) return BG_E_INVALID_STATE;
    change(this.record);
    this.#touch();
    return S_OK;
  }

  /** The retry delay BITS applies: never under its floor. */
  get effectiveRetryDelaySeconds(): number {
    return Math.max(MINIMUM_RETRY_DELAY_FLOOR, this.record.minimumRetryDelay);
  }

  // --- what the scheduler reports -----------------------------------------------------------------

  /** The scheduler gave it a slot. */
  connecting(): void {
    this.#move('connecting');
  }

  /** The server answered for `file`: its size and validator are known, bytes follow. */
  receiving(file: FileRecord, bytesTotal: number | undefined, validator: Validator | undefined, bytesTransferred: number): void {
    file.bytesTotal = bytesTotal;
    file.validator = validator;
    file.bytesTransferred = bytesTransferred;
    if (this.state === 'connecting') this.#move('transferring');
    else this.#touch();
  }

  progress(file: FileRecord, bytesTransferred: number): void {
    file.bytesTransferred = bytesTransferred;
    // Chunks come by the thousand per second: the times are written down a few times a second at most.
    const now = Date.now();
    if (now - this.#stamped >= STAMP_INTERVAL_MS) {
      this.#stamped = now;
      this.record.lastProgress = this.record.modified = new Date(now).toISOString();
    }
    this.listener.progressed(this);
  }

  #stamped = 0;

  fileDone(file: FileRecord, bytesTotal: number): void {
    file.bytesTotal = bytesTotal;
    file.bytesTransferred = bytesTotal;
    file.completed = true;
    this.#touch();
    this.listener.fileTransferred(this, file);
  }

  allDone(): void {
    this.#transferred();
  }

  /**
   * A failed attempt: TRANSIENT_ERROR with a retry planned, or ERROR when the failure is final, the
   * no-progress timeout is 0 ("0 makes every error fatal") or has run out since the last progress.
   */
  attemptFailed(failure: AttemptFailure, now = Date.now()): void {
    this.record.errorCount++;
    this.record.error = errorRecord(failure);
    if (!failure.transient || this.#noProgressExpired(now)) {
      this.#fail();
      return;
    }
    this.record.retryAt = new Date(now + this.effectiveRetryDelaySeconds * this.secondMs).toISOString();
    this.#move('transientError');
  }

  /** The retry delay of a TRANSIENT_ERROR ran out: queue again, or give up if nothing moved for too long. */
  retryDue(now = Date.now()): void {
    if (this.state !== 'transientError') return;
    this.record.retryAt = undefined;
    if (this.#noProgressExpired(now)) this.#fail();
    else this.#move('queued');
  }

  /** The engine stops working for now (no one holds it): a running transfer is queued again on next start. */
  requeue(): void {
    if (this.state === 'connecting' || this.state === 'transferring') this.#move('queued');
  }

  // --- internals -----------------------------------------------------------------------------------

  #noProgressExpired(now: number): boolean {
    const timeout = this.record.noProgressTimeout;
    return timeout === 0 || now - Date.parse(this.record.lastProgress) >= timeout * this.secondMs;
  }

  #fail(): void {
    this.#move('error', { notify: false });
    this.listener.failed(this);
  }

  #transferred(): void {
    this.record.error = undefined;
    this.record.transferCompleted = new Date().toISOString();
    this.#move('transferred', { notify: false });
    this.listener.transferred(this);
  }

  #leave(state: 'cancelled' | 'acknowledged', leftovers: readonly string[]): void {
    this.record.retryAt = undefined;
    this.#move(state, { notify: false });
    this.listener.removed(this, leftovers);
  }

  /**
   * JobModification goes out for every move except into ERROR and TRANSFERRED, which have their own
   * notifications, and the final states, after which a job is no longer in the queue.
   */
  #move(to: JobState, { notify } = { notify: true }): void {
    const from = this.record.state;
    if (!canMove(from, to)) throw new Error(`engine bug: job ${this.id} cannot move from ${from} to ${to}`);
    this.record.state = to;
    this.record.modified = new Date().toISOString();
    if (notify) this.listener.changed(this);
    if (isActive(from) !== isActive(to) || to === 'queued') this.listener.scheduling(this);
  }

  #touch(): void {
    this.record.modified = new Date().toISOString();
    this.listener.changed(this);
  }
}

function errorRecord(failure: AttemptFailure): ErrorRecord {
  return { hresult: failure.hresult, context: failure.context, fileIndex: failure.fileIndex, message: failure.message };
}

/** What the engine can fetch: HTTP, HTTPS and local files (an absolute path or a file: URL). */
function isSupportedSource(url: string): boolean {
  if (path.isAbsolute(url)) return true;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  return scheme === 'http' || scheme === 'https' || scheme === 'file';
}
