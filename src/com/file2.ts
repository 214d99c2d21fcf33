import { ComError } from './errors.js';
import { takeFileRanges, type FileRange } from './file-ranges.js';
import { E_NOTIMPL } from './hresult.js';
import { IBackgroundCopyFile2 } from './interfaces.js';
import type { JobHost } from './job-host.js';
import { pointerSlot, readPointer } from './native-types.js';
import { checkRemoteUrl } from './validate.js';

/**
 * IBackgroundCopyFile2 (BITS 2.0): a file's ranges and its remote name, each through `withInterface`
 * on the file object (a service without it is an InterfaceNotSupportedError) after its input was checked.
 */

/** The ranges the file was added with (AddFileWithRanges), in their order; [] for a whole file. */
export async function getFileRanges(file: JobHost): Promise<FileRange[]> {
  const count = Buffer.alloc(4);
  const slot = pointerSlot();
  await file.withInterface(IBackgroundCopyFile2, (file2) => file2.call('GetFileRanges', count, slot));
  return takeFileRanges(file.runtime, readPointer(slot), count.readUInt32LE());
}

/**
 * Moves the file to another URL, checked as `addFiles` checks one (E_INVALIDARG for a bad or over-long
 * URL). Upload jobs answer E_NOTIMPL; a job that left the queue, BG_E_INVALID_STATE.
 */
export async function setRemoteName(file: JobHost, url: string): Promise<void> {
  const checked = checkRemoteUrl(url, 'remoteName', file.runtime.pathStyle);
  await file.withInterface(IBackgroundCopyFile2, (file2) => file2.call('SetRemoteName', checked)).catch((error: unknown) => {
    if (error instanceof ComError && error.hresult === E_NOTIMPL) throw new ComError(error.hresult, IBackgroundCopyFile2.name, 'SetRemoteName', 'only files of download jobs take it');
    throw error;
  });
}
