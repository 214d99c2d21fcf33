import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../src/index.js';
import { checkHeaders } from '../src/com/validate.js';
import { useLoopback } from './support/harness.js';

/** Issue G: header values are checked for each of CR, LF and NUL on its own, not only for CRLF. */
describe('a header value may not carry CR, LF or NUL', () => {
  test.each([
    ['a bare LF', 'a\nInjected: yes'],
    ['a bare CR', 'a\rInjected: yes'],
    ['a CRLF', 'a\r\nInjected: yes'],
    ['a NUL', 'a\0b'],
    ['a trailing LF', 'a\n'],
  ])('%s is refused, naming the header', (_what, value) => {
    expect(() => checkHeaders({ 'X-Ok': 'fine', 'X-Evil': value }, 'headers')).toThrow(InvalidArgumentError);
    expect(() => checkHeaders({ 'X-Evil': value }, 'headers')).toThrow(/headers\.X-Evil/);
  });

  test('ordinary values become CRLF-joined lines', () => {
    expect(checkHeaders({ 'X-A': 'one two', 'X-B': 'tab\there' }, 'headers')).toBe('X-A: one two\r\nX-B: tab\there');
  });

  describe('before any COM call', () => {
    const h = useLoopback();

    test('createJob and setCustomHeaders refuse a bare LF, and the service is not asked', async () => {
      const created = h.service.calls('IBackgroundCopyManager::CreateJob');
      await expect(h.bits.createJob({ displayName: 'lf', headers: { 'X-Evil': 'a\nInjected: yes' } })).rejects.toThrow(InvalidArgumentError);
      expect(h.service.calls('IBackgroundCopyManager::CreateJob')).toBe(created);
      const job = await h.bits.createJob({ displayName: 'lf2' });
      await expect(job.setCustomHeaders({ 'X-Evil': 'a\nInjected: yes' })).rejects.toThrow(/headers\.X-Evil/);
      expect(await job.getCustomHeaders()).toEqual({});
      await job.cancel();
      await job.release();
    });
  });
});
