import { writeFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { NotifyFlags, type BitsJob } from '../src/index.js';
import { State } from './loopback/job-model.js';
import { Recorder, until, useLoopback, type Harness } from './support/harness.js';

/** How the loopback calls a callback when it is told to be as hard as BITS. */

const ALL = NotifyFlags.JobTransferred | NotifyFlags.JobError | NotifyFlags.JobModification | NotifyFlags.FileTransferred;

async function localJob(h: Harness, name: string): Promise<BitsJob> {
  await writeFile(h.local(`${name}.src`), 'payload');
  return h.bits.createJob({ displayName: name, files: [{ url: h.local(`${name}.src`), localPath: h.local(`${name}.out`) }] });
}

describe('minimumNotificationIntervalMs: JobModification at most once per interval, the rest coalesced into one trailing call', () => {
  const INTERVAL = 300;
  const h = useLoopback({ minimumNotificationIntervalMs: INTERVAL });

  test('twenty property changes make the first call and one trailing call per interval they spanned', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({ displayName: 'rate' });
    await job.setNotifyFlags(ALL);
    await job.setNotifyInterface(recorder.callback);
    const started = performance.now();
    for (let i = 0; i < 20; i++) await job.setDisplayName(`rate ${i}`);
    const spanned = performance.now() - started;
    await h.service.settled();
    const calls = recorder.count('modification');
    // However slow the machine: the first goes at once, then one per interval the changes spanned.
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(2 + Math.floor(spanned / INTERVAL));
    expect(h.service.notifier.stats.dropped).toBe(20 - calls);
    await job.setNotifyInterface(null);
    await job.cancel();
    await job.release();
    await recorder.dispose();
  });
});

describe('notifiesOnRegistration: a callback registered after the job finished still hears it', () => {
  const h = useLoopback({ notifiesOnRegistration: true });

  test('registering on a TRANSFERRED job calls JobTransferred on the new callback', async () => {
    const job = await localJob(h, 'late');
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    const recorder = new Recorder();
    await job.setNotifyInterface(recorder.callback);
    await recorder.waitFor('transferred');
    expect(recorder.kinds()).toEqual(['transferred']);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });
});

describe('notifiesDuringCalls: what BITS does on its threads happens inside the library calls', () => {
  const h = useLoopback({ notifiesDuringCalls: true, notifiesOnRegistration: true });

  test('Resume of local files answers with the job TRANSFERRED and its notifications already delivered', async () => {
    const recorder = new Recorder();
    const job = await localJob(h, 'inside');
    await job.setNotifyFlags(ALL);
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    // Nothing awaited since Resume answered: all of this arrived while the library's call was in flight.
    expect(recorder.kinds()).toContain('fileTransferred');
    expect(recorder.kinds()).toContain('transferred');
    expect(recorder.kinds().indexOf('fileTransferred')).toBeLessThan(recorder.kinds().indexOf('transferred'));
    expect(h.service.job(job.id)?.state).toBe(State.TRANSFERRED);
    expect(h.service.notifier.stats.duringCalls).toBe(recorder.notifications.length);
    await job.setNotifyInterface(null);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });

  test('SetNotifyInterface on a finished job delivers its terminal notification before it answers', async () => {
    const job = await localJob(h, 'replayed');
    await job.resume();
    expect(await job.getState()).toBe('transferred');
    const recorder = new Recorder();
    await job.setNotifyInterface(recorder.callback);
    expect(recorder.kinds()).toEqual(['transferred']);
    await job.setNotifyInterface(null);
    await job.complete();
    await job.release();
    await recorder.dispose();
  });
});
