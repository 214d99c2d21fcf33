import { checkFileRanges, encodeFileRanges, takeFileRanges, type FileRange } from './file-ranges.js';
import { IBackgroundCopyFile6 } from './interfaces.js';
import type { JobHost } from './job-host.js';
import { pointerSlot, readPointer } from './native-types.js';
import { checkByteCount } from './validate.js';

/**
 * IBackgroundCopyFile6 (BITS 10.1): on-demand reads of a file while it downloads, each through
 * `withInterface` on the file object after its input was checked. The service refuses them with
 * BG_E_RANDOM_ACCESS_NOT_SUPPORTED for a job that cannot read at random (upload, SMB or local source,
 * dynamic content, a file with ranges, a server without range support).
 */

export async function updateDownloadPosition(file: JobHost, offset: number): Promise<void> {
  const checked = checkByteCount(offset, 'offset');
  await file.withInterface(IBackgroundCopyFile6, (file6) => file6.call('UpdateDownloadPosition', checked));
}

/** Overlapping ranges are allowed (BITS splits them); a range past the end of the file is the service's BG_E_INVALID_RANGE. */
export async function requestFileRanges(file: JobHost, ranges: readonly FileRange[]): Promise<void> {
  const checked = checkFileRanges(ranges, 'ranges', 'allowed');
  await file.withInterface(IBackgroundCopyFile6, (file6) => file6.call('RequestFileRanges', checked.length, encodeFileRanges(checked)));
}

export async function getFilledFileRanges(file: JobHost): Promise<FileRange[]> {
  const count = Buffer.alloc(4);
  const slot = pointerSlot();
  await file.withInterface(IBackgroundCopyFile6, (file6) => file6.call('GetFilledFileRanges', count, slot));
  return takeFileRanges(file.runtime, readPointer(slot), count.readUInt32LE());
}
