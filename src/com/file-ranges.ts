import koffi from 'koffi';
import { InvalidArgumentError } from './errors.js';
import { BG_FILE_RANGE, BG_LENGTH_TO_EOF, toBigInt, type Pointer } from './native-types.js';
import type { ComRuntime } from './runtime.js';
import { checkByteCount } from './validate.js';

/**
 * Byte ranges of a remote file (BG_FILE_RANGE, bits2_0.h), checked as BITS would refuse them, and
 * encoded as the array AddFileWithRanges reads; and the arrays services return, decoded.
 */

/** A range of the remote file; without `length` it runs to the end of the file (BG_LENGTH_TO_EOF). */
export interface FileRange {
  readonly offset: number;
  readonly length?: number;
}

/** Where a range ends (exclusive); a range to the end of the file ends nowhere. */
const endOf = (range: FileRange): number => (range.length === undefined ? Number.POSITIVE_INFINITY : range.offset + range.length);

/**
 * The ranges of one file (`field` names them, e.g. `files[0].ranges`, and each `files[0].ranges[2]`):
 * at least one (RangeCount 0 is E_INVALIDARG), whole byte counts, none empty, none overlapping another
 * (BG_E_OVERLAPPING_RANGES), in the caller's order, which is the order they land in the local file.
 * `overlapping: 'allowed'` for IBackgroundCopyFile6::RequestFileRanges, which splits overlaps itself.
 */
export function checkFileRanges(value: unknown, field: string, overlapping: 'refused' | 'allowed' = 'refused'): FileRange[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, 'expected an array of { offset, length? }');
  if (value.length === 0) throw new InvalidArgumentError(field, 'must hold at least one range');
  const ranges = value.map((range: unknown, index): FileRange => {
    const at = `${field}[${index}]`;
    if (typeof range !== 'object' || range === null) throw new InvalidArgumentError(at, 'expected { offset, length? }');
    const given = range as Partial<Record<keyof FileRange, unknown>>;
    const offset = checkByteCount(given.offset, `${at}.offset`);
    if (given.length === undefined) return { offset };
    const length = checkByteCount(given.length, `${at}.length`);
    if (length === 0) throw new InvalidArgumentError(`${at}.length`, 'is 0: an empty range transfers nothing (omit length for "to the end of the file")');
    if (!Number.isSafeInteger(offset + length)) throw new InvalidArgumentError(`${at}.length`, 'runs past the largest byte offset rx-bits can express');
    return { offset, length };
  });
  if (overlapping === 'allowed') return ranges;
  // Sorted by offset, each range must end where the next one starts or before.
  const order = ranges.map((_, index) => index).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
  for (let k = 1; k < order.length; k++) {
    const [before, after] = [order[k - 1]!, order[k]!];
    if (endOf(ranges[before]!) > ranges[after]!.offset) {
      const [first, second] = before < after ? [before, after] : [after, before];
      throw new InvalidArgumentError(`${field}[${second}]`, `overlaps ${field}[${first}]; BITS takes no overlapping ranges (merge them)`);
    }
  }
  return ranges;
}

/** The ranges as a BG_FILE_RANGE array in a caller-owned buffer. */
export function encodeFileRanges(ranges: readonly FileRange[]): Buffer {
  const size = koffi.sizeof(BG_FILE_RANGE);
  const buffer = Buffer.alloc(size * ranges.length);
  ranges.forEach((range, index) => {
    buffer.writeBigUInt64LE(BigInt(range.offset), index * size + koffi.offsetof(BG_FILE_RANGE, 'InitialOffset'));
    buffer.writeBigUInt64LE(range.length === undefined ? BG_LENGTH_TO_EOF : BigInt(range.length), index * size + koffi.offsetof(BG_FILE_RANGE, 'Length'));
  });
  return buffer;
}

/** A BG_FILE_RANGE array the caller does not own, copied out; `length` is left out for BG_LENGTH_TO_EOF. */
export function decodeFileRanges(address: Pointer, count: number): FileRange[] {
  const raw = count === 0 ? [] : (koffi.decode(address, BG_FILE_RANGE, count) as Array<{ InitialOffset: number | bigint; Length: number | bigint }>);
  return raw.map((range) => {
    const offset = Number(range.InitialOffset);
    const length = toBigInt(range.Length);
    return length === BG_LENGTH_TO_EOF ? { offset } : { offset, length: Number(length) };
  });
}

/**
 * The BG_FILE_RANGE array a service returned in task memory (GetFileRanges, GetFilledFileRanges),
 * decoded and freed. A NULL array is no ranges.
 */
export function takeFileRanges(runtime: Pick<ComRuntime, 'freeTaskMemory'>, address: Pointer, count: number): FileRange[] {
  if (address === 0n) return [];
  try {
    return decodeFileRanges(address, count);
  } finally {
    runtime.freeTaskMemory(address);
  }
}
