/**
 * Run as a child process by engine-store.test.ts: `store-child.ts <mode> <directory> [count]`.
 *
 * hold          open the store, print "locked <pid>", hold it until stdin closes (or a SIGKILL).
 * race          print "ready", open on the line "go" from stdin, print "won" or "in-use <pid>";
 *               a winner holds the lock until stdin closes, so the losers cannot win after it.
 * save-loop     save <count> records over and over, printing "round <n>" after each flush, until killed.
 * exit-pending  save <count> records and call process.exit() at once: the 'exit' handler writes them.
 * natural-end   save <count> records and return, leaving the store open: the process must end by itself.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { JobStore, StateDirectoryInUseError, type StoredRecord } from '../../src/engine/store.js';

interface ChildRecord extends StoredRecord {
  readonly round: number;
  readonly payload: string;
}

const [mode, directory, countText] = process.argv.slice(2);
if (mode === undefined || directory === undefined) throw new Error('usage: store-child.ts <mode> <directory> [count]');
const count = Number(countText ?? '10');
const ids = Array.from({ length: count }, () => randomUUID().toUpperCase());
// Only the modes that wait for the parent read stdin: an open stdin would keep the others alive.
const stdinLines = () => createInterface({ input: process.stdin });

function holdUntilStdinCloses(store: JobStore<ChildRecord>, lines = stdinLines()): void {
  lines.on('close', () => void store.close().then(() => process.exit(0)));
}

switch (mode) {
  case 'hold': {
    const store = await JobStore.open<ChildRecord>(directory);
    console.log(`locked ${process.pid}`);
    holdUntilStdinCloses(store);
    break;
  }
  case 'race': {
    console.log('ready');
    const lines = stdinLines();
    lines.once('line', () => {
      JobStore.open<ChildRecord>(directory).then(
        (store) => {
          console.log('won');
          holdUntilStdinCloses(store, lines);
        },
        (error: unknown) => {
          console.log(error instanceof StateDirectoryInUseError ? `in-use ${error.pid}` : `error ${String(error)}`);
          lines.close();
        },
      );
    });
    break;
  }
  case 'save-loop': {
    const store = await JobStore.open<ChildRecord>(directory);
    for (let round = 1; ; round++) {
      // Sizes vary so that a torn file could not pass for a whole one by luck.
      for (const id of ids) store.save({ id, round, payload: 'x'.repeat(1000 + Math.floor(Math.random() * 20_000)) });
      await store.flush();
      console.log(`round ${round}`);
    }
  }
  case 'exit-pending': {
    const store = await JobStore.open<ChildRecord>(directory);
    for (const id of ids) store.save({ id, round: 1, payload: 'pending at exit' });
    process.exit(0);
  }
  case 'natural-end': {
    const store = await JobStore.open<ChildRecord>(directory);
    for (const id of ids) store.save({ id, round: 1, payload: 'written behind' });
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
