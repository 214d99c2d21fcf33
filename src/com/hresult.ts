/**
 * HRESULTs: the named codes from the Windows SDK (winerror.h, bitsmsg.h, deliveryoptimizationerrors.h)
 * that BITS and Delivery Optimization answer with, so errors can say `BG_E_NOT_FOUND` rather than
 * `-2145386495`. HRESULTs travel through koffi as signed 32-bit integers; everything here works on
 * the unsigned form, which is how Windows documentation prints them.
 */

interface NamedCode {
  readonly name: string;
  readonly message: string;
}

const NAMED_CODES: ReadonlyMap<number, NamedCode> = new Map<number, NamedCode>([
  [0x00000000, { name: 'S_OK', message: 'The operation succeeded.' }],
  [0x00000001, { name: 'S_FALSE', message: 'The operation succeeded with a partial result.' }],
  [0x00200017, { name: 'BG_S_PARTIAL_COMPLETE', message: 'Some of the files of the job were not transferred; only the transferred ones were kept.' }],
  [0x0020001a, { name: 'BG_S_UNABLE_TO_DELETE_FILES', message: 'The job was cancelled or completed, but its temporary files could not all be deleted.' }],
  [0x80004001, { name: 'E_NOTIMPL', message: 'Not implemented.' }],
  [0x80004002, { name: 'E_NOINTERFACE', message: 'No such interface supported.' }],
  [0x80004003, { name: 'E_POINTER', message: 'Invalid pointer.' }],
  [0x80004005, { name: 'E_FAIL', message: 'Unspecified error.' }],
  [0x8000ffff, { name: 'E_UNEXPECTED', message: 'Catastrophic failure.' }],
  [0x80010007, { name: 'RPC_E_SERVER_DIED', message: 'The callee (server) died while the call was being made.' }],
  [0x80010012, { name: 'RPC_E_SERVER_DIED_DNE', message: 'The callee (server) died before the call could be made.' }],
  [0x80010106, { name: 'RPC_E_CHANGED_MODE', message: 'Cannot change thread mode after it is set.' }],
  [0x80010108, { name: 'RPC_E_DISCONNECTED', message: 'The object invoked has disconnected from its clients.' }],
  [0x80040154, { name: 'REGDB_E_CLASSNOTREG', message: 'Class not registered: the service is not installed.' }],
  [0x800401f0, { name: 'CO_E_NOTINITIALIZED', message: 'CoInitialize has not been called.' }],
  [0x800401fd, { name: 'CO_E_OBJNOTCONNECTED', message: 'The object is not connected to the server.' }],
  [0x80070002, { name: 'ERROR_FILE_NOT_FOUND', message: 'The system cannot find the file specified.' }],
  [0x80070003, { name: 'ERROR_PATH_NOT_FOUND', message: 'The system cannot find the path specified.' }],
  [0x80070005, { name: 'E_ACCESSDENIED', message: 'Access is denied.' }],
  [0x8007000e, { name: 'E_OUTOFMEMORY', message: 'Not enough memory resources are available.' }],
  [0x80070057, { name: 'E_INVALIDARG', message: 'The parameter is incorrect.' }],
  [0x80070070, { name: 'ERROR_DISK_FULL', message: 'There is not enough space on the disk.' }],
  [0x80070422, { name: 'ERROR_SERVICE_DISABLED', message: 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.' }],
  [0x80070424, { name: 'ERROR_SERVICE_DOES_NOT_EXIST', message: 'The specified service does not exist as an installed service.' }],
  [0x800704dd, { name: 'ERROR_NOT_LOGGED_ON', message: 'The operation being requested was not performed because the user has not logged on to the network.' }],
  [0x800706ba, { name: 'RPC_S_SERVER_UNAVAILABLE', message: 'The RPC server is unavailable.' }],
  [0x800706be, { name: 'RPC_S_CALL_FAILED', message: 'The remote procedure call failed.' }],
  [0x800706bf, { name: 'RPC_S_CALL_FAILED_DNE', message: 'The remote procedure call failed and did not execute.' }],
  [0x800706f4, { name: 'RPC_X_NULL_REF_POINTER', message: 'A null reference pointer was passed to the stub.' }],
  [0x80072ee2, { name: 'WININET_E_TIMEOUT', message: 'The operation timed out.' }],
  [0x80072ee7, { name: 'WININET_E_NAME_NOT_RESOLVED', message: 'The server name or address could not be resolved.' }],
  [0x80072efd, { name: 'WININET_E_CANNOT_CONNECT', message: 'A connection with the server could not be established.' }],
  [0x80072efe, { name: 'WININET_E_CONNECTION_ABORTED', message: 'The connection with the server was terminated abnormally.' }],
  [0x80072eff, { name: 'WININET_E_CONNECTION_RESET', message: 'The connection with the server was reset.' }],
  [0x80072f05, { name: 'WINHTTP_E_SECURE_CERT_DATE_INVALID', message: "The server's certificate has expired or is not yet valid." }],
  [0x80072f06, { name: 'WINHTTP_E_SECURE_CERT_CN_INVALID', message: "The server's certificate was issued for another host name." }],
  [0x80072f0d, { name: 'WINHTTP_E_SECURE_INVALID_CA', message: "The server's certificate does not chain to a trusted root." }],
  [0x80072f78, { name: 'WINHTTP_E_INVALID_SERVER_RESPONSE', message: 'The server returned an invalid or unrecognized response.' }],
  [0x80072f8f, { name: 'WINHTTP_E_SECURE_FAILURE', message: 'A security error occurred while talking to the server.' }],
  [0x80080005, { name: 'CO_E_SERVER_EXEC_FAILURE', message: 'Server execution failed.' }],
  [0x80200001, { name: 'BG_E_NOT_FOUND', message: 'The requested job was not found.' }],
  [0x80200002, { name: 'BG_E_INVALID_STATE', message: 'The requested action is not allowed in the current job state.' }],
  [0x80200003, { name: 'BG_E_EMPTY', message: 'There are no files attached to this job.' }],
  [0x80200004, { name: 'BG_E_FILE_NOT_AVAILABLE', message: 'No file is available because no URL generated an error.' }],
  [0x8020000f, { name: 'BG_E_ERROR_INFORMATION_UNAVAILABLE', message: 'No error information is available for this job.' }],
  [0x80200010, { name: 'BG_E_NETWORK_DISCONNECTED', message: 'No network connection is active on this computer.' }],
  [0x80200011, { name: 'BG_E_MISSING_FILE_SIZE', message: 'The server did not return the file size.' }],
  [0x80200012, { name: 'BG_E_INSUFFICIENT_HTTP_SUPPORT', message: 'The server does not support HTTP 1.1.' }],
  [0x80200013, { name: 'BG_E_INSUFFICIENT_RANGE_SUPPORT', message: 'The server does not support the necessary HTTP protocol (range requests).' }],
  [0x8020003e, { name: 'BG_E_BLOCKED_BY_POLICY', message: 'Group Policy settings prevent background transfers.' }],
  [0x80200049, { name: 'BG_E_TOO_MANY_JOBS_PER_USER', message: 'The maximum number of jobs for this user has been reached.' }],
  [0x80200050, { name: 'BG_E_TOO_MANY_JOBS_PER_MACHINE', message: 'The maximum number of jobs for this computer has been reached.' }],
  [0x80200053, { name: 'BG_E_VALIDATION_FAILED', message: 'The downloaded content failed validation.' }],
  [0x80200054, { name: 'BG_E_MAXDOWNLOAD_TIMEOUT', message: 'The job did not complete within its maximum download time.' }],
  [0x80d01001, { name: 'DO_E_NO_SERVICE', message: 'Delivery Optimization could not reach its service.' }],
  [0x80d02002, { name: 'DO_E_DOWNLOAD_NO_PROGRESS', message: 'The download made no progress within the allowed time.' }],
  [0x80d02003, { name: 'DO_E_JOB_NOT_FOUND', message: 'The Delivery Optimization job was not found.' }],
  [0x80d02013, { name: 'DO_E_INVALID_STATE', message: 'The operation is not allowed in the current job state.' }],
  [0x80d03805, { name: 'DO_E_BLOCKED_BY_NO_NETWORK', message: 'The download is blocked because there is no network.' }],
]);

const BY_NAME: ReadonlyMap<string, number> = new Map([...NAMED_CODES].map(([code, { name }]) => [name, code]));

/** HTTP status failures are reported as 0x80190000 | status (bitsmsg.h's BG_E_HTTP_ERROR_xxx). */
const HTTP_FACILITY_BASE = 0x80190000;

/** The unsigned 32-bit form of an HRESULT, whatever sign it arrived with. */
export function toUnsignedHresult(hr: number): number {
  return hr >>> 0;
}

/** The signed 32-bit form, which is what a koffi `int32` return value or argument carries. */
export function toSignedHresult(hr: number): number {
  return hr | 0;
}

export function isFailure(hr: number): boolean {
  return (hr | 0) < 0;
}

/** The HTTP status inside a BG_E_HTTP_ERROR_xxx code, or undefined for any other code. */
export function httpStatusOf(hr: number): number | undefined {
  const code = toUnsignedHresult(hr);
  const status = code & 0xffff;
  return (code & 0xffff0000) >>> 0 === HTTP_FACILITY_BASE && status >= 100 && status <= 599 ? status : undefined;
}

/** The HRESULT BITS uses for an HTTP failure with this status, e.g. 404 -> 0x80190194. */
export function hresultForHttpStatus(status: number): number {
  return (HTTP_FACILITY_BASE | status) >>> 0;
}

/** The symbolic name of a code (`BG_E_NOT_FOUND`, `BG_E_HTTP_ERROR_404`), or undefined when unknown. */
export function hresultName(hr: number): string | undefined {
  const status = httpStatusOf(hr);
  if (status !== undefined) return `BG_E_HTTP_ERROR_${status}`;
  return NAMED_CODES.get(toUnsignedHresult(hr))?.name;
}

/** The code for a symbolic name; the inverse of {@link hresultName}. */
export function hresultByName(name: string): number | undefined {
  const http = /^BG_E_HTTP_ERROR_(\d{3})$/.exec(name);
  if (http?.[1] !== undefined) return hresultForHttpStatus(Number(http[1]));
  return BY_NAME.get(name);
}

/** A one-line English description from our own table, for when the service cannot describe a code. */
export function hresultMessage(hr: number): string | undefined {
  const status = httpStatusOf(hr);
  if (status !== undefined) return `The server answered HTTP ${status}.`;
  return NAMED_CODES.get(toUnsignedHresult(hr))?.message;
}

/** `0x80200001` */
export function formatHresult(hr: number): string {
  return `0x${toUnsignedHresult(hr).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** `BG_E_NOT_FOUND (0x80200001)`, or just the hex form for a code we cannot name. */
export function labelHresult(hr: number): string {
  const name = hresultName(hr);
  return name === undefined ? formatHresult(hr) : `${name} (${formatHresult(hr)})`;
}

export const S_OK = 0;
export const S_FALSE = 1;
export const E_NOTIMPL = 0x80004001;
export const E_FAIL = 0x80004005;
export const E_NOINTERFACE = 0x80004002;
export const E_POINTER = 0x80004003;
export const E_UNEXPECTED = 0x8000ffff;
export const E_INVALIDARG = 0x80070057;
export const E_ACCESSDENIED = 0x80070005;
export const RPC_E_CHANGED_MODE = 0x80010106;
export const RPC_S_SERVER_UNAVAILABLE = 0x800706ba;
export const RPC_E_DISCONNECTED = 0x80010108;

/**
 * Answers of a COM proxy whose server process is gone (the service stopped, crashed or restarted):
 * every call on that proxy fails so from then on, and only a new connection reaches the service.
 */
const SERVICE_GONE: ReadonlySet<number> = new Set([
  0x80010007, // RPC_E_SERVER_DIED
  0x80010012, // RPC_E_SERVER_DIED_DNE
  RPC_E_DISCONNECTED,
  0x800401fd, // CO_E_OBJNOTCONNECTED
  RPC_S_SERVER_UNAVAILABLE,
  0x800706be, // RPC_S_CALL_FAILED
  0x800706bf, // RPC_S_CALL_FAILED_DNE
]);

export function isServiceGone(hresult: number): boolean {
  return SERVICE_GONE.has(toUnsignedHresult(hresult));
}
export const REGDB_E_CLASSNOTREG = 0x80040154;
export const ERROR_SERVICE_DISABLED = 0x80070422;
export const ERROR_SERVICE_DOES_NOT_EXIST = 0x80070424;
export const ERROR_NOT_LOGGED_ON = 0x800704dd;
export const CO_E_SERVER_EXEC_FAILURE = 0x80080005;
export const BG_E_BLOCKED_BY_POLICY = 0x8020003e;
export const ERROR_FILE_NOT_FOUND = 0x80070002;
export const ERROR_PATH_NOT_FOUND = 0x80070003;
export const WININET_E_CANNOT_CONNECT = 0x80072efd;
export const WININET_E_TIMEOUT = 0x80072ee2;
export const WININET_E_NAME_NOT_RESOLVED = 0x80072ee7;
export const WININET_E_CONNECTION_ABORTED = 0x80072efe;
export const WININET_E_CONNECTION_RESET = 0x80072eff;
export const WINHTTP_E_SECURE_CERT_DATE_INVALID = 0x80072f05;
export const WINHTTP_E_SECURE_CERT_CN_INVALID = 0x80072f06;
export const WINHTTP_E_SECURE_INVALID_CA = 0x80072f0d;
export const WINHTTP_E_INVALID_SERVER_RESPONSE = 0x80072f78;
export const WINHTTP_E_SECURE_FAILURE = 0x80072f8f;
export const ERROR_DISK_FULL = 0x80070070;
export const BG_E_INSUFFICIENT_RANGE_SUPPORT = 0x80200013;
export const BG_S_PARTIAL_COMPLETE = 0x00200017;
export const BG_S_UNABLE_TO_DELETE_FILES = 0x0020001a;
export const BG_E_NOT_FOUND = 0x80200001;
export const BG_E_INVALID_STATE = 0x80200002;
export const DO_E_INVALID_STATE = 0x80d02013;
export const DO_E_JOB_NOT_FOUND = 0x80d02003;
export const BG_E_EMPTY = 0x80200003;
export const BG_E_FILE_NOT_AVAILABLE = 0x80200004;
export const BG_E_ERROR_INFORMATION_UNAVAILABLE = 0x8020000f;
export const BG_E_NETWORK_DISCONNECTED = 0x80200010;
