import koffi from 'koffi';
import { ComError } from './errors.js';
import { isFailure } from './hresult.js';
import { VARIANT_SIZE, VARIANT_VALUE_OFFSET } from './do-native-types.js';
import type { Pointer } from './native-types.js';

/**
 * OLE Automation's strings and variants (oleaut32), which Delivery Optimization's properties travel
 * in. On Windows these are oleaut32's exports; a test runtime provides its own and counts what is
 * allocated, so a test can prove that nothing leaked (as the task allocator does for BITS's strings).
 */
export interface OleAutomation {
  /** SysAllocString: a BSTR copy of `text`, owned by the caller. */
  sysAllocString(text: string): Pointer;
  /** SysFreeString; NULL is a no-op. */
  sysFreeString(bstr: Pointer): void;
  /** SysStringLen: its length in UTF-16 units, from the prefix (a BSTR may hold NULs). */
  sysStringLen(bstr: Pointer): number;
  /** VariantInit: VT_EMPTY. */
  variantInit(variant: Buffer): void;
  /** VariantClear: frees a BSTR, releases an interface; answers an HRESULT. */
  variantClear(variant: Buffer): number;
}

/** VARTYPE values of the variants DO's properties use (do-com.md, "Structures"). */
export const VT = { EMPTY: 0, BSTR: 8, BOOL: 11, UNKNOWN: 13, UI4: 19, UI8: 21 } as const;
const VARIANT_TRUE = -1;

/** A property value as rx-bits reads and writes it. */
export type VariantValue =
  | { readonly type: 'empty' }
  | { readonly type: 'bstr'; readonly value: string }
  | { readonly type: 'ui4'; readonly value: number }
  | { readonly type: 'ui8'; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  /** An interface pointer: the VARIANT owns one reference on it, which VariantClear gives back. */
  | { readonly type: 'unknown'; readonly value: Pointer };

/** The text of a BSTR (its length from the prefix); NULL is the empty string, as COM treats it. */
export function readBstr(automation: OleAutomation, bstr: Pointer): string {
  if (bstr === 0n) return '';
  const length = automation.sysStringLen(bstr);
  return length === 0 ? '' : (koffi.decode(bstr, 'char16_t', length) as string);
}

/**
 * A VARIANT holding `value`, built for SetProperty: it owns what it holds (a new BSTR, or the
 * reference the caller gave for an interface), so the caller clears it with {@link clearVariant}
 * after the call, as SetProperty leaves its argument to the caller.
 */
export function makeVariant(automation: OleAutomation, value: VariantValue): Buffer {
  const variant = Buffer.alloc(VARIANT_SIZE);
  automation.variantInit(variant);
  switch (value.type) {
    case 'empty':
      return variant;
    case 'bstr': {
      const bstr = automation.sysAllocString(value.value);
      if (bstr === 0n) throw new ComError(0x8007000e, 'oleaut32', 'SysAllocString');
      variant.writeUInt16LE(VT.BSTR, 0);
      variant.writeBigUInt64LE(bstr, VARIANT_VALUE_OFFSET);
      return variant;
    }
    case 'ui4':
      variant.writeUInt16LE(VT.UI4, 0);
      variant.writeUInt32LE(value.value, VARIANT_VALUE_OFFSET);
      return variant;
    case 'ui8':
      variant.writeUInt16LE(VT.UI8, 0);
      variant.writeBigUInt64LE(value.value, VARIANT_VALUE_OFFSET);
      return variant;
    case 'bool':
      variant.writeUInt16LE(VT.BOOL, 0);
      variant.writeInt16LE(value.value ? VARIANT_TRUE : 0, VARIANT_VALUE_OFFSET);
      return variant;
    case 'unknown':
      variant.writeUInt16LE(VT.UNKNOWN, 0);
      variant.writeBigUInt64LE(value.value, VARIANT_VALUE_OFFSET);
      return variant;
  }
}

/** An empty VARIANT for GetProperty to fill (VariantInit'd), cleared by the caller after reading. */
export function emptyVariant(automation: OleAutomation): Buffer {
  return makeVariant(automation, { type: 'empty' });
}

/**
 * What a VARIANT a service filled holds. A BSTR is copied out (the VARIANT keeps it until cleared);
 * an interface pointer is not taken: the caller adds a reference before clearing, if it keeps it.
 */
export function readVariant(automation: OleAutomation, variant: Buffer): VariantValue {
  const vt = variant.readUInt16LE(0);
  switch (vt) {
    case VT.EMPTY:
      return { type: 'empty' };
    case VT.BSTR:
      return { type: 'bstr', value: readBstr(automation, variant.readBigUInt64LE(VARIANT_VALUE_OFFSET)) };
    case VT.UI4:
      return { type: 'ui4', value: variant.readUInt32LE(VARIANT_VALUE_OFFSET) };
    case VT.UI8:
      return { type: 'ui8', value: variant.readBigUInt64LE(VARIANT_VALUE_OFFSET) };
    case VT.BOOL:
      return { type: 'bool', value: variant.readInt16LE(VARIANT_VALUE_OFFSET) !== 0 };
    case VT.UNKNOWN:
      return { type: 'unknown', value: variant.readBigUInt64LE(VARIANT_VALUE_OFFSET) };
    default:
      throw new RangeError(`a VARIANT of type ${vt}, which no Delivery Optimization property has`);
  }
}

/** VariantClear, a failure as a {@link ComError}. */
export function clearVariant(automation: OleAutomation, variant: Buffer): void {
  const hr = automation.variantClear(variant);
  if (isFailure(hr)) throw new ComError(hr, 'oleaut32', 'VariantClear');
}

/** oleaut32.dll's exports. @internal */
export function loadOleAutomation(): OleAutomation {
  const lib = koffi.load('oleaut32.dll');
  const SysAllocString = lib.func('void * __stdcall SysAllocString(const char16_t *text)') as (text: string) => Pointer | null;
  const SysFreeString = lib.func('void __stdcall SysFreeString(void *bstr)') as (bstr: Pointer) => void;
  const SysStringLen = lib.func('uint32 __stdcall SysStringLen(void *bstr)') as (bstr: Pointer) => number;
  const VariantInit = lib.func('void __stdcall VariantInit(_Out_ VARIANT *variant)') as (variant: Buffer) => void;
  const VariantClear = lib.func('int32 __stdcall VariantClear(VARIANT *variant)') as (variant: Buffer) => number;
  // Each one is in-process and quick (memory only; an interface's Release is the caller's to time):
  // made on the calling thread.
  return {
    sysAllocString: (text) => SysAllocString(text) ?? 0n,
    sysFreeString: (bstr) => SysFreeString(bstr),
    sysStringLen: (bstr) => SysStringLen(bstr),
    variantInit: (variant) => VariantInit(variant),
    variantClear: (variant) => VariantClear(variant),
  };
}
