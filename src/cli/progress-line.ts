import type { DownloadSnapshot } from '../app/download.js';

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** `[#####.....]  45% 1.2 MiB of 2.7 MiB, 0.8 MiB/s, ETA 2 s` for a terminal, or the text alone. */
export function progressLine(snapshot: DownloadSnapshot, bar: boolean): string {
  const { ratio, rate, eta, bytesTransferred, bytesTotal, attempt } = snapshot;
  const percent = ratio === undefined ? '  ?%' : `${Math.floor(ratio * 100)}%`.padStart(4);
  const text = `${percent} ${mib(bytesTransferred)} of ${bytesTotal === undefined ? '?' : mib(bytesTotal)}, ${
    rate === undefined ? '-' : `${mib(rate)}/s`
  }, ETA ${eta === undefined ? '?' : `${Math.ceil(eta)} s`}${attempt > 1 ? `, attempt ${attempt}` : ''}`;
  if (!bar) return text;
  const width = 30;
  const filled = Math.round((ratio ?? 0) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
}
