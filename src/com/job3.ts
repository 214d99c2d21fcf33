import { FILE_ACL_FLAGS, type FileAclFlag } from './enums.js';
import { ComError, InvalidArgumentError } from './errors.js';
import { checkFileRanges, encodeFileRanges, type FileRange } from './file-ranges.js';
import { flagBits, flagNames } from './flags.js';
import { E_NOTIMPL, S_FALSE } from './hresult.js';
import { IBackgroundCopyJob3 } from './interfaces.js';
import type { FileSpec } from './job.js';
import type { JobHost } from './job-host.js';
import { checkFileSpec, checkString, MAX_REMOTE_NAME } from './validate.js';

/**
 * IBackgroundCopyJob3 (BITS 2.0): remote prefix replacement, files with byte ranges, and the ACL
 * flags of SMB copies, each through `withInterface` (a service without it is an
 * InterfaceNotSupportedError) after its input was checked.
 */

/** A file to download in parts: only the ranges are transferred, back to back in the local file, in the order given. */
export interface RangedFileSpec extends Pick<FileSpec, 'url' | 'localPath'> {
  readonly ranges: readonly FileRange[];
}

/** Download-only methods answer E_NOTIMPL for upload jobs ("call this method only for download jobs"). */
function downloadOnly(error: unknown, method: string): never {
  if (error instanceof ComError && error.hresult === E_NOTIMPL) throw new ComError(error.hresult, IBackgroundCopyJob3.name, method, 'only download jobs take it');
  throw error;
}

/**
 * Replaces `oldPrefix` (case-sensitive) at the head of every remote name of the job with `newPrefix`,
 * e.g. to move the job to a mirror. Answers whether any name matched (S_FALSE: none did).
 */
export async function replaceRemotePrefix(job: JobHost, oldPrefix: string, newPrefix: string): Promise<boolean> {
  // E_INVALIDARG for an empty one, and for a name over 2,200 characters.
  const from = checkString(oldPrefix, 'oldPrefix', { maxLength: MAX_REMOTE_NAME });
  const to = checkString(newPrefix, 'newPrefix', { maxLength: MAX_REMOTE_NAME });
  const hr = await job.withInterface(IBackgroundCopyJob3, (job3) => job3.call('ReplaceRemotePrefix', from, to)).catch((error: unknown) => downloadOnly(error, 'ReplaceRemotePrefix'));
  return hr !== S_FALSE;
}

/**
 * Adds files of which only some byte ranges are wanted (AddFileWithRanges, one call per file, in
 * order). Every file and range is checked before the first call (errors name `files[i].ranges[j]`).
 * HTTP and HTTPS only: BITS 3.0 and later take no ranges of SMB or local files.
 */
export async function addFilesWithRanges(job: JobHost, files: readonly RangedFileSpec[]): Promise<void> {
  if (!Array.isArray(files)) throw new InvalidArgumentError('files', 'expected an array of { url, localPath, ranges }');
  const checked = files.map((file: unknown, index) => {
    const at = `files[${index}]`;
    const spec = checkFileSpec(file, at, job.runtime.pathStyle, job.backend);
    if (!/^https?:\/\//i.test(spec.url)) throw new InvalidArgumentError(`${at}.url`, 'ranges are downloaded over http or https only (BITS 3.0 and later take no ranges of SMB or local files)');
    const ranges = checkFileRanges((file as { ranges?: unknown }).ranges, `${at}.ranges`);
    return { url: spec.url, localPath: spec.localPath, count: ranges.length, encoded: encodeFileRanges(ranges) };
  });
  if (checked.length === 0) return;
  await job
    .withInterface(IBackgroundCopyJob3, async (job3) => {
      for (const file of checked) await job3.call('AddFileWithRanges', file.url, file.localPath, file.count, file.encoded);
    })
    .catch((error: unknown) => downloadOnly(error, 'AddFileWithRanges'));
}

/** What of an SMB source's owner, group and ACLs the copy keeps (ignored for HTTP); [] keeps none. */
export async function setFileAclFlags(job: JobHost, flags: readonly FileAclFlag[]): Promise<void> {
  const bits = flagBits(FILE_ACL_FLAGS, flags, 'fileAclFlags', 'file ACL flag');
  await job.withInterface(IBackgroundCopyJob3, (job3) => job3.call('SetFileACLFlags', bits));
}

export async function getFileAclFlags(job: JobHost): Promise<FileAclFlag[]> {
  const out = Buffer.alloc(4);
  await job.withInterface(IBackgroundCopyJob3, (job3) => job3.call('GetFileACLFlags', out));
  return flagNames(FILE_ACL_FLAGS, out.readUInt32LE(), 'file ACL flag');
}
