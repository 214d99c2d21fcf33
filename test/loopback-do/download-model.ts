import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, unlinkSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DO_PROPERTIES, DO_STATES, type DoPropertyInfo, type DoState } from '../../src/com/do-interfaces.js';
import {
  DO_E_DOWNLOAD_NO_PROGRESS,
  DO_E_DOWNLOAD_NO_URI,
  DO_E_FILE_DOWNLOADSINK_ALREADY_SET,
  DO_E_FILE_DOWNLOADSINK_UNSPECIFIED,
  DO_E_INTEGRITYCHECKINFO_UNAVAILABLE,
  DO_E_INTEGRITYCHECKINFO_UNSPECIFIED,
  DO_E_INVALID_STATE,
  DO_E_READ_ONLY_PROPERTY,
  DO_E_UNKNOWN_PROPERTY_ID,
  DO_E_WRITE_ONLY_PROPERTY,
  E_NOT_SET,
} from '../../src/com/do-errors.js';
import { E_INVALIDARG, E_NOTIMPL, S_OK } from '../../src/com/hresult.js';
import type { VariantValue } from '../../src/com/automation.js';
import { TransferFailure, transferFile } from '../loopback/transfer.js';
import type { DoFaults, DoLoopbackOptions } from './options.js';

/**
 * One download of the loopback Delivery Optimization service, as do-com.md describes dosvc's: its
 * properties with their access rules and Windows builds, the state table (Start, Pause, Abort,
 * Finalize from each state), the transfer into the service's own cache, the file appearing at
 * LocalPath only on Finalize and never over an existing file, BytesTotal 0 until the size is known,
 * transient pauses retried by DO itself, fatal errors left Paused with Error set.
 */

/** HRESULT_FROM_WIN32(ERROR_FILE_EXISTS): what DO's file sink answers for an existing LocalPath (the Linux agent: EEXIST). */
export const ERROR_FILE_EXISTS_HR = 0x80070050;

export interface DownloadStatus {
  readonly bytesTotal: bigint;
  readonly bytesTransferred: bigint;
  readonly state: DoState;
  readonly error: number;
  readonly extendedError: number;
}

/** What the model asks of its service. */
export interface DownloadHost {
  readonly options: DoLoopbackOptions;
  readonly faults: DoFaults;
  /** Where the service keeps a download's bytes until Finalize. */
  readonly cacheDir: string;
  /** The status changed (a state, or progress at the callback cadence): call the callback, if any. */
  statusChanged(model: DownloadModel): void;
  /** A callback reference the model drops (replaced, detached, or the download ended). */
  releaseCallback(address: bigint): void;
  /** A transfer of the loopback failed unexpectedly: a bug of the loopback, recorded. */
  bug(error: unknown): void;
}

const byId = new Map<number, [string, DoPropertyInfo]>(Object.entries(DO_PROPERTIES).map(([name, info]) => [info.id, [name, info]]));

/** Properties only a Created download takes (the sink and what it fetches). */
const CREATED_ONLY = new Set<number>([DO_PROPERTIES.Uri.id, DO_PROPERTIES.ContentId.id, DO_PROPERTIES.LocalPath.id, DO_PROPERTIES.StreamInterface.id]);

