import { describe, expect, test } from 'vitest';
import { InterfaceNotSupportedError, type BitsFile, type BitsManager } from '../src/index.js';
import { useEngine } from './support/engine-harness.js';
import { useLoopback } from './support/harness.js';
import { withJob } from './support/job-interfaces.js';

/*
 * IBackgroundCopyFile2-6 on the backends that serve BITS's interfaces inside the process: the file
 * objects of the Delivery Optimization bridge and of the portable engine are IBackgroundCopyFile only,
 * and each later method says so with the typed refusal naming the backend, the interface and the BITS
 * version, instead of a raw E_NOINTERFACE.
 */

const calls: ReadonlyArray<readonly [string, string, string, (file: BitsFile) => Promise<unknown>]> = [
  ['setRemoteName', 'IBackgroundCopyFile2', '2.0', (file) => file.setRemoteName('http://127.0.0.1:1/b.bin')],
  ['getTemporaryName', 'IBackgroundCopyFile3', '3.0', (file) => file.getTemporaryName()],
  ['getPeerDownloadStats', 'IBackgroundCopyFile4', '4.0', (file) => file.getPeerDownloadStats()],
  ['getProperty', 'IBackgroundCopyFile5', '5.0', (file) => file.getProperty('httpResponseHeaders')],
  ['requestFileRanges', 'IBackgroundCopyFile6', '10.1', (file) => file.requestFileRanges([{ offset: 0, length: 1 }])],
];

async function refused(bits: BitsManager, localPath: string, backend: string, interfaceName: string, introducedIn: string, act: (file: BitsFile) => Promise<unknown>): Promise<void> {
  await withJob(bits, async (job) => {
    await job.addFile({ url: 'http://127.0.0.1:1/a.bin', localPath });
    const files = await job.files();
    try {
      expect(files).toHaveLength(1);
      const error = await act(files[0]!).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InterfaceNotSupportedError);
      expect(error).toMatchObject({ backend, interfaceName, introducedIn });
    } finally {
      await Promise.all(files.map((file) => file.release()));
    }
  });
}

describe('Delivery Optimization', () => {
  const h = useLoopback({}, 'delivery-optimization');
  test.each(calls)('%s is an InterfaceNotSupportedError naming %s', async (_name, interfaceName, introducedIn, act) => {
    await refused(h.bits, h.local('a.bin'), 'delivery-optimization', interfaceName, introducedIn, act);
  });
});

describe('the portable engine', () => {
  const h = useEngine();
  test.each(calls)('%s is an InterfaceNotSupportedError naming %s', async (_name, interfaceName, introducedIn, act) => {
    await refused(h.bits, h.local('a.bin'), 'portable', interfaceName, introducedIn, act);
  });
});
