import { InvalidArgumentError } from './errors.js';
import { IBackgroundCopyFile3 } from './interfaces.js';
import type { JobHost } from './job-host.js';
import { pointerSlot } from './native-types.js';
import { takeString } from './task-memory.js';

/**
 * IBackgroundCopyFile3 (BITS 3.0): the temporary file, content validation and "downloaded from a
 * peer", each through `withInterface` on the file object after its input was checked.
 */

export async function getTemporaryName(file: JobHost): Promise<string> {
  const slot = pointerSlot();
  await file.withInterface(IBackgroundCopyFile3, (file3) => file3.call('GetTemporaryName', slot));
  return takeString(file.runtime, slot);
}

/** A BOOL out of a File3 getter. */
async function readBool(file: JobHost, method: 'GetValidationState' | 'IsDownloadedFromPeer'): Promise<boolean> {
  const out = Buffer.alloc(4);
  await file.withInterface(IBackgroundCopyFile3, (file3) => file3.call(method, out));
  return out.readInt32LE() !== 0;
}

/** Only once the file is transferred (E_PENDING before); `false` makes BITS download it again. */
export async function setValidationState(file: JobHost, valid: boolean): Promise<void> {
  // A truthy string would be a valid BOOL to the service, and a file wrongly judged valid is kept.
  if (typeof valid !== 'boolean') throw new InvalidArgumentError('valid', `expected true or false, got ${typeof valid}`);
  await file.withInterface(IBackgroundCopyFile3, (file3) => file3.call('SetValidationState', valid ? 1 : 0));
}

export function getValidationState(file: JobHost): Promise<boolean> {
  return readBool(file, 'GetValidationState');
}

export function isDownloadedFromPeer(file: JobHost): Promise<boolean> {
  return readBool(file, 'IsDownloadedFromPeer');
}
