import { PEER_CACHING_FLAGS, type PeerCachingFlag } from './enums.js';
import { flagBits, flagNames } from './flags.js';
import { IBackgroundCopyJob4 } from './interfaces.js';
import type { MethodsTaking } from './interface-table.js';
import type { JobHost } from './job-host.js';
import { checkSeconds } from './validate.js';

/**
 * IBackgroundCopyJob4 (BITS 3.0): peer caching, the owner's integrity level and elevation, and the
 * maximum download time, each through `withInterface` (a service without it is an
 * InterfaceNotSupportedError) after its input was checked.
 */

type Job4 = typeof IBackgroundCopyJob4;

/** One DWORD out of a Job4 getter. */
async function readDword(job: JobHost, method: MethodsTaking<Job4, ['_Out_ uint32 *']> | MethodsTaking<Job4, ['_Out_ int *']>): Promise<number> {
  const out = Buffer.alloc(4);
  await job.withInterface(IBackgroundCopyJob4, (job4) => job4.call(method, out));
  return out.readUInt32LE();
}

/** Whether the job may download from peers and serve its files to them, and whether BranchCache is off for it; [] for none. */
export async function setPeerCachingFlags(job: JobHost, flags: readonly PeerCachingFlag[]): Promise<void> {
  const bits = flagBits(PEER_CACHING_FLAGS, flags, 'peerCachingFlags', 'peer caching flag');
  await job.withInterface(IBackgroundCopyJob4, (job4) => job4.call('SetPeerCachingFlags', bits));
}

export async function getPeerCachingFlags(job: JobHost): Promise<PeerCachingFlag[]> {
  return flagNames(PEER_CACHING_FLAGS, await readDword(job, 'GetPeerCachingFlags'), 'peer caching flag');
}

/** The mandatory integrity level of the job's owner when it created the job: a SECURITY_MANDATORY_*_RID (0x2000 medium, 0x3000 high). */
export function getOwnerIntegrityLevel(job: JobHost): Promise<number> {
  return readDword(job, 'GetOwnerIntegrityLevel');
}

/** Whether the owner's token was elevated when it created the job. */
export async function isOwnerElevated(job: JobHost): Promise<boolean> {
  return (await readDword(job, 'GetOwnerElevationState')) !== 0;
}

/**
 * Seconds the job may spend connecting and transferring (since the last Resume) before it fails
 * with BG_E_MAXDOWNLOAD_TIMEOUT; BITS's default is 7,776,000 (90 days).
 */
export async function setMaximumDownloadTime(job: JobHost, seconds: number): Promise<void> {
  const checked = checkSeconds(seconds, 'maximumDownloadTime');
  await job.withInterface(IBackgroundCopyJob4, (job4) => job4.call('SetMaximumDownloadTime', checked));
}

export function getMaximumDownloadTime(job: JobHost): Promise<number> {
  return readDword(job, 'GetMaximumDownloadTime');
}
