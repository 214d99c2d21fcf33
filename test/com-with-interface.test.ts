import { describe, expect, test, vi } from 'vitest';
import { InterfaceNotSupportedError, NotSupportedByBackendError } from '../src/com/errors.js';
import { IDODownload } from '../src/com/do-interfaces.js';
import { IBackgroundCopyJobHttpOptions } from '../src/com/interfaces.js';
import { pointerSlot } from '../src/com/native-types.js';
import { useLoopback } from './support/harness.js';

/*
 * BitsJob.withInterface: the job through another of its interfaces, released afterwards; an interface
 * the service lacks is a typed error naming it and the BITS version that introduced it, asked for
 * once per job. The harness checks after each test that the service holds no tear-off any more.
 */

describe('withInterface on BITS', () => {
  const h = useLoopback();

  test('a supported interface is used, and its reference is given back once the use is done', async () => {
    const job = await h.bits.createJob({ displayName: 'http options' });
    const flags = await job.withInterface(IBackgroundCopyJobHttpOptions, async (options) => {
      expect(h.service.references().httpOptions).toBe(1);
      await options.call('SetSecurityFlags', 0x1);
      const slot = Buffer.alloc(4);
      await options.call('GetSecurityFlags', slot);
      return slot.readUInt32LE();
    });
    expect(flags).toBe(0x1);
    expect(h.service.references().httpOptions).toBe(0);
    await job.cancel();
    await job.release();
  });

  test('the reference is given back when the use fails, and the failure goes through', async () => {
    const job = await h.bits.createJob({ displayName: 'failing use' });
    const failure = new Error('the use failed');
    await expect(
      job.withInterface(IBackgroundCopyJobHttpOptions, async (options) => {
        await options.call('GetCustomHeaders', pointerSlot());
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(h.service.references().httpOptions).toBe(0);
    await job.cancel();
    await job.release();
  });

  test('a supported interface is asked for at every use: only refusals are remembered', async () => {
    const job = await h.bits.createJob({ displayName: 'asked each time' });
    const queryInterface = vi.spyOn(job.pointer, 'queryInterface');
    await job.setCustomHeaders({ 'X-A': 'b' });
    expect(await job.getCustomHeaders()).toEqual({ 'X-A': 'b' });
    expect(queryInterface).toHaveBeenCalledTimes(2);
    await job.cancel();
    await job.release();
  });

  test('an interface BITS does not define is refused without a version', async () => {
    const job = await h.bits.createJob({ displayName: 'no DO download' });
    await expect(job.withInterface(IDODownload, async () => undefined)).rejects.toMatchObject({
      name: 'InterfaceNotSupportedError',
      interfaceName: 'IDODownload',
      introducedIn: undefined,
      message: "IDODownload is not supported by the 'bits' backend: this service does not have it",
    });
    await job.cancel();
    await job.release();
  });
});

describe('withInterface on a service without the interface', () => {
  const h = useLoopback({}, 'delivery-optimization');

  test('E_NOINTERFACE is an InterfaceNotSupportedError naming the interface and BITS 2.5', async () => {
    const job = await h.bits.createJob({ displayName: 'no http options' });
    const use = vi.fn(async () => 'used');
    const refusal = job.withInterface(IBackgroundCopyJobHttpOptions, use);
    await expect(refusal).rejects.toBeInstanceOf(InterfaceNotSupportedError);
    await expect(refusal).rejects.toBeInstanceOf(NotSupportedByBackendError);
    await expect(refusal).rejects.toMatchObject({
      interfaceName: 'IBackgroundCopyJobHttpOptions',
      introducedIn: '2.5',
      backend: 'delivery-optimization',
      message: expect.stringMatching(/IBackgroundCopyJobHttpOptions .*BITS 2\.5/),
    });
    expect(use).not.toHaveBeenCalled();
    await job.cancel();
    await job.release();
  });

  test('the refusal is remembered: the service is asked once per job, and a new job asks again', async () => {
    const first = await h.bits.createJob({ displayName: 'first' });
    const second = await h.bits.createJob({ displayName: 'second' });
    const asked = [vi.spyOn(first.pointer, 'queryInterface'), vi.spyOn(second.pointer, 'queryInterface')];
    const use = async () => undefined;
    for (let i = 0; i < 3; i++) await expect(first.withInterface(IBackgroundCopyJobHttpOptions, use)).rejects.toBeInstanceOf(InterfaceNotSupportedError);
    await expect(second.withInterface(IBackgroundCopyJobHttpOptions, use)).rejects.toBeInstanceOf(InterfaceNotSupportedError);
    expect(asked.map((spy) => spy.mock.calls.length)).toEqual([1, 1]);
    for (const job of [first, second]) {
      await job.cancel();
      await job.release();
    }
  });

});
