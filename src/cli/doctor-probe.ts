import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import type { Backend } from '../com/backend.js';
import { BITS_VERSIONS } from '../com/bits-versions.js';
import { ComPtr } from '../com/com-ptr.js';
import { ComError, UnsupportedPlatformError } from '../com/errors.js';
import { IBackgroundCopyManager } from '../com/interfaces.js';
import { connect } from '../com/manager.js';
import { defaultRuntime, type ComRuntime } from '../com/runtime.js';
import { defaultStateDir } from '../engine/state-dir.js';
import { PROXY_VARIABLES } from '../engine/proxy.js';
import { isLive, parseLockRecord } from '../engine/store-lock.js';

/**
 * What `rx-bits doctor` finds out, as raw facts: each probe catches its own failure and records it,
 * so probing never throws. doctor-report.ts turns these facts into the report; nothing there touches
 * the system, so every branch of it can be checked with made-up probes.
 */

/** How one attempt to reach a service went. */
export type Attempt =
  | { readonly ok: true }
  /** The service (or COM) answered a failure HRESULT. */
  | { readonly ok: false; readonly kind: 'com'; readonly hresult: number; readonly message: string }
  /** Not Windows and no COM runtime injected: nothing was asked. */
  | { readonly ok: false; readonly kind: 'unsupported'; readonly message: string }
  /** Anything else: no COM runtime could be loaded, the call did not answer in time... */
  | { readonly ok: false; readonly kind: 'error'; readonly message: string };

/** CoCreateInstance of one versioned class id. */
export interface VersionAttempt {
  readonly version: string;
  readonly attempt: Attempt;
}

export type ApartmentProbe =
  | { readonly kind: 'not-windows' }
  /** CoGetApartmentType of the JS thread answered. */
  | { readonly kind: 'type'; readonly type: number; readonly qualifier: number }
  | { readonly kind: 'failed'; readonly hresult: number | undefined; readonly message: string };

export type LockProbe =
  | { readonly readable: false }
  | {
      readonly readable: true;
      readonly pid: number;
      readonly hostname: string;
      readonly startedAt: string;
      /** The store's own judgement (store-lock.ts `isLive`): a live holder makes connecting fail. */
      readonly live: boolean;
      /** This very process holds it (an engine it opened earlier). */
      readonly thisProcess: boolean;
    };

export interface StateDirProbe {
  readonly path: string;
  /** Named with --state-dir rather than the platform's default. */
  readonly explicit: boolean;
  readonly exists: boolean;
  /** Something that is not a folder is in the way. */
  readonly notDirectory: boolean;
  /** The folder, or the nearest existing folder above it (where it would be created), may be written. */
  readonly writable: boolean | undefined;
  /** Undefined: no lock file, nobody holds it. */
  readonly lock: LockProbe | undefined;
  /** Job records (`jobs/*.json`); undefined when there is no jobs folder. */
  readonly jobRecords: number | undefined;
  /** What could not be read. */
  readonly error: string | undefined;
}

export interface DoctorProbe {
  readonly system: {
    readonly platform: NodeJS.Platform;
    readonly release: string;
    readonly arch: string;
    readonly node: string;
    readonly rxBits: string | undefined;
    /** Wine's version when this Windows process runs under Wine (ntdll's wine_get_version). */
    readonly wine: string | undefined;
  };
  /** Where COM comes from: ole32 ('platform'), the caller ('injected'), or nowhere. */
  readonly runtime: 'platform' | 'injected' | 'none';
  readonly backendAsked: Backend | undefined;
  readonly bits: Attempt;
  /** Newest first, up to the first that answered; empty when BITS itself was not reachable. */
  readonly bitsVersions: readonly VersionAttempt[];
  readonly deliveryOptimization: Attempt;
  readonly apartment: ApartmentProbe;
  /** The proxy variables the portable engine reads, as set (undefined: not set). */
  readonly proxyEnvironment: Readonly<Record<ProxyVariable, string | undefined>>;
  readonly stateDir: StateDirProbe;
}

/** Every variable the portable engine reads for its proxy (src/engine/proxy.ts). */
export const PROXY_VARIABLE_NAMES = Object.values(PROXY_VARIABLES).flat();
export type ProxyVariable = (typeof PROXY_VARIABLE_NAMES)[number];

