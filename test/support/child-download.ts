/**
 * Run as a child process by observables.test.ts. Nothing but the subscription holds this process:
 * the job is resumed by an unref'd timer, which would let Node exit at once if the hub did not keep
 * the event loop alive while attached. Once the subscription ends, the process must exit by itself.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { take } from 'rxjs';
import { connect, liveCallbackObjects, referenceStats, transferred$ } from '../../src/index.js';
import { LoopbackService } from '../loopback/service.js';

const service = new LoopbackService();
const dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-child-'));
await writeFile(path.join(dir, 'source.txt'), 'payload');
const bits = await connect({ runtime: service.runtime });
const job = await bits.createJob({ displayName: 'child', files: [{ url: path.join(dir, 'source.txt'), localPath: path.join(dir, 'out.txt') }] });

transferred$(job)
  .pipe(take(1))
  .subscribe({
    next: (event) => console.log(`transferred (${event.source})`),
    complete: () => {
      void (async () => {
        await job.complete();
        if ((await readFile(path.join(dir, 'out.txt'), 'utf8')) === 'payload') console.log('completed');
        await job.release();
        await bits.release();
        await service.close();
        await rm(dir, { recursive: true, force: true });
        // Give the hub's detach a moment; exiting is the process's own business from here.
        setImmediate(() => {
          const clean = referenceStats().live === 0 && liveCallbackObjects() === 0 && Object.values(service.references()).every((n) => n === 0);
          console.log(clean ? 'clean' : `leaked ${JSON.stringify({ ...service.references(), ...referenceStats(), callbacks: liveCallbackObjects() })}`);
        });
      })();
    },
  });
console.log('subscribed');
setTimeout(() => void job.resume(), 100).unref();
