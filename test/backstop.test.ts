import v8 from 'node:v8';
import vm from 'node:vm';
import { expect, test } from 'vitest';
import { connect, referenceStats, type BitsManager } from '../src/index.js';
import { LoopbackService } from './loopback/service.js';
import { until } from './support/harness.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Opens a second reference to a job and drops it on the floor, in a scope of its own. */
async function leakOneReference(bits: BitsManager, id: string): Promise<void> {
  const forgotten = await bits.getJob(id);
  expect(forgotten.id).toBe(id);
}

test('a reference nobody released is released by the finalizer backstop, and counted', async () => {
  const service = new LoopbackService();
  const bits = await connect({ runtime: service.runtime });
  const job = await bits.createJob({ displayName: 'leaky' });
  const before = referenceStats();
  await leakOneReference(bits, job.id);
  expect(referenceStats().live).toBe(before.live + 1);
  expect(service.references().jobs).toBe(2);
  await until(async () => {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    return referenceStats().leaked > before.leaked;
  });
  expect(referenceStats()).toEqual({ live: before.live, leaked: before.leaked + 1 });
  await until(() => service.references().jobs === 1);
  await job.cancel();
  await job.release();
  await bits.release();
  await service.close();
  service.assertNoLeaks();
});
