import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { CallThreadPool } from '../src/com/call-threads.js';
import { POINTER_SIZE, type Pointer } from '../src/com/native-types.js';
import { IHang, startHangs, type Hangs } from './threads-hang.js';

/** The call-thread pool on its own: lazy start, growth past a hung call, the cap, marshalling, exit. */

const libc = koffi.load('libc.so.6');
const abs = libc.symbol('abs') as Pointer;
const ABS = 'int (int x)';

/** `IHang::Hang` as a pool call: its vtable entry and prototype. */
function hangCall(object: Pointer): [Pointer, string, unknown[]] {
  const vtable = koffi.decode(object, 'void *') as Pointer;
  return [koffi.decode(vtable, IHang.method('Hang').slot * POINTER_SIZE, 'void *') as Pointer, 'int32 (void *self)', [object]];
}

describe('growth and the cap', () => {
  let hangs: Hangs;
  const pool = new CallThreadPool({ name: 'test', maxThreads: 2, idleMs: 10 });
  beforeAll(async () => {
    hangs = await startHangs(2);
  });
  afterAll(async () => {
    await hangs.close();
  });

  test('no thread before the first call; a hung call does not hold the next one; at the cap calls wait, then run', async () => {
    expect(pool.stats()).toEqual({ threads: 0, busy: 0, queued: 0 });
    const events: string[] = [];
    const first = pool.call(...hangCall(hangs.objects[0]!)).then((hr) => events.push(`hang 0: ${hr}`));
    expect(await pool.call(abs, ABS, [-5])).toBe(5); // on a second thread, while the first is hung
    events.push('abs while one hangs');
    const second = pool.call(...hangCall(hangs.objects[1]!)).then((hr) => events.push(`hang 1: ${hr}`));
    await hangs.allEntered;
    expect(pool.stats()).toEqual({ threads: 2, busy: 2, queued: 0 });
    const queued = pool.call(abs, ABS, [-7]).then((value) => events.push(`abs at the cap: ${value}`));
    expect(pool.stats()).toEqual({ threads: 2, busy: 2, queued: 1 }); // waiting, not refused
    hangs.release();
    await Promise.all([first, second, queued]);
    expect(events[0]).toBe('abs while one hangs');
    expect(events.slice(1).sort()).toEqual(['abs at the cap: 7', 'hang 0: 0', 'hang 1: 0']);
  });

  test('idle threads beyond the first end; the first stays', async () => {
    await vi.waitFor(() => expect(pool.stats()).toEqual({ threads: 1, busy: 0, queued: 0 }), { timeout: 30_000 });
    expect(await pool.call(abs, ABS, [-1])).toBe(1);
  });
});

describe('arguments and results', () => {
  const pool = new CallThreadPool({ name: 'test', maxThreads: 1, idleMs: 10 });

  test('a Buffer is passed by address: the native side writes the caller’s memory', async () => {
    const buffer = Buffer.alloc(6, '.');
    await pool.call(libc.symbol('memset') as Pointer, 'void * (void *s, int c, size_t n)', [buffer.subarray(1), 0x41, 4]);
    expect(buffer.toString()).toBe('.AAAA.');
  });

  test('strings are converted on the call thread, as koffi does', async () => {
    expect(await pool.call(libc.symbol('strlen') as Pointer, 'size_t (const char *s)', ['héllo'])).toBe(6);
  });

  test("koffi's conversion errors and values that cannot cross threads reject the call; the thread goes on", async () => {
    await expect(pool.call(abs, ABS, [{ not: 'a number' }])).rejects.toThrow(TypeError);
    await expect(pool.call(abs, ABS, [() => 1])).rejects.toThrow(/could not be cloned/);
    expect(await pool.call(abs, ABS, [-3])).toBe(3);
  });
});

test('idle call threads do not keep the process alive', async () => {
  const root = path.resolve(import.meta.dirname, '..');
  const script = `
    import koffi from 'koffi';
    import { comCallThreads } from ${JSON.stringify(path.join(root, 'src', 'com', 'call-threads.ts'))};
    const abs = koffi.load('libc.so.6').symbol('abs');
    const results = await Promise.all([-1, -2, -3].map((x) => comCallThreads.call(abs, 'int (int x)', [x])));
    console.log(results.join(','), comCallThreads.stats().threads > 0);
  `;
  // A guard against a process that never ends, not a speed target.
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, timeout: 60_000 });
  expect(stdout.trim()).toBe('1,2,3 true');
});