export interface ProbeOptions {
  /** An injected COM runtime (tests); otherwise ole32 on Windows, and nothing elsewhere. */
  readonly runtime?: ComRuntime | undefined;
  readonly stateDir?: string | undefined;
  readonly backend?: Backend | undefined;
  /** How long one service may take to answer; starting BITS takes a second or two. */
  readonly timeoutMs?: number;
}

const TIMEOUT_MS = 30_000;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failure(error: unknown): Attempt {
  if (error instanceof ComError) return { ok: false, kind: 'com', hresult: error.hresult, message: error.message };
  if (error instanceof UnsupportedPlatformError) return { ok: false, kind: 'unsupported', message: error.message };
  return { ok: false, kind: 'error', message: describe(error) };
}

/** `work`, or a rejection when it does not settle in time (the timer never keeps the process alive). */
function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function attemptConnect(backend: Backend, runtime: ComRuntime, timeoutMs: number): Promise<Attempt> {
  try {
    const manager = await withTimeout(connect({ backend, runtime }), timeoutMs, `CoCreateInstance of ${backend}`);
    await manager.release();
    return { ok: true };
  } catch (error) {
    return failure(error);
  }
}

/** The versioned class ids, newest first, until one answers; the manager it hands out is released at once. */
async function probeVersions(runtime: ComRuntime, timeoutMs: number): Promise<VersionAttempt[]> {
  const tried: VersionAttempt[] = [];
  for (const entry of [...BITS_VERSIONS].reverse()) {
    if (entry.version === '1.0') break; // the plain class id, which connect() already reached
    try {
      const address = await withTimeout(runtime.createInstance(entry.clsid, IBackgroundCopyManager.iid), timeoutMs, `CoCreateInstance of BITS ${entry.version}`);
      await ComPtr.adopt(address, IBackgroundCopyManager).release();
      tried.push({ version: entry.version, attempt: { ok: true } });
      break;
    } catch (error) {
      tried.push({ version: entry.version, attempt: failure(error) });
    }
  }
  return tried;
}

/** ntdll's wine_get_version, which only Wine exports. */
function wineVersion(): string | undefined {
  try {
    const ntdll = koffi.load('ntdll.dll');
    const getVersion = ntdll.func('const char *wine_get_version()') as () => string | null;
    return getVersion() ?? undefined;
  } catch {
    return undefined;
  }
}

const CO_E_NOTINITIALIZED = 0x800401f0;

/**
 * CoGetApartmentType of the JS thread: only reads, never initializes COM on the thread. Before any
 * connect() the thread is in no apartment (CO_E_NOTINITIALIZED); after one it belongs to rx-bits'
 * multithreaded apartment implicitly.
 */
