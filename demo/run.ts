/**
 * `npm run demo`: the main job, end to end, as an app would write it with `download()`: live
 * progress (the CLI's progress line), a failure that is retried, and the file's hash once in place.
 *
 * On Windows it goes through the real BITS service (`npm run demo -- <url> <file>`). Elsewhere there
 * is no BITS, so it says so and uses rx-bits' loopback BITS service (the one the tests use, in this
 * process) with a file served from 127.0.0.1 that fails once with HTTP 503.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { ProgressDisplay } from '../src/cli/progress-line.js';
import { connect, download, type BitsManager } from '../src/index.js';
import { LoopbackService } from '../test/loopback/service.js';
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
  console.log("BITS is a Windows service. On this machine the demo runs against rx-bits' loopback BITS service:");
  console.log('a simulated service in this process, behind the same native COM vtables, with a file server on 127.0.0.1.');
  const service = new LoopbackService();
  const server = await startTestServer();
  bits = await connect({ runtime: service.runtime });
  // Fails once with 503, then serves 4 MiB slowly enough to watch.
  url = server.url(`/flaky/demo?fail=1&status=503&size=${4 * 1024 * 1024}&chunk=65536&delay=40`);
  localPath = path.join(await mkdtemp(path.join(tmpdir(), 'rx-bits-demo-')), 'demo.bin');
  cleanup = async () => {
    await service.close();
    await server.close();
  };
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
