import { describe, expect, test } from 'vitest';
import { InterfaceNotSupportedError, type BitsJob, type BitsManager } from '../src/index.js';
import { useEngine } from './support/engine-harness.js';
import { useLoopback } from './support/harness.js';
import { withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyJob3-5 on the backends that serve BITS's interfaces inside the process: neither the
 * Delivery Optimization bridge nor the portable engine has them, and each method says so with the
 * typed refusal naming the backend, the interface and the BITS version, instead of a raw E_NOINTERFACE.
 */

const calls: ReadonlyArray<readonly [string, string, string, (job: BitsJob) => Promise<unknown>]> = [
  ['replaceRemotePrefix', 'IBackgroundCopyJob3', '2.0', (job) => job.replaceRemotePrefix('http://a', 'http://b')],
  ['getMaximumDownloadTime', 'IBackgroundCopyJob4', '3.0', (job) => job.getMaximumDownloadTime()],
  ['setProperty', 'IBackgroundCopyJob5', '5.0', (job) => job.setProperty('transferPolicy', 'standard')],
];

async function refused(bits: BitsManager, backend: string, interfaceName: string, introducedIn: string, act: (job: BitsJob) => Promise<unknown>): Promise<void> {
  await withJob(bits, async (job) => {
    const error = await act(job).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InterfaceNotSupportedError);
    expect(error).toMatchObject({ backend, interfaceName, introducedIn });
  });
}

describe('Delivery Optimization', () => {
  const h = useLoopback({}, 'delivery-optimization');
  test.each(calls)('%s is an InterfaceNotSupportedError naming %s', async (_name, interfaceName, introducedIn, act) => {
    await refused(h.bits, 'delivery-optimization', interfaceName, introducedIn, act);
  });
});

describe('the portable engine', () => {
  const h = useEngine();
  test.each(calls)('%s is an InterfaceNotSupportedError naming %s', async (_name, interfaceName, introducedIn, act) => {
    await refused(h.bits, 'portable', interfaceName, introducedIn, act);
  });
});
