import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { IDOManager, IDODownloadStatusCallback } from '../../src/com/do-interfaces.js';
import { DO_DOWNLOAD_STATUS_SIZE } from '../../src/com/do-native-types.js';
import { ComError } from '../../src/com/errors.js';
import type { Guid } from '../../src/com/guid.js';
import { E_NOINTERFACE, REGDB_E_CLASSNOTREG } from '../../src/com/hresult.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import { CLSID_DeliveryOptimization, IUnknown } from '../../src/com/interfaces.js';
import { invokeAsync, invokeSync } from '../../src/com/invoke.js';
import type { ComRuntime } from '../../src/com/runtime.js';
import { handlerErrors } from '../loopback/shared.js';
import { TaskMemory } from '../loopback/task-memory.js';
import { LoopbackAutomation } from './automation.js';
import { createDownloadObject } from './download.js';
import { DownloadModel } from './download-model.js';
import { createManager } from './manager.js';
import { DO_DEFAULTS, type DoFaults, type DoLoopbackOptions } from './options.js';
import type { DoLiveKind, DoServiceCore } from './shared.js';

export { DO_DEFAULTS } from './options.js';
export type { DoLoopbackOptions } from './options.js';

/** The user every client of the loopback runs as, unless a test says otherwise. */
export const DO_CALLER = 'S-1-5-21-1004336348-1177238915-682003330-1000';

/**
 * The loopback Delivery Optimization service: IDOManager, IDODownload and IEnumUnknown written in
 * TypeScript behind real native vtables (one file per class: manager.ts, download.ts,
 * enum-unknown.ts; the model in download-model.ts). The library reaches it as it would reach dosvc:
 * CoCreateInstance(CLSID_DeliveryOptimization, IID_IDOManager), calls from its call threads, VARIANTs
 * and BSTRs through oleaut32 (automation.ts, counted). It calls the registered
 * IDODownloadStatusCallback from call threads, not the JS thread, on every state change and at the
 * download's CallbackFreqSeconds/CallbackFreqPercent cadence, one call at a time per download.
 *
 * It answers CoCreateInstance for IDOManager (and IUnknown) only: whether dosvc's class answers
 * IBackgroundCopyManager is what nobody has shown (do-com.md), so the loopback answers E_NOINTERFACE.
 */
export class LoopbackDoService {
  readonly options: DoLoopbackOptions;
  readonly faults: DoFaults = { block: undefined, refuseStart: undefined, integrityUnavailable: false, lateStatus: false, silent: false };
  readonly automation = new LoopbackAutomation();
  readonly taskMemory = new TaskMemory();
  readonly runtime: ComRuntime;
  readonly #downloads = new Map<string, DownloadModel>();
  readonly #calls = new Map<string, number>();
  readonly #live: Record<DoLiveKind, number> = { managers: 0, downloads: 0, enumerators: 0 };
  readonly #handlerErrorsAtStart = handlerErrors.length;
  readonly #cacheDir = mkdtempSync(path.join(tmpdir(), 'rx-bits-do-cache-'));
  readonly #core: DoServiceCore;
  /** Status deliveries of each download, one after another. */
  readonly #lanes = new Map<string, Promise<void>>();
  /** The last status each download reported, for the `lateStatus` fault. */
  readonly #lastStatus = new Map<string, Buffer>();
  readonly #bugs: unknown[] = [];
  #generation = 0;

  constructor(options: Partial<DoLoopbackOptions> = {}) {
    this.options = { ...DO_DEFAULTS, ...options };
    const service = this;
    this.#core = {
      get generation() {
        return service.#generation;
      },
      automation: this.automation,
      downloads: this.#downloads,
      createDownload: (owner) => {
        const model = new DownloadModel(this.#host(), owner);
        this.#downloads.set(model.id, model);
        return model;
      },
      downloadObject: (model) => createDownloadObject(this.#core, model),
      count: (iface, method) => this.#count(iface, method),
      tracked: (kind) => {
        this.#live[kind]++;
        return { onFinalRelease: () => this.#live[kind]-- };
      },
    };
    this.runtime = {
      pathStyle: 'posix',
      initialize: () => Promise.resolve(),
      createInstance: async (clsid: Guid, iid: Guid) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (clsid !== CLSID_DeliveryOptimization) throw new ComError(REGDB_E_CLASSNOTREG, 'ole32', `CoCreateInstance(${clsid})`);
        if (this.options.refusal !== undefined) throw new ComError(this.options.refusal, 'ole32', `CoCreateInstance(${clsid})`);
        if (!IDOManager.iids.includes(iid)) throw new ComError(E_NOINTERFACE, 'ole32', `CoCreateInstance(${clsid})`);
        return createManager(this.#core, DO_CALLER).address;
      },
      freeTaskMemory: (address) => this.taskMemory.free(address),
      disconnectObject: () => Promise.resolve(),
      automation: this.automation,
    };
  }

  #host() {
    return {
      options: this.options,
      faults: this.faults,
      cacheDir: this.#cacheDir,
      statusChanged: (model: DownloadModel) => this.#deliver(model),
      releaseCallback: (address: bigint) => void invokeSync(address, IUnknown.method('Release')),
      bug: (error: unknown) => this.#bugs.push(error),
    };
  }

  #count(iface: ComInterface, method: string): void {
    const key = `${iface.name}::${method}`;
    this.#calls.set(key, (this.#calls.get(key) ?? 0) + 1);
  }

