import { describe, expect, test } from 'vitest';
import { hresultByName, isTransientJobError } from '../src/index.js';
import { hresultForHttpStatus } from '../src/com/hresult.js';

/** Issue G: every entry of the default retry classification, and its edges, pinned one by one. */
describe('isTransientJobError', () => {
  const byName = (name: string): { hresult: number } => {
    const hresult = hresultByName(name);
    if (hresult === undefined) throw new Error(`unknown code ${name}`);
    return { hresult };
  };

  test.each([
    'BG_E_NETWORK_DISCONNECTED',
    'WININET_E_CANNOT_CONNECT',
    'WININET_E_TIMEOUT',
    'WININET_E_NAME_NOT_RESOLVED',
    'WININET_E_CONNECTION_ABORTED',
    'WININET_E_CONNECTION_RESET',
    'WINHTTP_E_INVALID_SERVER_RESPONSE',
    'BG_E_MAXDOWNLOAD_TIMEOUT',
    'DO_E_DOWNLOAD_NO_PROGRESS',
    'DO_E_BLOCKED_BY_NO_NETWORK',
  ])('%s is transient', (name) => {
    expect(isTransientJobError(byName(name))).toBe(true);
  });

  test.each([408, 429, 500, 503, 599])('HTTP %i is transient', (status) => {
    expect(isTransientJobError({ hresult: hresultForHttpStatus(status) })).toBe(true);
  });

  test.each([400, 404, 407, 409, 428, 430, 499])('HTTP %i is not', (status) => {
    expect(isTransientJobError({ hresult: hresultForHttpStatus(status) })).toBe(false);
  });

  test.each(['E_ACCESSDENIED', 'BG_E_NOT_FOUND', 'E_INVALIDARG'])('%s is not', (name) => {
    expect(isTransientJobError(byName(name))).toBe(false);
  });

  test('an unknown code is not', () => {
    expect(isTransientJobError({ hresult: 0x8badf00d })).toBe(false);
  });
});
