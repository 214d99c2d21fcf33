import koffi from 'koffi';
import { readVariant, VT } from '../../src/com/automation.js';
import type { ComObject } from '../../src/com/com-object.js';
import { IDODownload, IDODownloadStatusCallback } from '../../src/com/do-interfaces.js';
import { DO_DOWNLOAD_RANGES_INFO, DO_DOWNLOAD_STATUS, VARIANT_SIZE, VARIANT_VALUE_OFFSET } from '../../src/com/do-native-types.js';
import { encodeGuid } from '../../src/com/guid.js';
import { E_INVALIDARG, E_NOINTERFACE, S_OK } from '../../src/com/hresult.js';
import { IUnknown } from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import { pointerSlot, readPointer, type Pointer } from '../../src/com/native-types.js';
import { missing } from '../loopback/shared.js';
import type { DownloadModel } from './download-model.js';
import { countedDo, doClass, type DoServiceCore } from './shared.js';

/** IDODownload: a client's object for one download of the service. */

const downloadClass = doClass(IDODownload);

/**
 * What the caller's VARIANT holds, as the service's own copy: a BSTR copied into a string (the
 * caller frees its BSTR), an interface QueryInterface'd for the callback interface (as COM's
 * marshaler would ask), which gives the service its own reference.
 */
function ownCopy(core: DoServiceCore, variant: Pointer): ReturnType<typeof readVariant> | number {
  const buffer = Buffer.from(koffi.view(variant, VARIANT_SIZE).slice(0));
  const vt = buffer.readUInt16LE(0);
  // An interface sent as VT_DISPATCH (or anything DO does not take) is refused ([N]).
  if (![VT.EMPTY, VT.BSTR, VT.BOOL, VT.UNKNOWN, VT.UI4, VT.UI8].includes(vt as 0)) return E_INVALIDARG;
  const value = readVariant(core.automation, buffer);
  if (value.type !== 'unknown' || value.value === 0n) return value;
  const slot = pointerSlot();
  const hr = invokeSync(value.value, IUnknown.method('QueryInterface'), encodeGuid(IDODownloadStatusCallback.iid), slot);
  if (hr !== S_OK) return E_NOINTERFACE;
  return { type: 'unknown', value: readPointer(slot) };
}

/** Writes a property value into the caller's VARIANT; a BSTR is a new one the caller frees (VariantClear). */
function writeOut(core: DoServiceCore, out: Pointer, value: ReturnType<typeof readVariant>): void {
  const buffer = Buffer.alloc(VARIANT_SIZE);
  switch (value.type) {
    case 'empty':
      break;
    case 'bstr':
      buffer.writeUInt16LE(VT.BSTR, 0);
      buffer.writeBigUInt64LE(core.automation.sysAllocString(value.value), VARIANT_VALUE_OFFSET);
      break;
    case 'ui4':
      buffer.writeUInt16LE(VT.UI4, 0);
      buffer.writeUInt32LE(value.value, VARIANT_VALUE_OFFSET);
      break;
    case 'ui8':
      buffer.writeUInt16LE(VT.UI8, 0);
      buffer.writeBigUInt64LE(value.value, VARIANT_VALUE_OFFSET);
      break;
    case 'bool':
      buffer.writeUInt16LE(VT.BOOL, 0);
      buffer.writeInt16LE(value.value ? -1 : 0, VARIANT_VALUE_OFFSET);
      break;
    case 'unknown':
      invokeSync(value.value, IUnknown.method('AddRef'));
      buffer.writeUInt16LE(VT.UNKNOWN, 0);
      buffer.writeBigUInt64LE(value.value, VARIANT_VALUE_OFFSET);
      break;
  }
  koffi.encode(out, 'uint8', [...buffer], VARIANT_SIZE);
}

export function writeStatus(out: Pointer, model: DownloadModel): void {
  const { status } = model;
  koffi.encode(out, DO_DOWNLOAD_STATUS, {
    BytesTotal: status.bytesTotal,
    BytesTransferred: status.bytesTransferred,
    State: model.stateNumber,
    Error: status.error | 0,
    ExtendedError: status.extendedError | 0,
  });
}

export function createDownloadObject(core: DoServiceCore, model: DownloadModel): ComObject {
  return downloadClass.create({
    ...core.tracked('downloads'),
    methods: countedDo(core, IDODownload, {
      Start: (ranges) => {
        // Which form each Start took: the whole file (a block with RangeCount 0) or a resume (NULL).
        const rangeCount = missing(ranges) ? undefined : (koffi.decode(ranges, DO_DOWNLOAD_RANGES_INFO) as { RangeCount: number }).RangeCount;
        core.count(IDODownload, rangeCount === undefined ? 'Start(NULL)' : `Start(${rangeCount} ranges)`);
        return model.start(rangeCount);
      },
      Pause: () => model.pause(),
      Abort: () => model.abort(),
      Finalize: () => model.finalize(),
      GetStatus: (out) => {
        if (missing(out)) return E_INVALIDARG;
        writeStatus(out!, model);
        return S_OK;
      },
      GetProperty: (id, out) => {
        if (missing(out)) return E_INVALIDARG;
        const { hr, value } = model.getProperty(id);
        if (value !== undefined) writeOut(core, out!, value);
        return hr;
      },
      SetProperty: (id, value) => {
        if (missing(value)) return E_INVALIDARG;
        const copy = ownCopy(core, value!);
        if (typeof copy === 'number') return copy;
        const hr = model.setProperty(id, copy);
        // Refused: the reference the service took for it goes back.
        if (hr !== S_OK && copy.type === 'unknown' && copy.value !== 0n) invokeSync(copy.value, IUnknown.method('Release'));
        return hr;
      },
    }),
  });
}
