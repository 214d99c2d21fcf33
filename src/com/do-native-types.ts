import koffi, { type TypeObject } from 'koffi';

/**
 * The C structures of Delivery Optimization's own COM API (deliveryoptimization.h) and OLE
 * Automation's VARIANT, as koffi types. Declared once per thread under their SDK names (koffi's type
 * registry is per thread): the call threads and the receiver import this module too, since the
 * prototypes they parse name these types. Layouts are x64's (do-com.md, "Structures").
 */
function once(name: string, declare: () => TypeObject): TypeObject {
  try {
    return koffi.type(name);
  } catch {
    return declare();
  }
}

/** @internal DO_DOWNLOAD_STATUS: 32 bytes, align 8 (the last 4 are padding). */
export const DO_DOWNLOAD_STATUS = once('DO_DOWNLOAD_STATUS', () =>
  koffi.struct('DO_DOWNLOAD_STATUS', {
    BytesTotal: 'uint64',
    BytesTransferred: 'uint64',
    State: 'int32',
    Error: 'int32',
    ExtendedError: 'int32',
  }),
);

/** @internal DO_DOWNLOAD_RANGE. */
export const DO_DOWNLOAD_RANGE = once('DO_DOWNLOAD_RANGE', () => koffi.struct('DO_DOWNLOAD_RANGE', { Offset: 'uint64', Length: 'uint64' }));

/** @internal DO_DOWNLOAD_RANGES_INFO as MIDL declares it (`Ranges[1]`): sizeof 24. */
export const DO_DOWNLOAD_RANGES_INFO = once('DO_DOWNLOAD_RANGES_INFO', () =>
  koffi.struct('DO_DOWNLOAD_RANGES_INFO', { RangeCount: 'uint32', Ranges: koffi.array('DO_DOWNLOAD_RANGE', 1) }),
);

/** @internal DO_DOWNLOAD_ENUM_CATEGORY: the property, 4 bytes of padding, the string's address. */
export const DO_DOWNLOAD_ENUM_CATEGORY = once('DO_DOWNLOAD_ENUM_CATEGORY', () =>
  koffi.struct('DO_DOWNLOAD_ENUM_CATEGORY', { Property: 'int32', Value: 'void *' }),
);

/**
 * @internal VARIANT, as the fields rx-bits uses: the type tag, three reserved words, and the value
 * union read as one 64-bit cell (24 bytes on x64). Read and written by offset in variant.ts.
 */
export const VARIANT = once('VARIANT', () =>
  koffi.struct('VARIANT', { vt: 'uint16', wReserved1: 'uint16', wReserved2: 'uint16', wReserved3: 'uint16', value: 'uint64', extra: 'uint64' }),
);

export const DO_DOWNLOAD_STATUS_SIZE = koffi.sizeof(DO_DOWNLOAD_STATUS);
export const VARIANT_SIZE = koffi.sizeof(VARIANT);
/** Offset of the value union in a VARIANT. */
export const VARIANT_VALUE_OFFSET = 8;