  /** Calls of `Interface::Method` so far. */
  calls(key: string): number {
    return this.#calls.get(key) ?? 0;
  }

  /** Every download of the service that has not ended, for inspection. */
  get downloads(): DownloadModel[] {
    return [...this.#downloads.values()].filter((model) => !model.final);
  }

  /** Calls the download's callback (if it has one) with its status as it is now, after the calls already queued. */
  #deliver(model: DownloadModel): void {
    const status = Buffer.alloc(DO_DOWNLOAD_STATUS_SIZE);
    status.writeBigUInt64LE(model.bytesTotal, 0);
    status.writeBigUInt64LE(model.bytesTransferred, 8);
    status.writeInt32LE(model.stateNumber, 16);
    status.writeInt32LE(model.error | 0, 20);
    status.writeInt32LE(model.extendedError | 0, 24);
    this.#call(model, status);
    // dosvc may make several calls at once: one made earlier can arrive after a later one.
    const earlier = this.#lastStatus.get(model.id);
    const moved = earlier !== undefined && earlier.readInt32LE(16) !== model.stateNumber;
    if (this.faults.lateStatus && moved && (model.state === 'transferred' || model.state === 'paused')) this.#call(model, earlier);
    this.#lastStatus.set(model.id, status);
  }

  #call(model: DownloadModel, status: Buffer): void {
    const callback = model.callback;
    if (callback === undefined || this.faults.silent) return;
    // Held for the call, as an RPC stub holds its object.
    invokeSync(callback, IUnknown.method('AddRef'));
    const download = createDownloadObject(this.#core, model);
    const lane = (this.#lanes.get(model.id) ?? Promise.resolve())
      .then(async () => {
        await invokeAsync(callback, IDODownloadStatusCallback.method('OnStatusChange'), download.address, status);
      })
      .catch((error: unknown) => void this.#bugs.push(error))
      .finally(() => {
        download.release();
        invokeSync(callback, IUnknown.method('Release'));
      });
    this.#lanes.set(model.id, lane);
  }

  /** Resolves when every status call queued so far has returned. */
  async settled(): Promise<void> {
    await Promise.all(this.#lanes.values());
  }

  /**
   * The service restarts (a reboot, dosvc restarting): objects handed out before answer
   * RPC_S_SERVER_UNAVAILABLE for good, callbacks are forgotten, and only NonVolatile downloads
   * survive (do-com.md: the default keeps a download in the service's memory only), Paused if they
   * were transferring.
   */
  async restart(): Promise<void> {
    this.#generation++;
    for (const model of [...this.#downloads.values()]) {
      if (model.flag('NonVolatile') && !model.final) {
        model.survivesRestart();
      } else {
        this.#downloads.delete(model.id);
        await model.discard();
      }
    }
    await this.settled();
  }

  /** Stops every transfer and lets go of every callback (the end of a test). */
  async close(): Promise<void> {
    for (const model of this.#downloads.values()) await model.discard();
    await this.settled();
    rmSync(this.#cacheDir, { recursive: true, force: true });
  }

  /** Nothing leaked: no object held, no BSTR or task string outstanding, no loopback bug. */
  assertNoLeaks(): void {
    expect(this.#live, 'loopback DO objects still held').toEqual({ managers: 0, downloads: 0, enumerators: 0 });
    expect(this.automation.outstanding, 'BSTRs never freed').toBe(0);
    expect(this.automation.badFrees, 'BSTRs freed twice').toBe(0);
    expect(this.taskMemory.outstanding, 'task strings never freed').toBe(0);
    expect(handlerErrors.slice(this.#handlerErrorsAtStart), 'exceptions in loopback handlers').toEqual([]);
    expect(this.#bugs, 'loopback DO failures').toEqual([]);
  }
}
