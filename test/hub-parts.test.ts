import { describe, expect, test } from 'vitest';
import { holdProcess, releaseProcess } from '../src/observables/keep-alive.js';
import { ServiceUnavailableError } from '../src/observables/service-unavailable-error.js';
import { RxBitsError } from '../src/com/errors.js';
import { parseGuid } from '../src/com/guid.js';

/** Small parts of the hub, without COM. */

const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

describe('the keep-alive', () => {
  test('one ref’d timer while anyone holds the process, none once the last holder lets go', () => {
    const before = timers();
    holdProcess();
    expect(timers()).toBe(before + 1);
    holdProcess();
    expect(timers()).toBe(before + 1);
    releaseProcess();
    expect(timers()).toBe(before + 1);
    releaseProcess();
    expect(timers()).toBe(before);
    holdProcess();
    expect(timers()).toBe(before + 1);
    releaseProcess();
    expect(timers()).toBe(before);
  });
});

describe('ServiceUnavailableError', () => {
  test('names the job, the last answer and how long it was tried', () => {
    const error = new ServiceUnavailableError(parseGuid('7D5F2C1A-0B3E-4F6A-9C8D-1E2F3A4B5C6D'), 0x800706ba, 1500);
    expect(error).toBeInstanceOf(RxBitsError);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error).toMatchObject({ jobId: '7D5F2C1A-0B3E-4F6A-9C8D-1E2F3A4B5C6D', hresult: 0x800706ba, waited: 1500 });
    expect(error.message).toBe(
      'the transfer service stayed unreachable for 1500 ms while watching job 7D5F2C1A-0B3E-4F6A-9C8D-1E2F3A4B5C6D (last answer RPC_S_SERVER_UNAVAILABLE (0x800706BA))',
    );
  });
});
