import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { invokeAsync } from '../src/com/invoke.js';
import { IHang, startHangs } from './threads-hang.js';

/** libuv's pool, which fs, DNS, crypto and zlib share: 4 threads unless the environment says otherwise. */
const LIBUV_THREADS = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

test("with as many COM calls hanging as libuv has threads, fs.readFile completes before any of them is released", async () => {
  const hangs = await startHangs(LIBUV_THREADS);
  const events: string[] = [];
  const calls = hangs.objects.map((object, i) =>
    invokeAsync(object, IHang.method('Hang')).then((hr) => {
      events.push(`call ${i} returned`);
      return hr;
    }),
  );
  await hangs.allEntered; // every one of those calls now blocks the thread it runs on
  // Only so that a failure ends with a report instead of the test's timeout: passing never waits for it.
  const guard = setTimeout(() => {
    events.push('released by the guard');
    hangs.release();
  }, 30_000);
  await readFile(import.meta.filename);
  events.push('read');
  clearTimeout(guard);
  hangs.release();
  expect(await Promise.all(calls)).toEqual(hangs.objects.map(() => 0));
  expect(events[0]).toBe('read');
  await hangs.close();
});
