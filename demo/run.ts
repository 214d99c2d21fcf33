/**
 * `npm run demo`: the main job, end to end, as an app would write it with `download()`: live
 * progress (the CLI's progress line), a failure that is retried, and the file's hash once in place.
 *
 * On Windows it goes through the real BITS service (`npm run demo -- <url> <file>`). Elsewhere it runs
 * rx-bits' portable engine, as connect() chooses there, on a file served from 127.0.0.1 (there is no
 * network here) that fails once with HTTP 503. Its state folder is a temporary one, so the demo
 * leaves nothing in the user's.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { ProgressDisplay } from '../src/cli/progress-line.js';
import { connect, download, type BitsManager } from '../src/index.js';
import { startTestServer } from '../test/support/http-server.js';

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
  const folder = await mkdtemp(path.join(tmpdir(), 'rx-bits-demo-'));
  const server = await startTestServer();
  bits = await connect({ stateDir: path.join(folder, 'state') });
  console.log(`Downloading through rx-bits' ${bits.backend} engine (${bits.choice.reason}),`);
  console.log('from a file server on 127.0.0.1 that fails once with HTTP 503.');
  // Fails once with 503, then serves 4 MiB slowly enough to watch.
  url = server.url(`/flaky/demo?fail=1&status=503&size=${4 * 1024 * 1024}&chunk=65536&delay=40`);
  localPath = path.join(folder, 'demo.bin');
  cleanup = () => server.close();
}

const display = new ProgressDisplay(process.stdout, process.stdout.isTTY === true);
let attempt = 1;
const done = await lastValueFrom(
  // A 503 is transient: BITS would retry after its MinimumRetryDelay (10 minutes by default); nudge it sooner.
  download(url, localPath, { manager: bits, appName: 'rx-bits demo', retry: { nudgeTransientAfter: 300 }, pollInterval: 250, rateWindow: 2000 }).pipe(
    tap((snapshot) => {
      if (snapshot.attempt > attempt) {
        attempt = snapshot.attempt;
        const error = snapshot.lastError;
        display.break();
        console.log(`Failed with ${error?.code ?? '?'} (${error?.description ?? ''}): retrying.`);
      }
      display.show(snapshot);
    }),
  ),
);
display.break();
const hash = createHash('sha256').update(await readFile(localPath)).digest('hex');
console.log(`Done: ${done.done?.files.map((file) => file.localPath).join(', ')} (${done.done?.code}), sha256 ${hash}`);
await bits.release();
await cleanup();
