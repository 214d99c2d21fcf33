/**
 * Run as a child process by engine-processes.test.ts:
 *   engine-child.ts <mode> <stateDir> [url] [localPath]
 *
 * download  connect to the portable engine on <stateDir>, create a job fetching <url> into <localPath>,
 *           resume it, print "job <id>", then "progress <bytesTransferred>" each time it changes,
 *           and keep going until killed (the parent SIGKILLs it mid-transfer).
 * hold      connect, create a suspended job for <url> -> <localPath>, print "holding <pid> <id>", and
 *           hold the manager and the job until stdin closes; then release both and let the process
 *           end by itself (no close(), no process.exit(): the store's 'exit' handler must let go).
 * hold-exit as hold, but when stdin closes call process.exit(0) with the manager and job still held.
 */
import { createInterface } from 'node:readline';
import { connect } from '../../src/index.js';

const [mode, stateDir, url, localPath] = process.argv.slice(2);
if (mode === undefined || stateDir === undefined || url === undefined || localPath === undefined) {
  throw new Error('usage: engine-child.ts <download|hold|hold-exit> <stateDir> <url> <localPath>');
}

const bits = await connect({ backend: 'portable', stateDir });

switch (mode) {
  case 'download': {
    const job = await bits.createJob({ displayName: 'proc: big.bin', files: [{ url, localPath }] });
    await job.resume();
    console.log(`job ${job.id}`);
    let last = -1;
    // Polled rather than timed: the parent waits for a line, never for a duration.
    for (;;) {
      const { bytesTransferred } = await job.getProgress();
      if (bytesTransferred !== last) {
        last = bytesTransferred;
        console.log(`progress ${bytesTransferred}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  case 'hold':
  case 'hold-exit': {
    const job = await bits.createJob({ displayName: 'proc: held.bin', files: [{ url, localPath }] });
    console.log(`holding ${process.pid} ${job.id}`);
    const lines = createInterface({ input: process.stdin });
    lines.on('close', () => {
      if (mode === 'hold-exit') {
        // Registered after connect()'s own exit handlers, so it runs after them: what comes after this
        // line is Node's teardown of the worker threads, not rx-bits.
        process.on('exit', () => console.log('exit handlers ran'));
        process.exit(0);
      }
      void (async () => {
        await job.release();
        await bits.release();
        console.log('released');
      })();
    });
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
