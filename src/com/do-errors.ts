import { hresultByName } from './hresult.js';

/**
 * Delivery Optimization's result codes the library acts on, read from the one table of named codes
 * (hresult.ts), so that each number is written once.
 */
function code(name: string): number {
  const found = hresultByName(name);
  if (found === undefined) throw new Error(`hresult.ts has no ${name}`);
  return found;
}

export const DO_E_NO_SERVICE = code('DO_E_NO_SERVICE');
export const DO_E_DOWNLOAD_NO_PROGRESS = code('DO_E_DOWNLOAD_NO_PROGRESS');
export const DO_E_NO_DOWNLOADS = code('DO_E_NO_DOWNLOADS');
export const DO_E_UNKNOWN_PROPERTY_ID = code('DO_E_UNKNOWN_PROPERTY_ID');
export const DO_E_READ_ONLY_PROPERTY = code('DO_E_READ_ONLY_PROPERTY');
export const DO_E_WRITE_ONLY_PROPERTY = code('DO_E_WRITE_ONLY_PROPERTY');
export const DO_E_INVALID_STATE = code('DO_E_INVALID_STATE');
export const DO_E_INTEGRITYCHECKINFO_UNSPECIFIED = code('DO_E_INTEGRITYCHECKINFO_UNSPECIFIED');
export const DO_E_INTEGRITYCHECKINFO_UNAVAILABLE = code('DO_E_INTEGRITYCHECKINFO_UNAVAILABLE');
export const DO_E_FILE_DOWNLOADSINK_UNSPECIFIED = code('DO_E_FILE_DOWNLOADSINK_UNSPECIFIED');
export const DO_E_FILE_DOWNLOADSINK_ALREADY_SET = code('DO_E_FILE_DOWNLOADSINK_ALREADY_SET');
export const DO_E_DOWNLOAD_NO_URI = code('DO_E_DOWNLOAD_NO_URI');
export const DO_E_NO_DOWNLOAD_PARTICIPATION = code('DO_E_NO_DOWNLOAD_PARTICIPATION');
export const DO_E_NO_DOWNLOAD_EXTSETTINGS = code('DO_E_NO_DOWNLOAD_EXTSETTINGS');
export const DO_E_BLOCKED_BY_COST_TRANSFER_POLICY = code('DO_E_BLOCKED_BY_COST_TRANSFER_POLICY');
export const DO_E_BLOCKED_BY_NO_NETWORK = code('DO_E_BLOCKED_BY_NO_NETWORK');
/** GetProperty of a property never set: HRESULT_FROM_WIN32(ERROR_NOT_FOUND). */
export const E_NOT_SET = 0x80070490;

/**
 * IS_DO_TRANSIENT_ERROR (deliveryoptimizationerrors.h): DO's transient zone, 0x80D038xx (policy, cost,
 * power, no network...). DO waits such a condition out by itself.
 */
export function isDoTransientError(hresult: number): boolean {
  const hr = hresult >>> 0;
  return hr >= 0x80000000 && ((hr >>> 16) & 0x7ff) === 0xd0 && (hr & 0xf800) === 0x3800;
}
