import { parseGuid, type Guid } from '../com/guid.js';

/**
 * How a BITS-shaped job is found again among Delivery Optimization's downloads after a restart. DO
 * downloads one file each and keeps no jobs, so each download's DisplayName carries the job it
 * belongs to: the job's display name, then `[rx-bits {GUID} N]`, N the file's place in the job.
 * EnumDownloads lists "the downloads previously created by the same caller" (do-com.md); the
 * downloads whose name ends so are ours, grouped by GUID and ordered by N. A suffix, not a prefix,
 * so that whatever shows DO's downloads shows the job's own name first.
 */

const SUFFIX = / \[rx-bits (\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}) (\d+)\]$/s;

export interface DownloadName {
  readonly displayName: string;
  readonly jobId: Guid;
  readonly index: number;
}

export function encodeDownloadName(name: DownloadName): string {
  return `${name.displayName} [rx-bits {${name.jobId}} ${name.index}]`;
}

/** The job a download belongs to, or undefined for a download that is not one of ours. */
export function decodeDownloadName(text: string): DownloadName | undefined {
  const match = SUFFIX.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { displayName: text.slice(0, match.index), jobId: parseGuid(match[1]), index: Number(match[2]) };
}
