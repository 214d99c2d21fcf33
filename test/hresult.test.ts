import { describe, expect, test } from 'vitest';
import { ComError, formatHresult, hresultByName, hresultMessage, hresultName, httpStatusOf, labelHresult } from '../src/index.js';
import { hresultForHttpStatus, isFailure, toSignedHresult } from '../src/com/hresult.js';

describe('HRESULTs', () => {
  test.each([
    [0x80200001, 'BG_E_NOT_FOUND'],
    [0x80200002, 'BG_E_INVALID_STATE'],
    [0x80200003, 'BG_E_EMPTY'],
    [0x80200004, 'BG_E_FILE_NOT_AVAILABLE'],
    [0x8020000f, 'BG_E_ERROR_INFORMATION_UNAVAILABLE'],
    [0x80200010, 'BG_E_NETWORK_DISCONNECTED'],
    [0x80200011, 'BG_E_MISSING_FILE_SIZE'],
    [0x80200012, 'BG_E_INSUFFICIENT_HTTP_SUPPORT'],
    [0x80200013, 'BG_E_INSUFFICIENT_RANGE_SUPPORT'],
    [0x8020003e, 'BG_E_BLOCKED_BY_POLICY'],
    [0x80200049, 'BG_E_TOO_MANY_JOBS_PER_USER'],
    [0x80200050, 'BG_E_TOO_MANY_JOBS_PER_MACHINE'],
    [0x80200053, 'BG_E_VALIDATION_FAILED'],
    [0x80200054, 'BG_E_MAXDOWNLOAD_TIMEOUT'],
    [0x00200017, 'BG_S_PARTIAL_COMPLETE'],
    [0x0020001a, 'BG_S_UNABLE_TO_DELETE_FILES'],
    [0x80004001, 'E_NOTIMPL'],
    [0x80004002, 'E_NOINTERFACE'],
    [0x80070057, 'E_INVALIDARG'],
    [0x80010106, 'RPC_E_CHANGED_MODE'],
    [0x80d01001, 'DO_E_NO_SERVICE'],
    [0x80d02002, 'DO_E_DOWNLOAD_NO_PROGRESS'],
    [0x80d02003, 'DO_E_JOB_NOT_FOUND'],
    [0x80d02013, 'DO_E_INVALID_STATE'],
    [0x80d03805, 'DO_E_BLOCKED_BY_NO_NETWORK'],
  ])('%s is %s, both ways, signed or not', (code, name) => {
    expect(hresultName(code)).toBe(name);
    expect(hresultName(toSignedHresult(code))).toBe(name);
    expect(hresultByName(name)).toBe(code);
    expect(hresultMessage(code)).toBeTruthy();
  });

  test('HTTP failures are 0x80190000 | status and carry the status', () => {
    expect(hresultForHttpStatus(404)).toBe(0x80190194);
    expect(hresultForHttpStatus(503)).toBe(0x801901f7);
    expect(hresultName(0x80190194)).toBe('BG_E_HTTP_ERROR_404');
    expect(httpStatusOf(0x801901f7)).toBe(503);
    expect(hresultByName('BG_E_HTTP_ERROR_503')).toBe(0x801901f7);
    expect(httpStatusOf(0x80200001)).toBeUndefined();
  });

  test('unknown codes have no name but still format', () => {
    expect(hresultName(0x8badf00d)).toBeUndefined();
    expect(formatHresult(-2145386495)).toBe('0x80200001');
    expect(labelHresult(0x80200001)).toBe('BG_E_NOT_FOUND (0x80200001)');
    expect(labelHresult(0x8badf00d)).toBe('0x8BADF00D');
  });

  test('success codes are not failures', () => {
    expect(isFailure(0x00200017)).toBe(false);
    expect(isFailure(1)).toBe(false);
    expect(isFailure(0x80200001)).toBe(true);
    expect(isFailure(-1)).toBe(true);
  });

  test('ComError carries code, name, interface, method and a message', () => {
    const error = new ComError(toSignedHresult(0x80200002), 'IBackgroundCopyJob', 'Resume');
    expect(error.hresult).toBe(0x80200002);
    expect(error.code).toBe('BG_E_INVALID_STATE');
    expect(error.interfaceName).toBe('IBackgroundCopyJob');
    expect(error.method).toBe('Resume');
    expect(error.message).toBe(
      'IBackgroundCopyJob::Resume failed with BG_E_INVALID_STATE (0x80200002): The requested action is not allowed in the current job state.',
    );
  });
});
