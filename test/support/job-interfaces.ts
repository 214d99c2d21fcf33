import { expect } from 'vitest';
import { InterfaceNotSupportedError, InvalidArgumentError, type BitsJob, type BitsManager, type CreateJobOptions } from '../../src/index.js';
import type { Harness } from './harness.js';

/** What the tests of the job interfaces after IBackgroundCopyJob (job2 ... job5) share. */

/** A new job for `use`, cancelled and released afterwards whatever happened. */
export async function withJob(bits: BitsManager, use: (job: BitsJob) => Promise<void>, options: Partial<CreateJobOptions> = {}): Promise<void> {
  const job = await bits.createJob({ displayName: 'job-interfaces', ...options });
  try {
    await use(job);
  } finally {
    await job.cancel().catch(() => undefined);
    await job.release();
  }
}

/** Expects `act` to fail with an InvalidArgumentError naming `field` before any call reached the service. */
export async function refusedBeforeCom(harness: Harness, field: string, act: (job: BitsJob) => Promise<unknown>): Promise<InvalidArgumentError> {
  let caught: unknown;
  await withJob(harness.bits, async (job) => {
    const before = harness.service.totalCalls();
    caught = await act(job).catch((error: unknown) => error);
    expect(harness.service.totalCalls(), 'calls that reached the service').toBe(before);
  });
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect((caught as InvalidArgumentError).field).toBe(field);
  return caught as InvalidArgumentError;
}

/** Expects `act` to fail with the InterfaceNotSupportedError of `interfaceName`, which came with BITS `introducedIn`. */
export async function notOnThisVersion(harness: Harness, interfaceName: string, introducedIn: string, act: (job: BitsJob) => Promise<unknown>): Promise<void> {
  await withJob(harness.bits, async (job) => {
    const error = await act(job).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InterfaceNotSupportedError);
    expect(error).toMatchObject({ interfaceName, introducedIn });
  });
}
