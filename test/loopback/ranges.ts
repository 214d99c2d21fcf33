import { readFileSync, writeFileSync } from 'node:fs';
import { BG_E_INVALID_RANGE } from '../../src/com/hresult.js';
import type { FileModel } from './job-model.js';
import { TransferFailure } from './transfer.js';

/**
 * A file added with ranges (IBackgroundCopyJob3::AddFileWithRanges): BITS fetches only the ranges and
 * writes them "back to back in the local file, in the given order" (bits-com-extended.md). The
 * loopback fetches the whole file, as it fetches every file, then keeps only the ranges: the local
 * file is the same, the bytes on the wire are not (a limit the README names).
 */

/** A BG_FILE_RANGE as decoded: `length` undefined for BG_LENGTH_TO_EOF. */
export interface LoopbackRange {
  readonly offset: number;
  readonly length: number | undefined;
}

/** Cuts the downloaded temporary file down to its ranges; a range starting past the end is BG_E_INVALID_RANGE (context REMOTE_FILE), as after Resume. */
export function keepRanges(file: FileModel, ranges: readonly LoopbackRange[]): void {
  const whole = readFileSync(file.tempPath);
  if (ranges.some((range) => range.offset >= whole.length || (range.length !== undefined && range.offset + range.length > whole.length))) {
    throw new TransferFailure(BG_E_INVALID_RANGE, 5, false);
  }
  const kept = Buffer.concat(ranges.map((range) => whole.subarray(range.offset, range.length === undefined ? undefined : range.offset + range.length)));
  writeFileSync(file.tempPath, kept);
  file.bytesTotal = kept.length;
  file.bytesTransferred = kept.length;
}
