import koffi, { type TypeObject } from 'koffi';

/**
 * The C types that appear in the interface prototypes (bits.h, bits3_0.h, deliveryoptimization.h).
 * koffi keeps named types in one process-wide registry, so each is declared at most once even if
 * this module is loaded twice (the ESM and CommonJS builds side by side).
 */
function once(name: string, declare: () => TypeObject): TypeObject {
  try {
    return koffi.type(name);
  } catch {
    return declare();
  }
}

// Named for the prototypes and structs below, which refer to them by name.
once('HRESULT', () => koffi.alias('HRESULT', 'int32'));
once('GUID', () => koffi.struct('GUID', { Data1: 'uint32', Data2: 'uint16', Data3: 'uint16', Data4: koffi.array('uint8', 8) }));
once('FILETIME', () => koffi.struct('FILETIME', { dwLowDateTime: 'uint32', dwHighDateTime: 'uint32' }));
once('BG_FILE_RANGE', () => koffi.struct('BG_FILE_RANGE', { InitialOffset: 'uint64', Length: 'uint64' }));

/** @internal */
export const BG_JOB_PROGRESS = once('BG_JOB_PROGRESS', () =>
  koffi.struct('BG_JOB_PROGRESS', {
    BytesTotal: 'uint64',
    BytesTransferred: 'uint64',
    FilesTotal: 'uint32',
    FilesTransferred: 'uint32',
  }),
);

/** @internal */
export const BG_FILE_PROGRESS = once('BG_FILE_PROGRESS', () =>
  koffi.struct('BG_FILE_PROGRESS', { BytesTotal: 'uint64', BytesTransferred: 'uint64', Completed: 'int32' }),
);

/** @internal */
export const BG_JOB_TIMES = once('BG_JOB_TIMES', () =>
  koffi.struct('BG_JOB_TIMES', {
    CreationTime: 'FILETIME',
    ModificationTime: 'FILETIME',
    TransferCompletionTime: 'FILETIME',
  }),
);

/** @internal */
export const BG_FILE_INFO = once('BG_FILE_INFO', () =>
  koffi.struct('BG_FILE_INFO', { RemoteName: 'char16_t *', LocalName: 'char16_t *' }),
);

export const POINTER_SIZE = koffi.sizeof('void *');

/** BG_SIZE_UNKNOWN: the value of BytesTotal until the service knows a file's size. */
export const BG_SIZE_UNKNOWN = 0xffffffffffffffffn;

/** A native address. koffi 3 represents pointers as BigInt; NULL is 0n (or null where koffi hands it to us). */
export type Pointer = bigint;

/** A zeroed buffer to receive one pointer-sized out-parameter (`T **`). */
export function pointerSlot(): Buffer {
  return Buffer.alloc(POINTER_SIZE);
}

export function readPointer(slot: Buffer, index = 0): Pointer {
  return POINTER_SIZE === 8 ? slot.readBigUInt64LE(index * 8) : BigInt(slot.readUInt32LE(index * 4));
}

/** Normalises a koffi `uint64` (number when small, BigInt when large) to BigInt. */
export function toBigInt(value: number | bigint): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

/** FILETIME ticks (100 ns since 1601-01-01) to a Date; 0 means "never" and gives undefined. */
export function fileTimeToDate(low: number, high: number): Date | undefined {
  const ticks = (BigInt(high) << 32n) | BigInt(low);
  if (ticks === 0n) return undefined;
  const EPOCH_DIFFERENCE_MS = 11644473600000n;
  return new Date(Number(ticks / 10000n - EPOCH_DIFFERENCE_MS));
}
