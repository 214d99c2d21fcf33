import type { MethodHandlers } from '../../src/com/com-object.js';
import { BG_E_INVALID_STATE, E_INVALIDARG, S_OK } from '../../src/com/hresult.js';
import type { IBackgroundCopyJob4 } from '../../src/com/interfaces.js';
import type { JobModel } from './job-model.js';
import { uint } from './shared.js';

/**
 * IBackgroundCopyJob4's own methods (BITS 3.0, slots 47-52) on a loopback job, as Microsoft's page of
 * each method describes them; the maximum download time is enforced by the job model.
 */

/** BG_JOB_ENABLE_PEERCACHING_CLIENT | _SERVER | BG_JOB_DISABLE_BRANCH_CACHE. */
const PEER_CACHING_FLAGS = 0x7;
/** SECURITY_MANDATORY_MEDIUM_RID and _HIGH_RID (winnt.h): an ordinary user's token, and an elevated one's. */
const MEDIUM_INTEGRITY = 0x2000;
const HIGH_INTEGRITY = 0x3000;

type Job4Methods = 'SetPeerCachingFlags' | 'GetPeerCachingFlags' | 'GetOwnerIntegrityLevel' | 'GetOwnerElevationState' | 'SetMaximumDownloadTime' | 'GetMaximumDownloadTime';

export function job4Handlers(model: JobModel): Pick<MethodHandlers<typeof IBackgroundCopyJob4>, Job4Methods> {
  /** A change: refused once the job left the queue, as every change is. */
  const change = (set: () => void): number => {
    if (model.final) return BG_E_INVALID_STATE;
    set();
    model.touch();
    return S_OK;
  };
  return {
    SetPeerCachingFlags: (flags) => ((flags & ~PEER_CACHING_FLAGS) !== 0 ? E_INVALIDARG : change(() => (model.peerCachingFlags = flags))),
    GetPeerCachingFlags: (out) => uint(out, model.peerCachingFlags),
    GetOwnerIntegrityLevel: (out) => uint(out, model.ownerElevated ? HIGH_INTEGRITY : MEDIUM_INTEGRITY),
    GetOwnerElevationState: (out) => uint(out, model.ownerElevated ? 1 : 0),
    SetMaximumDownloadTime: (seconds) => change(() => (model.maximumDownloadTime = seconds)),
    GetMaximumDownloadTime: (out) => uint(out, model.maximumDownloadTime),
  };
}
