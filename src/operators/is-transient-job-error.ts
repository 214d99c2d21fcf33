import { httpStatusOf, hresultName } from '../com/hresult.js';

/** Codes worth another try: the network, the server's load, timeouts, Delivery Optimization's temporary blocks. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'BG_E_NETWORK_DISCONNECTED',
  'WININET_E_CANNOT_CONNECT',
  'WININET_E_TIMEOUT',
  'WININET_E_NAME_NOT_RESOLVED',
  'WININET_E_CONNECTION_ABORTED',
  'WININET_E_CONNECTION_RESET',
  // A garbled answer (a proxy or server having a bad moment): BITS retries it too.
  'WINHTTP_E_INVALID_SERVER_RESPONSE',
  'BG_E_MAXDOWNLOAD_TIMEOUT',
  'DO_E_DOWNLOAD_NO_PROGRESS',
]);

/**
 * The default retry classification of `retryOnJobError`. Transient: network disconnected or
 * unreachable, HTTP 408, 429 and 5xx, timeouts, and Delivery Optimization's `DO_E_BLOCKED_BY_*`.
 * Everything else is not: other 4xx, access denied, disk full, invalid arguments, unknown codes.
 *
 * @example
 * retryOnJobError(job, { shouldRetry: (e) => isTransientJobError(e) || e.code === 'BG_E_HTTP_ERROR_404' });
 */
export function isTransientJobError(error: { readonly hresult: number }): boolean {
  const status = httpStatusOf(error.hresult);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const name = hresultName(error.hresult);
  return name !== undefined && (TRANSIENT_CODES.has(name) || name.startsWith('DO_E_BLOCKED_BY_'));
}
