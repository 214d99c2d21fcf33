import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { InvalidArgumentError } from '../src/com/errors.js';
import { connect } from '../src/com/manager.js';
import { BandwidthLimit } from '../src/engine/bandwidth.js';
import { transferred$ } from '../src/index.js';
import { useEngine } from './support/engine-harness.js';
import { content } from './support/http-server.js';
import { readFile } from 'node:fs/promises';

/** Issue I: the portable engine's optional bandwidth cap. */
describe('BandwidthLimit', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A limit on a clock the test moves, with the timers faked to match. */
  function limit(bytesPerSecond: number) {
    vi.useFakeTimers();
    const bucket = new BandwidthLimit(bytesPerSecond, () => Date.now());
    const settled: string[] = [];
    const take = (name: string, bytes: number, signal = new AbortController().signal) =>
      bucket.take(bytes, signal).then(
        () => settled.push(name),
        () => settled.push(`${name} aborted`),
      );
    return { take, settled };
  }

  test("a second's worth goes at once; what is beyond it waits until it has been earned", async () => {
    const { take, settled } = limit(1000);
    void take('first', 1000);
    void take('second', 500);
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual(['first', 'second']);
  });

  test('takes are served in the order they came, whatever their size', async () => {
    const { take, settled } = limit(1000);
    void take('big', 3000);
    void take('small', 1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(settled).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual(['big']);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual(['big', 'small']);
  });

  test('an idle bucket refills to one second, not more', async () => {
    const { take, settled } = limit(1000);
    await vi.advanceTimersByTimeAsync(10_000);
    void take('burst', 1000);
    void take('next', 1000);
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(['burst']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).toEqual(['burst', 'next']);
  });

  test('an aborted wait rejects, and the next take goes on', async () => {
    const { take, settled } = limit(1000);
    const abort = new AbortController();
    void take('first', 1000);
    void take('cut', 2000, abort.signal);
    void take('after', 1);
    await vi.advanceTimersByTimeAsync(100);
    abort.abort(new Error('suspended'));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toEqual(['first', 'cut aborted']);
    await vi.advanceTimersByTimeAsync(2000);
    expect(settled).toEqual(['first', 'cut aborted', 'after']);
  });

  test('a rate that is not a positive number is refused', () => {
    expect(() => new BandwidthLimit(0)).toThrow(RangeError);
    expect(() => new BandwidthLimit(Number.NaN)).toThrow(RangeError);
  });
});

describe('the engine under a bandwidth cap', () => {
  const h = useEngine({ maxBytesPerSecond: 64 * 1024 });

  test('a download takes at least as long as the cap allows, and arrives whole', async () => {
    // 192 KiB at 64 KiB/s with one second of burst: two seconds at the least, however fast the machine.
    const job = await h.bits.createJob({ displayName: 'capped', files: [{ url: h.server.url('/files/cap?size=196608'), localPath: h.local('cap.bin') }] });
    const done = firstValueFrom(transferred$(job));
    const started = performance.now();
    await job.resume();
    await done;
    expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
    await job.complete();
    expect(await readFile(h.local('cap.bin'))).toEqual(content(196608));
    await job.release();
  });
});

describe("connect()'s portable options", () => {
  test.each([
    [{ maxBytesPerSecond: 0 }, 'portable.maxBytesPerSecond'],
    [{ maxConcurrentTransfers: 1.5 }, 'portable.maxConcurrentTransfers'],
    [{ jobLifetimeDays: -1 }, 'portable.jobLifetimeDays'],
  ])('%j is refused naming %s', async (portable, field) => {
    const error = await connect({ backend: 'portable', stateDir: '/nonexistent/never-made', portable }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ field });
  });
});
