/**
 * A Node script: download a file through BITS with a progress line, then exit by itself.
 * Run on Windows: node --import tsx examples/node-download.ts <url> <file>
 */
import path from 'node:path';
import { download } from 'rx-bits';

const [url = 'https://example.com/', file = 'example.html'] = process.argv.slice(2);

download(url, path.resolve(file), { appName: 'example' }).subscribe({
  next: ({ ratio, rate, eta, attempt }) =>
    process.stdout.write(`\r${ratio === undefined ? '?' : Math.floor(ratio * 100)}%  ${rate === undefined ? '-' : `${(rate / 1024) | 0} KiB/s`}  ETA ${eta === undefined ? '?' : Math.ceil(eta)} s  (attempt ${attempt})   `),
  error: (error: unknown) => {
    console.error(`\n${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
  complete: () => console.log(`\nsaved ${file}`),
});