function apartmentOfThisThread(): ApartmentProbe {
  try {
    const ole32 = koffi.load('ole32.dll');
    const getType = ole32.func('int __stdcall CoGetApartmentType(_Out_ int *type, _Out_ int *qualifier)') as (type: number[], qualifier: number[]) => number;
    const type = [0];
    const qualifier = [0];
    const hr = getType(type, qualifier) >>> 0;
    if (hr !== 0) {
      return { kind: 'failed', hresult: hr, message: hr === CO_E_NOTINITIALIZED ? 'COM is not initialized on this thread' : 'CoGetApartmentType failed' };
    }
    return { kind: 'type', type: type[0] ?? -1, qualifier: qualifier[0] ?? 0 };
  } catch (error) {
    return { kind: 'failed', hresult: undefined, message: describe(error) };
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

async function writable(folder: string): Promise<boolean> {
  try {
    await access(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder at or above `target` that exists: where creating `target` would start. */
async function nearestExisting(target: string): Promise<string | undefined> {
  for (let folder = target; ; folder = path.dirname(folder)) {
    try {
      if ((await stat(folder)).isDirectory()) return folder;
      return undefined;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') return undefined;
    }
    if (path.dirname(folder) === folder) return undefined;
  }
}

/** The state directory as the engine would find it, read without creating anything or taking the lock. */
export async function probeStateDir(directory: string, explicit: boolean): Promise<StateDirProbe> {
  const resolved = path.resolve(directory);
  const base = { path: resolved, explicit, exists: false, notDirectory: false, writable: undefined, lock: undefined, jobRecords: undefined, error: undefined };
  try {
    let stats;
    try {
      stats = await stat(resolved);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') throw error;
      const above = await nearestExisting(path.dirname(resolved));
      return { ...base, writable: above === undefined ? false : await writable(above) };
    }
    if (!stats.isDirectory()) return { ...base, notDirectory: true, writable: false };
    let lock: LockProbe | undefined;
    try {
      const record = parseLockRecord(await readFile(path.join(resolved, 'lock'), 'utf8'));
      if (record === undefined) lock = { readable: false };
      else {
        const live = isLive(record);
        const thisProcess = live && record.pid === process.pid && record.hostname === os.hostname();
        lock = { readable: true, pid: record.pid, hostname: record.hostname, startedAt: record.startedAt, live, thisProcess };
      }
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') lock = { readable: false };
    }
    let jobRecords: number | undefined;
    try {
      jobRecords = (await readdir(path.join(resolved, 'jobs'))).filter((name) => name.endsWith('.json')).length;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    return { ...base, exists: true, writable: await writable(resolved), lock, jobRecords };
  } catch (error) {
    return { ...base, error: describe(error) };
  }
}

/** The file this function is defined in (the CommonJS build has no import.meta, an ES module no __dirname). */
function ownFile(): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    const file = sites[0]?.getFileName() ?? undefined;
    return file?.startsWith('file:') === true ? fileURLToPath(file) : file;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}

/** rx-bits' version, from the package.json above this file (src/cli or dist/cjs/cli). */
async function ownVersion(): Promise<string | undefined> {
  const file = ownFile();
  if (file === undefined) return undefined;
  for (let folder = path.dirname(file); path.dirname(folder) !== folder; folder = path.dirname(folder)) {
    try {
      const json = JSON.parse(await readFile(path.join(folder, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (json.name === 'rx-bits' && typeof json.version === 'string') return json.version;
    } catch {
      // No package.json here, or another one (dist/cjs has a marker without a name): look further up.
    }
  }
  return undefined;
}

/** Everything doctor reports, found out in order: BITS, its versions, Delivery Optimization, the rest. */
export async function probe(options: ProbeOptions = {}): Promise<DoctorProbe> {
  const platform = process.platform;
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  let runtime: ComRuntime | undefined = options.runtime;
  let runtimeProblem: Attempt | undefined;
  if (runtime === undefined && platform === 'win32') {
    try {
      runtime = defaultRuntime();
    } catch (error) {
      runtimeProblem = failure(error);
    }
  }
  const source = options.runtime !== undefined ? 'injected' : runtime !== undefined ? 'platform' : 'none';
  const unsupported: Attempt = runtimeProblem ?? { ok: false, kind: 'unsupported', message: `no COM on '${platform}'` };

  const bits = runtime === undefined ? unsupported : await attemptConnect('bits', runtime, timeoutMs);
  const bitsVersions = runtime !== undefined && bits.ok ? await probeVersions(runtime, timeoutMs) : [];
  const deliveryOptimization = runtime === undefined ? unsupported : await attemptConnect('delivery-optimization', runtime, timeoutMs);
  const env = process.env;
  const proxyEnvironment = Object.fromEntries(PROXY_VARIABLE_NAMES.map((name) => [name, env[name]])) as Record<ProxyVariable, string | undefined>;
  let stateDir: StateDirProbe;
  try {
    stateDir = await probeStateDir(options.stateDir ?? defaultStateDir(), options.stateDir !== undefined);
  } catch (error) {
    // No home folder to put the default under (os.homedir() throws without HOME and a user entry).
    stateDir = { path: '', explicit: false, exists: false, notDirectory: false, writable: undefined, lock: undefined, jobRecords: undefined, error: describe(error) };
  }
  return {
    system: {
      platform,
      release: os.release(),
      arch: process.arch,
      node: process.version,
      rxBits: await ownVersion(),
      wine: platform === 'win32' ? wineVersion() : undefined,
    },
    runtime: source,
    backendAsked: options.backend,
    bits,
    bitsVersions,
    deliveryOptimization,
    apartment: platform === 'win32' ? apartmentOfThisThread() : { kind: 'not-windows' },
    proxyEnvironment,
    stateDir,
  };
}
