import koffi from 'koffi';
import path from 'node:path';
import type { MethodHandlers } from '../../src/com/com-object.js';
import {
  BG_E_INVALID_RANGE,
  BG_E_INVALID_STATE,
  BG_E_OVERLAPPING_RANGES,
  BG_E_TOO_MANY_RANGES_IN_FILE,
  E_INVALIDARG,
  E_NOTIMPL,
  S_FALSE,
  S_OK,
} from '../../src/com/hresult.js';
import type { IBackgroundCopyJob3 } from '../../src/com/interfaces.js';
import { BG_FILE_RANGE, BG_LENGTH_TO_EOF, toBigInt } from '../../src/com/native-types.js';
import { JobType, State, type JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import type { LoopbackRange } from './ranges.js';
import { uint } from './shared.js';

/**
 * IBackgroundCopyJob3's own methods (BITS 2.0, slots 43-46) on a loopback job, as Microsoft's page of
 * each method (and bits-com-extended.md, "Job3 / File2") describe them.
 */

/** The longest remote name BITS takes (E_INVALIDARG beyond). */
const MAX_URL = 2200;
/** MaxRangesPerFile's default: more ranges is BG_E_TOO_MANY_RANGES_IN_FILE for a caller who is not an administrator. */
const MAX_RANGES = 500;
/** BG_COPY_FILE_OWNER | GROUP | DACL | SACL. */
const ACL_FLAGS = 0xf;

type Job3Methods = 'ReplaceRemotePrefix' | 'AddFileWithRanges' | 'SetFileACLFlags' | 'GetFileACLFlags';

/** The ranges as BITS would refuse them, in the order the checks are documented; the decoded ranges when none applies. */
function decodeRanges(address: bigint, count: number, administrator: boolean): number | LoopbackRange[] {
  if (count > MAX_RANGES && !administrator) return BG_E_TOO_MANY_RANGES_IN_FILE;
  const raw = koffi.decode(address, BG_FILE_RANGE, count) as Array<{ InitialOffset: number | bigint; Length: number | bigint }>;
  const ranges = raw.map((range) => ({ offset: toBigInt(range.InitialOffset), length: toBigInt(range.Length) }));
  if (ranges.some((range) => range.offset === BG_LENGTH_TO_EOF)) return BG_E_INVALID_RANGE;
  const sorted = [...ranges].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!;
    if (before.length === BG_LENGTH_TO_EOF || before.offset + before.length > sorted[i]!.offset) return BG_E_OVERLAPPING_RANGES;
  }
  return ranges.map((range) => ({ offset: Number(range.offset), length: range.length === BG_LENGTH_TO_EOF ? undefined : Number(range.length) }));
}

export function job3Handlers(process: ClientProcess, model: JobModel): Pick<MethodHandlers<typeof IBackgroundCopyJob3>, Job3Methods> {
  return {
    // E_INVALIDARG for an empty prefix or a result over 2,200 characters; S_FALSE when no name matches.
    ReplaceRemotePrefix: (oldPrefix, newPrefix) => {
      if (!oldPrefix || !newPrefix) return E_INVALIDARG;
      if (model.type !== JobType.DOWNLOAD) return E_NOTIMPL;
      if (model.final) return BG_E_INVALID_STATE;
      const matching = model.files.filter((file) => file.url.startsWith(oldPrefix));
      const renamed = matching.map((file) => newPrefix + file.url.slice(oldPrefix.length));
      if (renamed.some((url) => url.length > MAX_URL)) return E_INVALIDARG;
      if (matching.length === 0) return S_FALSE;
      matching.forEach((file, index) => (file.url = renamed[index]!));
      model.touch();
      return S_OK;
    },
    AddFileWithRanges: (url, localName, count, ranges) => {
      if (model.type !== JobType.DOWNLOAD) return E_NOTIMPL;
      if (url === null || localName === null || !path.isAbsolute(localName) || url.length > MAX_URL) return E_INVALIDARG;
      if (count === 0 || ranges === null || ranges === 0n) return E_INVALIDARG;
      const decoded = decodeRanges(ranges, count, process.identity.elevated);
      if (typeof decoded === 'number') return decoded;
      return model.addFile(url, localName, decoded);
    },
    // "SetFileACLFlags": BG_E_INVALID_STATE once the job is TRANSFERRED (and, as every change, when it left the queue).
    SetFileACLFlags: (flags) => {
      if (model.final || model.state === State.TRANSFERRED) return BG_E_INVALID_STATE;
      if ((flags & ~ACL_FLAGS) !== 0) return E_INVALIDARG;
      model.fileAclFlags = flags;
      model.touch();
      return S_OK;
    },
    GetFileACLFlags: (out) => uint(out, model.fileAclFlags),
  };
}
