import { writeFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { BG_E_EMPTY, BG_E_INVALID_STATE, formatHresult, S_OK } from '../src/com/hresult.js';
import type { CallArgs, MethodsOf, SignatureOf } from '../src/com/interface-table.js';
import { IBackgroundCopyJob, IBackgroundCopyJobHttpOptions } from '../src/com/interfaces.js';
import type { BitsJob } from '../src/index.js';
import { until, useLoopback, type Harness } from './support/harness.js';

/**
 * What the loopback's jobs accept in each state: a job that left the queue refuses every change
 * ("The state of the job cannot be BG_JOB_STATE_CANCELLED or BG_JOB_STATE_ACKNOWLEDGED"), a
 * TRANSFERRED one still takes files ("Life cycle of a BITS job").
 */

const hex = (hr: number): string => formatHresult(hr);

async function localFile(h: Harness, name: string): Promise<{ url: string; localPath: string }> {
  await writeFile(h.local(`${name}.src`), name);
  return { url: h.local(`${name}.src`), localPath: h.local(`${name}.out`) };
}

async function transferredJob(h: Harness): Promise<BitsJob> {
  const job = await h.bits.createJob({ displayName: 'states', files: [await localFile(h, 'first')] });
  await job.resume();
  await until(async () => (await job.getState()) === 'transferred');
  return job;
}

describe('a job that left the queue', () => {
  const h = useLoopback();
  const finishes = [
    ['cancelled', (job: BitsJob) => job.cancel()],
    ['acknowledged', (job: BitsJob) => job.complete()],
  ] as const;

  for (const [state, finish] of finishes) {
    test(`${state}: every setter, AddFile(Set), Suspend, Resume, Cancel, Complete answer BG_E_INVALID_STATE; getters still answer`, async () => {
      const file = await localFile(h, state);
      const job = await h.bits.createJob({ displayName: state, files: [file] });
      await finish(job);
      const change = <K extends MethodsOf<typeof IBackgroundCopyJob>>(method: K, ...args: CallArgs<SignatureOf<typeof IBackgroundCopyJob, K>>) =>
        [method, () => job.pointer.callRaw(method, ...args)] as const;
      const changes = [
        change('AddFile', file.url, file.localPath),
        change('AddFileSet', 1, [{ RemoteName: file.url, LocalName: file.localPath }]),
        change('Suspend'),
        change('Resume'),
        change('Cancel'),
        change('Complete'),
        change('SetDisplayName', 'renamed'),
        change('SetDescription', 'described'),
        change('SetPriority', 1),
        change('SetNotifyFlags', 3),
        change('SetNotifyInterface', null),
        change('SetMinimumRetryDelay', 60),
        change('SetNoProgressTimeout', 60),
        change('SetProxySettings', 0, null, null),
        change('TakeOwnership'),
      ];
      for (const [method, call] of changes) expect(hex(await call()), method).toBe(hex(BG_E_INVALID_STATE));
      const options = await job.pointer.queryInterface(IBackgroundCopyJobHttpOptions);
      expect(hex(await options.callRaw('SetCustomHeaders', 'X-A: b\r\n'))).toBe(hex(BG_E_INVALID_STATE));
      expect(hex(await options.callRaw('SetSecurityFlags', 0x1))).toBe(hex(BG_E_INVALID_STATE));
      await options.release();

      expect(await job.getState()).toBe(state);
      expect(await job.getDisplayName()).toBe(state);
      expect(await job.getProgress()).toMatchObject({ filesTotal: 1 });
      expect(await job.getNotifyFlags()).toBe(3);
      expect(await job.getCustomHeaders()).toEqual({});
      expect(await job.hasNotifyInterface()).toBe(false);
      await job.release();
    });
  }
});

describe('a TRANSFERRED job', () => {
  const h = useLoopback();

  test('takes another file, and Resume transfers it', async () => {
    const job = await transferredJob(h);
    await job.addFile(await localFile(h, 'second'));
    expect(await job.getState()).toBe('transferred');
    await job.resume();
    await until(async () => (await job.getProgress()).filesTransferred === 2 && (await job.getState()) === 'transferred');
    await job.complete();
    await job.release();
  });

  test('Resume with nothing left to transfer is a no-op by default; Suspend suspends it, Resume brings it back', async () => {
    const job = await transferredJob(h);
    expect(hex(await job.pointer.callRaw('Resume'))).toBe(hex(S_OK));
    expect(await job.getState()).toBe('transferred');
    await job.suspend();
    expect(await job.getState()).toBe('suspended');
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    await job.complete();
    await job.release();
  });
});

describe("resumeWithNothingLeft: 'empty' (Wine)", () => {
  const h = useLoopback({ resumeWithNothingLeft: 'empty' });

  test('Resume of a TRANSFERRED job answers BG_E_EMPTY and leaves it TRANSFERRED', async () => {
    const job = await transferredJob(h);
    expect(hex(await job.pointer.callRaw('Resume'))).toBe(hex(BG_E_EMPTY));
    expect(await job.getState()).toBe('transferred');
    await job.complete();
    await job.release();
  });
});
