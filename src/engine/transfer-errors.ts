import { RxBitsError } from '../com/errors.js';
import {
  BG_E_INSUFFICIENT_RANGE_SUPPORT,
  E_ACCESSDENIED,
  E_FAIL,
  E_INVALIDARG,
  ERROR_DISK_FULL,
  ERROR_FILE_NOT_FOUND,
  ERROR_PATH_NOT_FOUND,
  hresultForHttpStatus,
  labelHresult,
  toUnsignedHresult,
  WINHTTP_E_INVALID_SERVER_RESPONSE,
  WINHTTP_E_SECURE_CERT_CN_INVALID,
  WINHTTP_E_SECURE_CERT_DATE_INVALID,
  WINHTTP_E_SECURE_FAILURE,
  WINHTTP_E_SECURE_INVALID_CA,
  WININET_E_CANNOT_CONNECT,
  WININET_E_CONNECTION_ABORTED,
  WININET_E_CONNECTION_RESET,
  WININET_E_NAME_NOT_RESOLVED,
  WININET_E_TIMEOUT,
} from '../com/hresult.js';
import type { ErrorContext } from '../com/enums.js';
import { isTransientJobError } from '../operators/is-transient-job-error.js';

export type TransferErrorContext = Extract<ErrorContext, 'localFile' | 'remoteFile' | 'generalTransport'>;

/** Why one file of a job could not be transferred, as BITS would report it: an HRESULT and the side at fault. */
export class TransferError extends RxBitsError {
  override readonly name = 'TransferError';
  readonly hresult: number;
  constructor(
    hresult: number,
    readonly context: TransferErrorContext,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.hresult = toUnsignedHresult(hresult);
  }

  /** Worth another attempt later; the one classification is {@link isTransientJobError}. */
  get transient(): boolean {
    return isTransientJobError(this);
  }
}

const NETWORK_CODES: ReadonlyMap<string, number> = new Map([
  ['ECONNREFUSED', WININET_E_CANNOT_CONNECT],
  ['EHOSTUNREACH', WININET_E_CANNOT_CONNECT],
  ['ENETUNREACH', WININET_E_CANNOT_CONNECT],
  ['EADDRNOTAVAIL', WININET_E_CANNOT_CONNECT],
  ['ENOTFOUND', WININET_E_NAME_NOT_RESOLVED],
  ['EAI_AGAIN', WININET_E_NAME_NOT_RESOLVED],
  ['EAI_NONAME', WININET_E_NAME_NOT_RESOLVED],
  ['ETIMEDOUT', WININET_E_TIMEOUT],
  ['UND_ERR_CONNECT_TIMEOUT', WININET_E_TIMEOUT],
  ['UND_ERR_HEADERS_TIMEOUT', WININET_E_TIMEOUT],
  ['UND_ERR_BODY_TIMEOUT', WININET_E_TIMEOUT],
  ['ECONNRESET', WININET_E_CONNECTION_RESET],
  ['EPIPE', WININET_E_CONNECTION_RESET],
  // The server closed its side (FIN) before the declared end of the body.
  ['UND_ERR_SOCKET', WININET_E_CONNECTION_ABORTED],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', WININET_E_CONNECTION_ABORTED],
  ['ECONNABORTED', WININET_E_CONNECTION_ABORTED],
  ['ERR_STREAM_PREMATURE_CLOSE', WININET_E_CONNECTION_ABORTED],
]);

const CERTIFICATE_CODES: ReadonlyMap<string, number> = new Map([
  ['CERT_HAS_EXPIRED', WINHTTP_E_SECURE_CERT_DATE_INVALID],
  ['CERT_NOT_YET_VALID', WINHTTP_E_SECURE_CERT_DATE_INVALID],
  ['ERR_TLS_CERT_ALTNAME_INVALID', WINHTTP_E_SECURE_CERT_CN_INVALID],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', WINHTTP_E_SECURE_INVALID_CA],
  ['SELF_SIGNED_CERT_IN_CHAIN', WINHTTP_E_SECURE_INVALID_CA],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', WINHTTP_E_SECURE_INVALID_CA],
  ['UNABLE_TO_GET_ISSUER_CERT', WINHTTP_E_SECURE_INVALID_CA],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', WINHTTP_E_SECURE_INVALID_CA],
  ['CERT_UNTRUSTED', WINHTTP_E_SECURE_INVALID_CA],
  ['CERT_REVOKED', WINHTTP_E_SECURE_FAILURE],
  ['CERT_SIGNATURE_FAILURE', WINHTTP_E_SECURE_FAILURE],
  ['ERR_SSL_WRONG_VERSION_NUMBER', WINHTTP_E_SECURE_FAILURE],
]);

const LOCAL_WRITE_CODES: ReadonlyMap<string, number> = new Map([
  ['ENOSPC', ERROR_DISK_FULL],
  ['EDQUOT', ERROR_DISK_FULL],
  ['EACCES', E_ACCESSDENIED],
  ['EPERM', E_ACCESSDENIED],
  ['EROFS', E_ACCESSDENIED],
  ['EISDIR', E_ACCESSDENIED],
  // Writing a file never misses the file itself (it is created): what is missing is its folder.
  ['ENOENT', ERROR_PATH_NOT_FOUND],
  ['ENOTDIR', ERROR_PATH_NOT_FOUND],
]);

