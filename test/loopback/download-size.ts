import { hresultByName } from '../../src/com/hresult.js';
import type { JobModel } from './job-model.js';
import { TransferFailure } from './transfer.js';

/**
 * BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE at work: "reaching it -> BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED"
 * (bits-com-extended.md). BITS stops the transfer at the limit; the loopback notices once a file is in,
 * and fails the job all the same (context REMOTE_FILE, an inference: no page names it).
 */

/** The property's BITS_JOB_PROPERTY_ID. */
export const MAX_DOWNLOAD_SIZE = 5;

const BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED = hresultByName('BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED')!;

/** Throws the failure when the job's files hold more bytes than its maximum download size allows. */
export function checkDownloadSize(model: JobModel): void {
  const limit = model.properties.get(MAX_DOWNLOAD_SIZE)?.readBigUInt64LE();
  if (limit === undefined) return;
  const downloaded = model.files.reduce((sum, file) => sum + BigInt(file.bytesTransferred), 0n);
  if (downloaded > limit) throw new TransferFailure(BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, 5, false);
}
