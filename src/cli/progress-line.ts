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

/**
 * Shows a download's progress: on a terminal, one bar redrawn in place; elsewhere (a log, a pipe) a
 * plain line at each quarter, so the output stays short.
 */
export class ProgressDisplay {
  #quarter = -1;
  #drawn = false;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly terminal: boolean,
  ) {}

  show(snapshot: DownloadSnapshot): void {
    if (this.terminal) {
      this.stream.write(`\r${progressLine(snapshot, true)}   `);
      this.#drawn = true;
      return;
    }
    const quarter = snapshot.ratio === undefined ? -1 : Math.floor(snapshot.ratio * 4);
    if (quarter <= this.#quarter) return;
    this.#quarter = quarter;
    this.stream.write(`${progressLine(snapshot, false)}\n`);
  }

  /** Ends the bar's line, so that what follows starts on a line of its own. */
  break(): void {
    if (!this.#drawn) return;
    this.stream.write('\n');
    this.#drawn = false;
  }
}
