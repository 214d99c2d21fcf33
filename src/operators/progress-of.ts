import type { JobProgress } from '../com/job.js';
import type { ModificationEvent } from '../observables/events.js';

/*
 * The arithmetic of progress, shared by the progress operators and download(). Unknown stays
 * undefined: never NaN or Infinity.
 */

/** The progress operators accept `progress$` values and modification events alike. */
export function progressOf(value: JobProgress | ModificationEvent): JobProgress {
  return 'type' in value ? value.progress : value;
}

/** 0..1: bytes where the total is known, files where every file is empty, undefined while unknown. */
export function ratioOf({ bytesTotal, bytesTransferred, filesTotal, filesTransferred }: JobProgress): number | undefined {
  if (bytesTotal === undefined) return undefined;
  if (bytesTotal > 0) return Math.min(1, bytesTransferred / bytesTotal);
  return filesTotal > 0 ? filesTransferred / filesTotal : undefined;
}

/** Seconds left at `bytesPerSecond`: 0 when done, undefined while the total or the rate is unknown or stalled. */
export function secondsLeft({ bytesTotal, bytesTransferred }: JobProgress, bytesPerSecond: number | undefined): number | undefined {
  if (bytesTotal === undefined) return undefined;
  const remaining = Math.max(0, bytesTotal - bytesTransferred);
  if (remaining === 0) return 0;
  return bytesPerSecond === undefined || bytesPerSecond <= 0 ? undefined : remaining / bytesPerSecond;
}