export class DownloadModel {
  readonly id = `{${randomUUID().toUpperCase()}}`;
  state: DoState = 'created';
  bytesTotal = 0n;
  bytesTransferred = 0n;
  error = 0;
  extendedError = 0;
  /** Values set, by property id (interfaces are kept in `callback`). */
  readonly #values = new Map<number, VariantValue>();
  /** The IDODownloadStatusCallback the service holds a reference on. */
  callback: bigint | undefined;
  #transfer: AbortController | undefined;
  #retry: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #lastProgress = Date.now();
  #percentStep = 0;
  /** The transfer in flight, for close(). */
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: DownloadHost,
    /** Whose download it is: EnumDownloads lists a caller's own. */
    readonly owner: string,
  ) {}

  get final(): boolean {
    return this.state === 'finalized' || this.state === 'aborted';
  }

  get status(): DownloadStatus {
    return { bytesTotal: this.bytesTotal, bytesTransferred: this.bytesTransferred, state: this.state, error: this.error, extendedError: this.extendedError };
  }

  get stateNumber(): number {
    return DO_STATES.indexOf(this.state);
  }

  /** A BSTR property's value, if set. */
  text(name: 'Uri' | 'LocalPath' | 'DisplayName' | 'ContentId' | 'HttpCustomHeaders' | 'IntegrityCheckInfo'): string | undefined {
    const value = this.#values.get(DO_PROPERTIES[name].id);
    return value?.type === 'bstr' ? value.value : undefined;
  }

  flag(name: 'NonVolatile' | 'IntegrityCheckMandatory' | 'ForegroundPriority'): boolean {
    const value = this.#values.get(DO_PROPERTIES[name].id);
    return value?.type === 'bool' && value.value;
  }

  number(name: 'CallbackFreqSeconds' | 'CallbackFreqPercent' | 'NoProgressTimeoutSeconds' | 'CostPolicy'): number | undefined {
    const value = this.#values.get(DO_PROPERTIES[name].id);
    return value?.type === 'ui4' ? value.value : undefined;
  }

  #known(id: number): DoPropertyInfo | undefined {
    const info = byId.get(id)?.[1];
    return info === undefined || info.since > this.host.options.build ? undefined : info;
  }

  /** SetProperty: the value is the service's own copy (a BSTR copied, an interface already QueryInterface'd). */
  setProperty(id: number, value: VariantValue): number {
    const info = this.#known(id);
    if (info === undefined) return DO_E_UNKNOWN_PROPERTY_ID;
    if (info.access === 'R') return DO_E_READ_ONLY_PROPERTY;
    if (this.final) return DO_E_INVALID_STATE;
    if (info.type === 'bytes') return E_NOTIMPL;
    if (value.type !== info.type) return E_INVALIDARG;
    if (CREATED_ONLY.has(id) && this.state !== 'created') return DO_E_INVALID_STATE;
    // Exactly one sink; the loopback has no stream sink of its own.
    if (id === DO_PROPERTIES.StreamInterface.id) return this.text('LocalPath') === undefined ? E_NOTIMPL : DO_E_FILE_DOWNLOADSINK_ALREADY_SET;
    if (id === DO_PROPERTIES.LocalPath.id && value.type === 'bstr' && !path.isAbsolute(value.value)) return E_INVALIDARG;
    if (id === DO_PROPERTIES.CallbackInterface.id) {
      const previous = this.callback;
      this.callback = value.type === 'unknown' && value.value !== 0n ? value.value : undefined;
      if (previous !== undefined) this.host.releaseCallback(previous);
      return S_OK;
    }
    if (id === DO_PROPERTIES.NoProgressTimeoutSeconds.id && value.type === 'ui4' && value.value !== 0 && value.value < 60) return E_INVALIDARG;
    this.#values.set(id, value);
    return S_OK;
  }

  /** GetProperty: the value to hand out, or the failure. */
  getProperty(id: number): { hr: number; value?: VariantValue } {
    const info = this.#known(id);
    if (info === undefined) return { hr: DO_E_UNKNOWN_PROPERTY_ID };
    if (info.access === 'W') return { hr: DO_E_WRITE_ONLY_PROPERTY };
    if (id === DO_PROPERTIES.Id.id) return { hr: S_OK, value: { type: 'bstr', value: this.id } };
    if (id === DO_PROPERTIES.CallbackInterface.id) {
      return this.callback === undefined ? { hr: E_NOT_SET } : { hr: S_OK, value: { type: 'unknown', value: this.callback } };
    }
    const value = this.#values.get(id);
    return value === undefined ? { hr: E_NOT_SET } : { hr: S_OK, value };
  }

  /** Start: `rangeCount` undefined for a NULL DO_DOWNLOAD_RANGES_INFO. */
  start(rangeCount: number | undefined): number {
    switch (this.state) {
      case 'finalized':
      case 'aborted':
        return DO_E_INVALID_STATE;
      case 'transferring':
        return S_OK;
      case 'transferred':
        // New ranges fetch another part ([D]); the loopback serves whole files only.
        return rangeCount !== undefined && rangeCount > 0 ? E_NOTIMPL : S_OK;
      case 'created':
      case 'paused':
        break;
    }
    if (rangeCount !== undefined && rangeCount > 0) return E_NOTIMPL;
    if (this.host.faults.refuseStart !== undefined) return this.host.faults.refuseStart;
    if (this.text('Uri') === undefined && this.text('ContentId') === undefined) return DO_E_DOWNLOAD_NO_URI;
    if (this.text('LocalPath') === undefined) return DO_E_FILE_DOWNLOADSINK_UNSPECIFIED;
    this.#clearRetry();
    this.#begin();
    return S_OK;
  }

  pause(): number {
    if (this.final) return DO_E_INVALID_STATE;
    if (this.state !== 'transferring' && !(this.state === 'paused' && this.#retry !== undefined)) return S_OK;
    this.#stop();
    this.#clearRetry();
    this.state = 'paused';
    this.host.statusChanged(this);
    return S_OK;
  }

  abort(): number {
    if (this.state === 'finalized' || this.state === 'transferred') return DO_E_INVALID_STATE;
    if (this.state === 'aborted') return S_OK;
    const wasCreated = this.state === 'created';
    this.#end('aborted');
    void this.#running.then(() => rm(this.#cachePath, { force: true }));
    // dosvc answers E_NOT_SET for a download never started, and aborts it all the same (do-com.md, [C]'s tests).
    return wasCreated ? E_NOT_SET : S_OK;
  }

  /**
   * Finalize: the file moves to LocalPath, never over an existing file. Synchronous file calls: a COM
   * handler answers before it returns, and the transfer closed the cache file before Transferred.
   */
  finalize(): number {
    if (this.state === 'finalized') return S_OK;
    if (this.state !== 'transferred') return DO_E_INVALID_STATE;
    const target = this.text('LocalPath')!;
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      linkSync(this.#cachePath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return ERROR_FILE_EXISTS_HR;
      throw error;
    }
    unlinkSync(this.#cachePath);
    this.#end('finalized');
    return S_OK;
  }

  /** The service restarts: a download in flight comes back Paused, its callback gone with the old process. */
  survivesRestart(): void {
    this.#stop();
    this.#clearRetry();
    if (this.state === 'transferring') this.state = 'paused';
    if (this.callback !== undefined) this.host.releaseCallback(this.callback);
    this.callback = undefined;
  }

  /** The service stops for good (tests' close): nothing runs any more. */
  async close(): Promise<void> {
    this.#stop();
    this.#clearRetry();
    await this.#running;
    if (this.callback !== undefined) this.host.releaseCallback(this.callback);
    this.callback = undefined;
  }

  async discard(): Promise<void> {
    await this.close();
    await rm(this.#cachePath, { force: true });
  }

  get #cachePath(): string {
    return path.join(this.host.cacheDir, `${this.id}.dat`);
  }

  #end(state: 'aborted' | 'finalized'): void {
    this.#stop();
    this.#clearRetry();
    this.state = state;
    // DO lets go of the callback with the download; it does not call it about the end ([W] wakes its own waiter after Abort).
    if (this.callback !== undefined) this.host.releaseCallback(this.callback);
    this.callback = undefined;
  }

  /** DO aborts the download itself: the callback hears the end (unlike an Abort the caller made), then is let go. */
  #abortedBy(hresult: number): void {
    this.#stop();
    this.#clearRetry();
    this.state = 'aborted';
    this.error = hresult;
    this.host.statusChanged(this);
    this.#end('aborted');
    void rm(this.#cachePath, { force: true });
  }

  #clearRetry(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #stop(): void {
    this.#transfer?.abort();
    this.#transfer = undefined;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #secondsMs(seconds: number): number {
    return seconds * this.host.options.secondMs;
  }

  #begin(): void {
    this.state = 'transferring';
    this.error = 0;
    this.extendedError = 0;
    this.#lastProgress = Date.now();
    this.host.statusChanged(this);
    const every = this.#secondsMs(this.number('CallbackFreqSeconds') ?? 1);
    this.#ticker = setInterval(() => this.host.statusChanged(this), Math.max(1, every));
    const controller = new AbortController();
    this.#transfer = controller;
    this.#running = this.#run(controller.signal).catch((error: unknown) => this.host.bug(error));
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { faults } = this.host;
    if (faults.block !== undefined) return this.#failed(faults.block, true);
    if (this.flag('IntegrityCheckMandatory')) {
      // "If VARIANT_TRUE, the download will be aborted if the integrity check fails" (DODownloadProperty docs).
      if (faults.integrityUnavailable) return this.#abortedBy(DO_E_INTEGRITYCHECKINFO_UNAVAILABLE);
      if (this.text('IntegrityCheckInfo') === undefined) return this.#abortedBy(DO_E_INTEGRITYCHECKINFO_UNSPECIFIED);
    }
    if (await exists(this.text('LocalPath')!)) return this.#failed(ERROR_FILE_EXISTS_HR, false);
    await mkdir(this.host.cacheDir, { recursive: true });
    // Every attempt starts at byte 0 (the loopback does not resume ranges).
    this.bytesTransferred = 0n;
    this.#percentStep = 0;
    try {
      await transferFile(this.text('Uri')!, this.#cachePath, this.text('HttpCustomHeaders') ?? '', signal, {
        connected: (bytes) => {
          // BytesTotal stays 0 while the size is unknown (no Content-Length), never BITS's UINT64_MAX.
          if (bytes !== undefined) this.bytesTotal = BigInt(bytes);
        },
        advance: (bytes) => {
          this.bytesTransferred += BigInt(bytes);
          this.#lastProgress = Date.now();
          this.#percentCadence();
        },
      });
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof TransferFailure)) throw error;
      return this.#failed(error.hresult, error.transient);
    }
    if (signal.aborted) return;
    if (this.bytesTotal === 0n) this.bytesTotal = this.bytesTransferred;
    this.#stop();
    this.state = 'transferred';
    this.host.statusChanged(this);
  }

  #percentCadence(): void {
    const percent = this.number('CallbackFreqPercent') ?? 0;
    if (percent === 0 || this.bytesTotal === 0n) return;
    const step = Math.floor(Number((this.bytesTransferred * 100n) / this.bytesTotal) / percent);
    if (step > this.#percentStep) {
      this.#percentStep = step;
      this.host.statusChanged(this);
    }
  }

  /** Transient: Paused, Error 0, ExtendedError set, and DO tries again by itself; fatal: Paused with Error set. */
  #failed(hresult: number, transient: boolean): void {
    this.#stop();
    this.state = 'paused';
    const timeoutMs = this.#secondsMs(this.number('NoProgressTimeoutSeconds') || this.host.options.defaultNoProgressSeconds);
    if (transient && Date.now() - this.#lastProgress < timeoutMs) {
      this.error = 0;
      this.extendedError = hresult;
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        if (this.state === 'paused') this.#begin();
      }, this.#secondsMs(this.host.options.retrySeconds));
    } else {
      this.error = transient ? DO_E_DOWNLOAD_NO_PROGRESS : hresult;
      this.extendedError = transient ? hresult : 0;
    }
    this.host.statusChanged(this);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
