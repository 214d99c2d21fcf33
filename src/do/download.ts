import koffi from 'koffi';
import { clearVariant, emptyVariant, makeVariant, readVariant, type OleAutomation, type VariantValue } from '../com/automation.js';
import type { ComPtr } from '../com/com-ptr.js';
import { DO_PROPERTIES, DO_STATES, IDODownload, type DoPropertyInfo, type DoPropertyName, type DoState } from '../com/do-interfaces.js';
import { DO_DOWNLOAD_RANGES_INFO, DO_DOWNLOAD_STATUS, DO_DOWNLOAD_STATUS_SIZE } from '../com/do-native-types.js';
import { nameOf } from '../com/enums.js';
import { toUnsignedHresult } from '../com/hresult.js';
import { IUnknown } from '../com/interfaces.js';
import { invokeSync } from '../com/invoke.js';
import type { Pointer } from '../com/native-types.js';
import type { DoStatusRecord } from '../com/receiver-core.js';

/**
 * One IDODownload, typed: properties by name with the VARIANT type DO gives each, and the status as
 * plain values. Every method is a call into DO on a call thread (ComPtr); the VARIANTs and BSTRs are
 * built and cleared here, so none outlives its call.
 */

/** DO_DOWNLOAD_STATUS, decoded. */
export interface DoStatus {
  /** 0 until DO knows the size (not UINT64_MAX as in BITS). */
  readonly bytesTotal: bigint;
  readonly bytesTransferred: bigint;
  readonly state: DoState;
  /** Unsigned HRESULTs: Error ≠ 0 is fatal; Paused with Error 0 and ExtendedError ≠ 0 is transient. */
  readonly error: number;
  readonly extendedError: number;
}

/** The VARIANT value type each property travels in, by property name. */
type ValueOf<N extends DoPropertyName> = (typeof DO_PROPERTIES)[N]['type'] extends 'bstr'
  ? string
  : (typeof DO_PROPERTIES)[N]['type'] extends 'ui4'
    ? number
    : (typeof DO_PROPERTIES)[N]['type'] extends 'ui8'
      ? bigint
      : (typeof DO_PROPERTIES)[N]['type'] extends 'bool'
        ? boolean
        : never;

/** Properties rx-bits sets: those whose values are strings, numbers or flags (no interfaces or byte arrays). */
export type SettableProperty = { [N in DoPropertyName]: ValueOf<N> extends never ? never : (typeof DO_PROPERTIES)[N]['access'] extends 'R' ? never : N }[DoPropertyName];
export type ReadableProperty = { [N in DoPropertyName]: ValueOf<N> extends never ? never : (typeof DO_PROPERTIES)[N]['access'] extends 'W' ? never : N }[DoPropertyName];

/** A status copied from OnStatusChange, in the same shape as GetStatus's. */
export function statusOf(record: DoStatusRecord): DoStatus {
  return { ...record, state: nameOf(DO_STATES, record.state, 'DODownloadState') };
}

function variantOf(name: DoPropertyName, value: string | number | bigint | boolean): VariantValue {
  switch (DO_PROPERTIES[name].type) {
    case 'bstr':
      return { type: 'bstr', value: String(value) };
    case 'ui4':
      return { type: 'ui4', value: Number(value) };
    case 'ui8':
      return { type: 'ui8', value: BigInt(value) };
    case 'bool':
      return { type: 'bool', value: Boolean(value) };
    default:
      throw new TypeError(`${name} is not a value property`);
  }
}

function propertyId(name: DoPropertyName): number {
  const info: DoPropertyInfo = DO_PROPERTIES[name];
  return info.id;
}

/** Start's first argument: a 24-byte DO_DOWNLOAD_RANGES_INFO with RangeCount 0, "the whole file" ([W], [C], [N]). */
function wholeFile(): Buffer {
  return Buffer.alloc(koffi.sizeof(DO_DOWNLOAD_RANGES_INFO));
}

export class DoDownload {
  constructor(
    readonly ptr: ComPtr<typeof IDODownload>,
    private readonly automation: OleAutomation,
  ) {}

  async setProperty<N extends SettableProperty>(name: N, value: ValueOf<N>): Promise<void> {
    await this.#set(name, variantOf(name, value));
  }

  /**
   * SetProperty(CallbackInterface): `callback` is our own object (the VARIANT carries a reference of
   * its own, which clearing it gives back), or null to detach ({VT_UNKNOWN, NULL}).
   */
  async setCallback(callback: Pointer | null): Promise<void> {
    // Our object, in this process: an AddRef on it is a few atomics, made here.
    if (callback !== null) invokeSync(callback, IUnknown.method('AddRef'));
    await this.#set('CallbackInterface', { type: 'unknown', value: callback ?? 0n });
  }

  async #set(name: DoPropertyName, value: VariantValue): Promise<void> {
    const variant = makeVariant(this.automation, value);
    try {
      await this.ptr.call('SetProperty', propertyId(name), variant);
    } finally {
      // SetProperty leaves its argument to the caller: the BSTR (or the reference) is ours to give back.
      clearVariant(this.automation, variant);
    }
  }

  async getProperty<N extends ReadableProperty>(name: N): Promise<ValueOf<N>> {
    const variant = emptyVariant(this.automation);
    try {
      await this.ptr.call('GetProperty', propertyId(name), variant);
      const value = readVariant(this.automation, variant);
      if (value.type === 'empty' || value.type === 'unknown') throw new TypeError(`${name}: DO answered a VARIANT of type ${value.type}`);
      return value.value as ValueOf<N>;
    } finally {
      clearVariant(this.automation, variant);
    }
  }

  async getStatus(): Promise<DoStatus> {
    const buffer = Buffer.alloc(DO_DOWNLOAD_STATUS_SIZE);
    await this.ptr.call('GetStatus', buffer);
    const raw = koffi.decode(buffer, DO_DOWNLOAD_STATUS) as { BytesTotal: number | bigint; BytesTransferred: number | bigint; State: number; Error: number; ExtendedError: number };
    return statusOf({
      bytesTotal: BigInt(raw.BytesTotal),
      bytesTransferred: BigInt(raw.BytesTransferred),
      state: raw.State,
      error: toUnsignedHresult(raw.Error),
      extendedError: toUnsignedHresult(raw.ExtendedError),
    });
  }

  /** The first Start asks for the whole file; a resume (after Pause, or after re-attaching) is Start(NULL). */
  async start(first: boolean): Promise<void> {
    await this.ptr.call('Start', first ? wholeFile() : null);
  }

  /** Answers the raw HRESULT: some cells of the state table answer a failure that is not one (do-com.md). */
  pause(): Promise<number> {
    return this.ptr.callRaw('Pause');
  }

  abort(): Promise<number> {
    return this.ptr.callRaw('Abort');
  }

  finalize(): Promise<number> {
    return this.ptr.callRaw('Finalize');
  }

  release(): Promise<void> {
    return this.ptr.release();
  }
}
