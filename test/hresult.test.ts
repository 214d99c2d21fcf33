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

  // bits-com-extended.md's "Result codes" (BitsMsg.h), BITS 1.5 to 10.3.
  test.each([
    [0x0020002a, 'BG_S_PROXY_CHANGED'],
    [0x00200055, 'BG_S_OVERRIDDEN_BY_POLICY'],
    [0x8020001b, 'BG_E_INVALID_SERVER_RESPONSE'],
    [0x8020001c, 'BG_E_TOO_MANY_FILES'],
    [0x8020001d, 'BG_E_LOCAL_FILE_CHANGED'],
    [0x80200020, 'BG_E_TOO_LARGE'],
    [0x80200021, 'BG_E_STRING_TOO_LONG'],
    [0x80200024, 'BG_E_NO_PROGRESS'],
    [0x80200025, 'BG_E_USERNAME_TOO_LARGE'],
    [0x80200026, 'BG_E_PASSWORD_TOO_LARGE'],
    [0x80200027, 'BG_E_INVALID_AUTH_TARGET'],
    [0x80200028, 'BG_E_INVALID_AUTH_SCHEME'],
    [0x80200029, 'BG_E_FILE_NOT_FOUND'],
    [0x8020002b, 'BG_E_INVALID_RANGE'],
    [0x8020002c, 'BG_E_OVERLAPPING_RANGES'],
    [0x8020002d, 'BG_E_CONNECT_FAILURE'],
    [0x8020002e, 'BG_E_CONNECTION_CLOSED'],
    [0x80200040, 'BG_E_INVALID_CREDENTIALS'],
    [0x80200047, 'BG_E_PEERCACHING_DISABLED'],
    [0x80200051, 'BG_E_TOO_MANY_FILES_IN_JOB'],
    [0x80200052, 'BG_E_TOO_MANY_RANGES_IN_FILE'],
    [0x80200056, 'BG_E_TOKEN_REQUIRED'],
    [0x80200057, 'BG_E_UNKNOWN_PROPERTY_ID'],
    [0x80200058, 'BG_E_READ_ONLY_PROPERTY'],
    [0x80200059, 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY'],
    [0x80200060, 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY'],
    [0x80200061, 'BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE'],
    [0x80200062, 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME'],
    [0x80200063, 'BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE'],
    [0x80200064, 'BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED'],
    [0x80200065, 'BG_E_STANDBY_MODE'],
    [0x80200066, 'BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED'],
    [0x80200067, 'BG_E_BLOCKED_BY_BATTERY_POLICY'],
    [0x80200068, 'BG_E_BLOCKED_BY_BATTERY_SAVER'],
    [0x80200069, 'BG_E_WATCHDOG_TIMEOUT'],
    [0x8020006a, 'BG_E_APP_PACKAGE_NOT_FOUND'],
    [0x8020006b, 'BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED'],
    [0x8020006c, 'BG_E_DATABASE_CORRUPT'],
    [0x8020006d, 'BG_E_RANDOM_ACCESS_NOT_SUPPORTED'],
    [0x8020006e, 'BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY'],
    [0x8020006f, 'BG_E_BLOCKED_BY_GAME_MODE'],
    [0x80200070, 'BG_E_BLOCKED_BY_SYSTEM_POLICY'],
    [0x80200071, 'BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD'],
    [0x80200072, 'BG_E_UNSUPPORTED_JOB_CONFIGURATION'],
    [0x80200073, 'BG_E_REMOTE_FILE_CHANGED'],
    [0x80200074, 'BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED'],
    [0x80200075, 'BG_E_READ_ONLY_WHEN_JOB_ACTIVE'],
    [0x80200076, 'BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK'],
  ])('BITS 1.5-10.3: %s is %s, both ways', (code, name) => {
    expect(hresultName(code)).toBe(name);
    expect(hresultByName(name)).toBe(code);
    expect(hresultMessage(code)).toBeTruthy();
  });

  // The codes users meet most, each with a message that says what to do about it.
  test.each([
    [0x800704dd, 'ERROR_NOT_LOGGED_ON', /interactive logon.*connect\(\) without a backend.*portable engine/],
    [0x80070422, 'ERROR_SERVICE_DISABLED', /disabled.*Manual.*portable engine/],
    [0x8020006e, 'BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY', /background.*Allow the app/],
    [0x80072efe, 'WININET_E_CONNECTION_ABORTED', /retries.*proxy, firewall/],
    [0x80072ee7, 'WININET_E_NAME_NOT_RESOLVED', /host name.*DNS.*proxy/],
    [0x80072ee2, 'WININET_E_TIMEOUT', /in time.*retries.*server is up/],
  ])('%s (%s) says what to do', (code, name, advice) => {
    expect(hresultName(code)).toBe(name);
    expect(hresultMessage(code)).toMatch(advice);
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
