import { describe, expect, test, vi } from 'vitest';
import type { ComMethod } from '../src/com/interface-table.js';
import type { Pointer } from '../src/com/native-types.js';
import { ReleasedError } from '../src/index.js';
import { useLoopback } from './support/harness.js';

/**
 * Every native call, in the order the library issues it and sees it return. A Release racing a call
 * on the same pointer shows up here as "Release issued" before that call's "returned", whatever the
 * threads' timing: the order of issuing is the library's own, decided on the JS thread.
 */
const calls = vi.hoisted(() => [] as Array<{ self: bigint; event: string }>);

vi.mock('../src/com/invoke.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/com/invoke.js')>();
  return {
    ...actual,
    invokeAsync: async (self: Pointer, method: ComMethod, ...args: unknown[]): Promise<number> => {
      calls.push({ self, event: `${method.name} issued` });
      try {
        return await actual.invokeAsync(self, method, ...args);
      } finally {
        calls.push({ self, event: `${method.name} returned` });
      }
    },
  };
});

const h = useLoopback();

const on = (self: Pointer): string[] => calls.filter((call) => call.self === self).map((call) => call.event);

describe('ComPtr: a reference is released only after the calls in flight on it have returned', () => {
  test('release() while GetState, EnumFiles and QueryInterface run: released at once, Release issued after all three returned', async () => {
    const job = await h.bits.createJob({ displayName: 'in flight', files: [{ url: h.server.url('/files/a'), localPath: h.local('a.bin') }] });
    const self = job.pointer.address();
    calls.length = 0;
    const state = job.getState();
    const files = job.getFiles();
    const copy = job.duplicate();
    const released = job.release();
    expect(job.released).toBe(true);
    await expect(job.getProgress()).rejects.toBeInstanceOf(ReleasedError);
    const [, , duplicate] = await Promise.all([state, files, copy, released]);
    // The duplicate is the same native object (the loopback answers QueryInterface with itself): read the log before using it.
    const log = on(self);
    expect(log.slice(-2)).toEqual(['Release issued', 'Release returned']);
    expect(log.slice(0, -2).sort()).toEqual(
      ['GetState issued', 'GetState returned', 'EnumFiles issued', 'EnumFiles returned', 'QueryInterface issued', 'QueryInterface returned'].sort(),
    );
    expect(await duplicate.getState()).toBe('suspended');
    await duplicate.cancel();
    await duplicate.release();
  });

  test('a call that fails still counts: Release waits for its answer', async () => {
    const job = await h.bits.createJob({ displayName: 'cancelled' });
    await job.cancel();
    const self = job.pointer.address();
    calls.length = 0;
    const resume = job.resume(); // a cancelled job refuses it
    const released = job.release();
    await expect(resume).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await released;
    expect(on(self)).toEqual(['Resume issued', 'Resume returned', 'Release issued', 'Release returned']);
  });

  test('with nothing in flight the Release goes out at once, and only once however often release() is called', async () => {
    const job = await h.bits.createJob({ displayName: 'idle' });
    await job.cancel();
    const self = job.pointer.address();
    calls.length = 0;
    const first = job.release();
    expect(job.release()).toBe(first);
    await first;
    expect(on(self)).toEqual(['Release issued', 'Release returned']);
  });
});
