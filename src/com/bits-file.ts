import type { Backend } from './backend.js';
import type { ComPtr } from './com-ptr.js';
import type { FileRange } from './file-ranges.js';
import * as file2 from './file2.js';
import * as file3 from './file3.js';
import * as file4 from './file4.js';
import * as file5 from './file5.js';
import type { FilePropertyName, FilePropertyOutput } from './file5.js';
import * as file6 from './file6.js';
import type { PeerDownloadStats } from './file4.js';
import type { ComInterface } from './interface-table.js';
import type { IBackgroundCopyFile } from './interfaces.js';
import { readFileInfo, type JobFileInfo } from './job.js';
import type { ComRuntime } from './runtime.js';
import { throughInterface } from './through-interface.js';

/**
 * One file of a job, as the service's file object (IBackgroundCopyFile), with the methods of its later
 * interfaces (File2 ... File6), each through a QueryInterface of the file object: a service without
 * the interface is an InterfaceNotSupportedError naming it and its BITS version, asked once per job
 * (the job's files share its answers). Owns one reference: `release()` it (or `await using`).
 */
export class BitsFile {
  readonly #ptr: ComPtr<typeof IBackgroundCopyFile>;

  /** @internal Made by `BitsJob.files()`, which hands over the reference and the job's refused interfaces. */
  constructor(
    ptr: ComPtr<typeof IBackgroundCopyFile>,
    readonly backend: Backend,
    readonly runtime: ComRuntime,
    private readonly refused: Set<ComInterface>,
  ) {
    this.#ptr = ptr;
  }

  get released(): boolean {
    return this.#ptr.released;
  }

  /** @internal The file through another of its interfaces, released afterwards. */
  withInterface<I extends ComInterface, T>(target: I, use: (ptr: ComPtr<I>) => Promise<T>): Promise<T> {
    return throughInterface(this.#ptr, target, this.refused, this.backend, use);
  }

  /** The names and progress of the file, as `job.getFiles()` gives them. */
  getInfo(): Promise<JobFileInfo> {
    return readFileInfo(this.#ptr, this.runtime);
  }

  /** The byte ranges to download (`addFilesWithRanges`); [] for a whole file. BITS 2.0+ (IBackgroundCopyFile2). */
  getFileRanges(): Promise<FileRange[]> {
    return file2.getFileRanges(this);
  }

  /**
   * Moves the file to another URL (a mirror), checked before the call. Download jobs, not finished;
   * BITS keeps the change for good at the next `resume()` (suspend, change, resume). BITS 2.0+.
   */
  setRemoteName(url: string): Promise<void> {
    return file2.setRemoteName(this, url);
  }

  /** The temporary file BITS downloads into (`BIT*.tmp`) until the job is completed. BITS 3.0+ (IBackgroundCopyFile3). */
  getTemporaryName(): Promise<string> {
    return file3.getTemporaryName(this);
  }

  /**
   * Whether the downloaded content is valid, once the file is transferred: `false` makes BITS download
   * it again from the origin server (the job goes to ERROR with BG_E_VALIDATION_FAILED until resumed). BITS 3.0+.
   */
  setValidationState(valid: boolean): Promise<void> {
    return file3.setValidationState(this, valid);
  }

  getValidationState(): Promise<boolean> {
    return file3.getValidationState(this);
  }

  /** Whether any of the file came from a peer rather than the origin server. BITS 3.0+. */
  isDownloadedFromPeer(): Promise<boolean> {
    return file3.isDownloadedFromPeer(this);
  }

  /** Bytes downloaded from the origin server and from peers. BITS 4.0+ (IBackgroundCopyFile4). */
  getPeerDownloadStats(): Promise<PeerDownloadStats> {
    return file4.getPeerDownloadStats(this);
  }

  /** A file property, e.g. `'httpResponseHeaders'` (the server's last response). BITS 5.0+ (IBackgroundCopyFile5). */
  getProperty<K extends FilePropertyName>(name: K): Promise<FilePropertyOutput<K>> {
    return file5.getFileProperty(this, name);
  }

  /** On-demand reads: where the application reads now, so BITS downloads from there on. BITS 10.1+ (IBackgroundCopyFile6). */
  updateDownloadPosition(offset: number): Promise<void> {
    return file6.updateDownloadPosition(this, offset);
  }

  /** On-demand reads: ranges to download first; once all are in, the job is SUSPENDED (or TRANSFERRED when the whole file is). BITS 10.1+. */
  requestFileRanges(ranges: readonly FileRange[]): Promise<void> {
    return file6.requestFileRanges(this, ranges);
  }

  /** On-demand reads: the ranges of the file already downloaded, merged and sorted. BITS 10.1+. */
  getFilledFileRanges(): Promise<FileRange[]> {
    return file6.getFilledFileRanges(this);
  }

  /** Gives the reference back; the file stays in its job. */
  release(): Promise<void> {
    return this.#ptr.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
