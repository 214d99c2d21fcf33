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

/** @internal bits1_5.h: GetReplyProgress's out-parameter. */
export const BG_JOB_REPLY_PROGRESS = once('BG_JOB_REPLY_PROGRESS', () =>
  koffi.struct('BG_JOB_REPLY_PROGRESS', { BytesTotal: 'uint64', BytesTransferred: 'uint64' }),
);

// BG_AUTH_CREDENTIALS_UNION has one member, BG_BASIC_CREDENTIALS, used for all five schemes: a
// struct of that member has the union's size and alignment (bits-com-extended.md, "Structs and unions").
once('BG_BASIC_CREDENTIALS', () => koffi.struct('BG_BASIC_CREDENTIALS', { UserName: 'char16_t *', Password: 'char16_t *' }));

/** @internal bits1_5.h: SetCredentials's argument (x64: 24 bytes, the strings at 8 and 16). */
export const BG_AUTH_CREDENTIALS = once('BG_AUTH_CREDENTIALS', () =>
  koffi.struct('BG_AUTH_CREDENTIALS', { Target: 'int32', Scheme: 'int32', Credentials: 'BG_BASIC_CREDENTIALS' }),
);

/** @internal bits2_0.h: one byte range of a file (AddFileWithRanges; 16 bytes, array stride 16). */
export const BG_FILE_RANGE = once('BG_FILE_RANGE', () => koffi.struct('BG_FILE_RANGE', { InitialOffset: 'uint64', Length: 'uint64' }));

/**
 * @internal bits5_0.h's BITS_JOB_PROPERTY_VALUE union (16 bytes, 8-aligned on x64 and x86), as the
 * opaque two-word struct of the same size and alignment: SetProperty takes it BY VALUE, and koffi
 * passes this struct exactly as a C compiler passes the union (x64 Windows: a pointer to a copy;
 * x86: 16 bytes on the stack; SysV and ARM64: two registers). The member's bytes are laid out by
 * job-properties.ts (Dword, Enable and Target at 0-3, Uint64 at 0-7, ClsID at 0-15).
 */
export const BITS_JOB_PROPERTY_VALUE = once('BITS_JOB_PROPERTY_VALUE', () => koffi.struct('BITS_JOB_PROPERTY_VALUE', { lo: 'uint64', hi: 'uint64' }));

export const POINTER_SIZE = koffi.sizeof('void *');

/** BG_SIZE_UNKNOWN: the value of BytesTotal until the service knows a file's size. */
export const BG_SIZE_UNKNOWN = 0xffffffffffffffffn;

/** BG_LENGTH_TO_EOF (bits2_0.h): a BG_FILE_RANGE's Length meaning "to the end of the file"; the same (UINT64)-1. */
export const BG_LENGTH_TO_EOF = BG_SIZE_UNKNOWN;

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
