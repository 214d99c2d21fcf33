/**
 * `npm run demo`: the main job, end to end. A download with live progress, a failure that is
 * retried, and the file's hash once it is in place.
 *
 * On Windows it goes through the real BITS service (`npm run demo -- <url> <file>`). Elsewhere there
 * is no BITS, so it says so and uses rx-bits' loopback BITS service (the one the tests use, in this
 * process) with a file served from 127.0.0.1 that fails once with HTTP 503.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filter, lastValueFrom, map, share, tap, zip } from 'rxjs';
import {
  completeWhenTransferred,
  connect,
  eta,
  jobEvents$,
  progressRatio,
  retryOnJobError,
  transferRate,
  type BitsManager,
  type JobProgress,
} from '../src/index.js';
import { LoopbackService } from '../test/loopback/service.js';
import { startTestServer, type TestServer } from '../test/support/http-server.js';

const size = 4 * 1024 * 1024;
let bits: BitsManager;
let url: string;
let localPath: string;
let cleanup: () => Promise<void> = async () => undefined;

if (process.platform === 'win32') {
  bits = await connect();
  url = process.argv[2] ?? 'https://example.com/';
  localPath = path.resolve(process.argv[3] ?? path.join(tmpdir(), 'rx-bits-demo.download'));
  console.log(`Downloading ${url} through Windows BITS.`);
} else {
  console.log('BITS is a Windows service. On this machine the demo runs against rx-bits\' loopback BITS service:');
  console.log('a simulated service in this process, behind the same native COM vtables, with a file server on 127.0.0.1.');
  const service = new LoopbackService();
  const server: TestServer = await startTestServer();
  bits = await connect({ runtime: service.runtime });
  // Fails once with 503, then serves 4 MiB slowly enough to watch.
  url = server.url(`/flaky/demo?fail=1&status=503&size=${size}&chunk=65536&delay=40`);
  localPath = path.join(await mkdtemp(path.join(tmpdir(), 'rx-bits-demo-')), 'demo.bin');
  cleanup = async () => {
    await service.close();
    await server.close();
  };
}

const job = await bits.createJob({
  displayName: 'rx-bits demo',
  // Every error reaches the app at once, so the retry is ours to see (BITS would retry transient ones by itself).
  noProgressTimeout: 0,
  files: [{ url, localPath }],
});

const events$ = jobEvents$(job, ['transferred', 'error', 'modification'], { pollInterval: 250 }).pipe(
  retryOnJobError(job, { count: 3, delay: 500 }),
  share(),
);

const tty = process.stdout.isTTY === true;
let lastQuarter = -1;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
function render(progress: JobProgress, ratio: number | undefined, rate: number | undefined, seconds: number | undefined): void {
  const percent = ratio === undefined ? '  ?%' : `${Math.floor(ratio * 100)}%`.padStart(4);
  const line = `${percent} ${mib(progress.bytesTransferred)} of ${progress.bytesTotal === undefined ? '?' : mib(progress.bytesTotal)}, ${
    rate === undefined ? '-' : `${mib(rate)}/s`
  }, ETA ${seconds === undefined ? '?' : `${Math.ceil(seconds)} s`}`;
  if (tty) {
    const width = 30;
    const filled = Math.round((ratio ?? 0) * width);
    process.stdout.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}   `);
  } else {
    const quarter = ratio === undefined ? -1 : Math.floor(ratio * 4);
    if (quarter > lastQuarter) {
      lastQuarter = quarter;
      console.log(line);
    }
  }
}

const progress$ = events$.pipe(
  filter((event) => event.type === 'modification'),
  map((event) => event.progress),
  share(),
);
const shown = zip(progress$, progress$.pipe(progressRatio()), progress$.pipe(transferRate({ window: 2000 })), progress$.pipe(eta({ window: 2000 }))).subscribe(
  ([progress, ratio, rate, seconds]) => render(progress, ratio, rate, seconds),
);
const failures = events$.pipe(filter((event) => event.type === 'error')).subscribe((event) => {
  if (tty) process.stdout.write('\n');
  console.log(`Failed with ${event.error.code ?? event.error.hresult} (${event.error.description}): retrying.`);
});

await job.resume();
const done = await lastValueFrom(events$.pipe(completeWhenTransferred(job), tap(() => tty && process.stdout.write('\n'))));
shown.unsubscribe();
failures.unsubscribe();
const hash = createHash('sha256').update(await readFile(localPath)).digest('hex');
console.log(`Done: ${done.files.map((file) => file.localPath).join(', ')} (${done.code}), sha256 ${hash}`);
await job.release();
await bits.release();
await cleanup();