const LOCAL_SOURCE_CODES: ReadonlyMap<string, number> = new Map([
  ['ENOENT', ERROR_FILE_NOT_FOUND],
  ['ENOTDIR', ERROR_PATH_NOT_FOUND],
  ['EACCES', E_ACCESSDENIED],
  ['EPERM', E_ACCESSDENIED],
  ['EISDIR', E_ACCESSDENIED],
]);

/** The string `code`s of an error and of the errors in its `cause` chain, outermost first. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

/** The first code of the error's chain that this table knows. */
function knownCode(error: unknown, table: ReadonlyMap<string, number>): string | undefined {
  return codesOf(error).find((code) => table.has(code));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function transferError(hresult: number, context: TransferErrorContext, what: string, cause?: unknown): TransferError {
  return new TransferError(hresult, context, `${what}: ${labelHresult(hresult)}`, cause === undefined ? undefined : { cause });
}

/** 407 can only come from a proxy, so it is the transport's failure; every other status is the file's. */
export function httpStatusError(status: number, url: string): TransferError {
  const context: TransferErrorContext = status === 407 ? 'generalTransport' : 'remoteFile';
  return transferError(hresultForHttpStatus(status), context, `${url} answered HTTP ${status}`);
}

export function timeoutError(url: string, idleTimeoutMs: number): TransferError {
  return transferError(WININET_E_TIMEOUT, 'remoteFile', `${url} sent nothing for ${idleTimeoutMs} ms`);
}

export function truncatedBodyError(url: string, received: number, declared: number): TransferError {
  return transferError(WININET_E_CONNECTION_ABORTED, 'remoteFile', `${url} ended its body after ${received} of ${declared} bytes`);
}

export function overlongBodyError(url: string, declared: number): TransferError {
  return transferError(WININET_E_CONNECTION_ABORTED, 'remoteFile', `${url} sent more than the ${declared} bytes it declared`);
}

export function rangeNotHonouredError(url: string, detail: string): TransferError {
  return transferError(BG_E_INSUFFICIENT_RANGE_SUPPORT, 'remoteFile', `${url}: ${detail}`);
}

export function unsupportedSourceError(url: string): TransferError {
  return transferError(E_INVALIDARG, 'remoteFile', `${url} is neither an http(s) URL nor an absolute path or file: URL`);
}

/**
 * A failure of the connection or of the HTTP exchange. Context: 'remoteFile', as BITS reports a
 * server it cannot resolve, reach or keep talking to; but 'generalTransport' when a proxy was in
 * the way and no answer arrived yet, because then the peer we failed to reach is the proxy, not the server.
 */
export function networkError(error: unknown, url: string, proxyBeforeAnswer: boolean): TransferError {
  const certificate = knownCode(error, CERTIFICATE_CODES);
  if (certificate !== undefined) {
    return transferError(CERTIFICATE_CODES.get(certificate) ?? WINHTTP_E_SECURE_FAILURE, 'remoteFile', `${url}: TLS ${certificate}`, error);
  }
  const context: TransferErrorContext = proxyBeforeAnswer ? 'generalTransport' : 'remoteFile';
  const proxyStatus = /Proxy response \((\d{3})\)/.exec(describe(error))?.[1];
  if (proxyStatus !== undefined) {
    return transferError(hresultForHttpStatus(Number(proxyStatus)), 'generalTransport', `the proxy refused to tunnel to ${url}`, error);
  }
  const code = knownCode(error, NETWORK_CODES);
  if (code !== undefined) return transferError(NETWORK_CODES.get(code) ?? E_FAIL, context, `${url}: ${code}`, error);
  if (codesOf(error).some((parserCode) => parserCode.startsWith('HPE_'))) {
    return transferError(WINHTTP_E_INVALID_SERVER_RESPONSE, 'remoteFile', `${url}: ${describe(error)}`, error);
  }
  return transferError(E_FAIL, context, `${url}: ${describe(error)}`, error);
}

/** A failure to create, open or write the temporary file: always final, the local side's fault. */
export function localWriteError(error: unknown, path: string): TransferError {
  const code = knownCode(error, LOCAL_WRITE_CODES);
  const hresult = code === undefined ? E_FAIL : (LOCAL_WRITE_CODES.get(code) ?? E_FAIL);
  return transferError(hresult, 'localFile', `writing ${path} failed (${code ?? describe(error)})`, error);
}

/** A failure to read a local source file: the "remote" file of a file-to-file job. */
export function localSourceError(error: unknown, path: string): TransferError {
  const code = knownCode(error, LOCAL_SOURCE_CODES);
  const hresult = code === undefined ? E_FAIL : (LOCAL_SOURCE_CODES.get(code) ?? E_FAIL);
  return transferError(hresult, 'remoteFile', `reading ${path} failed (${code ?? describe(error)})`, error);
}
