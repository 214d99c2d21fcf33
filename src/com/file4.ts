import { IBackgroundCopyFile4 } from './interfaces.js';
import type { JobHost } from './job-host.js';

/** IBackgroundCopyFile4 (BITS 4.0): where the file's bytes came from. */

export interface PeerDownloadStats {
  /** Bytes downloaded from the origin server. */
  readonly fromOrigin: number;
  /** Bytes downloaded from peers (BranchCache, or peer caching before BITS 4.0's deprecation). */
  readonly fromPeers: number;
}

export async function getPeerDownloadStats(file: JobHost): Promise<PeerDownloadStats> {
  const origin = Buffer.alloc(8);
  const peers = Buffer.alloc(8);
  await file.withInterface(IBackgroundCopyFile4, (file4) => file4.call('GetPeerDownloadStats', origin, peers));
  return { fromOrigin: Number(origin.readBigUInt64LE()), fromPeers: Number(peers.readBigUInt64LE()) };
}
