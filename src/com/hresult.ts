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
  [0x8000000a, { name: 'E_PENDING', message: 'The data necessary to complete this operation is not yet available.' }],
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
  [0x80070422, { name: 'ERROR_SERVICE_DISABLED', message: "The service cannot be started: it is disabled. An administrator can set its start type back to Manual (services.msc, or `sc config bits start= demand`); meanwhile connect() without a backend falls back to the portable engine." }],
  [0x80070424, { name: 'ERROR_SERVICE_DOES_NOT_EXIST', message: 'The specified service does not exist as an installed service.' }],
  [0x800704dd, { name: 'ERROR_NOT_LOGGED_ON', message: 'This process has no interactive logon session (a service, an SSH session, a scheduled task, RunAs), and BITS serves only logged-on users. Run it in the user\'s desktop session, or call connect() without a backend: it falls back to the portable engine.' }],
  [0x800706ba, { name: 'RPC_S_SERVER_UNAVAILABLE', message: 'The RPC server is unavailable.' }],
  [0x800706be, { name: 'RPC_S_CALL_FAILED', message: 'The remote procedure call failed.' }],
  [0x800706bf, { name: 'RPC_S_CALL_FAILED_DNE', message: 'The remote procedure call failed and did not execute.' }],
  [0x800706f4, { name: 'RPC_X_NULL_REF_POINTER', message: 'A null reference pointer was passed to the stub.' }],
  [0x800b010b, { name: 'TRUST_E_FAIL', message: "Generic trust failure: the server's certificate was not accepted (rx-bits's certificate validation answers it for a certificate matching none of the pins)." }],
  [0x800706f7, { name: 'RPC_X_BAD_STUB_DATA', message: 'The stub received bad data (BITS answers it from GetClientCertificate when the job has no client certificate).' }],
  [0x80072ee2, { name: 'WININET_E_TIMEOUT', message: 'The server did not answer in time. BITS retries by itself; if it persists, check that the server is up and that a proxy or firewall is not holding the connection.' }],
  [0x80072ee7, { name: 'WININET_E_NAME_NOT_RESOLVED', message: 'The server or proxy name could not be resolved. Check the URL\'s host name, the DNS settings and the job\'s proxy settings.' }],
  [0x80072efd, { name: 'WININET_E_CANNOT_CONNECT', message: 'A connection with the server could not be established.' }],
  [0x80072efe, { name: 'WININET_E_CONNECTION_ABORTED', message: 'The connection with the server was closed abnormally. BITS retries by itself; if it persists, a proxy, firewall or TLS inspection may be cutting the connection.' }],
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
  // BITS 1.5-10.3 (bitsmsg.h; bits-com-extended.md), each saying what to do about it.
  [0x0020002a, { name: 'BG_S_PROXY_CHANGED', message: 'The proxy settings changed; the job goes on with the new ones.' }],
  [0x00200055, { name: 'BG_S_OVERRIDDEN_BY_POLICY', message: 'Group Policy overrode the value asked for; the job uses the policy\'s.' }],
  [0x8020001b, { name: 'BG_E_INVALID_SERVER_RESPONSE', message: 'The server broke the HTTP protocol (e.g. merged the requested ranges). Use another server or mirror, or download without ranges.' }],
  [0x8020001c, { name: 'BG_E_TOO_MANY_FILES', message: 'An upload job holds exactly one file. Create one upload job per file.' }],
  [0x8020001d, { name: 'BG_E_LOCAL_FILE_CHANGED', message: 'The file being uploaded changed during the transfer. Leave it untouched until the job is transferred, then resume.' }],
  [0x80200020, { name: 'BG_E_TOO_LARGE', message: 'Too large: the upload exceeds what the server accepts, or the reply exceeds the 1 MiB GetReplyData returns (read the reply file after Complete instead).' }],
  [0x80200021, { name: 'BG_E_STRING_TOO_LONG', message: 'A string argument is longer than BITS allows for it. Shorten it.' }],
  [0x80200024, { name: 'BG_E_NO_PROGRESS', message: 'The job made no progress; BITS retries it by itself. Check the network and the server.' }],
  [0x80200025, { name: 'BG_E_USERNAME_TOO_LARGE', message: 'The user name is longer than 300 characters.' }],
  [0x80200026, { name: 'BG_E_PASSWORD_TOO_LARGE', message: 'The password is longer than 65,536 characters.' }],
  [0x80200027, { name: 'BG_E_INVALID_AUTH_TARGET', message: "The credentials' target is neither server nor proxy." }],
  [0x80200028, { name: 'BG_E_INVALID_AUTH_SCHEME', message: "The credentials' scheme is not one BITS knows (basic, digest, NTLM, negotiate, passport)." }],
  [0x80200029, { name: 'BG_E_FILE_NOT_FOUND', message: 'No file of the job has this name.' }],
  [0x8020002b, { name: 'BG_E_INVALID_RANGE', message: 'A requested byte range is invalid or lies past the end of the file. Check the offsets against the file size.' }],
  [0x8020002c, { name: 'BG_E_OVERLAPPING_RANGES', message: 'Two requested byte ranges overlap. Merge them.' }],
  [0x8020002d, { name: 'BG_E_CONNECT_FAILURE', message: 'No connection could be made to the server. BITS retries; check the server, the network and the proxy.' }],
  [0x8020002e, { name: 'BG_E_CONNECTION_CLOSED', message: 'The server closed the connection. BITS retries by itself.' }],
  [0x80200040, { name: 'BG_E_INVALID_CREDENTIALS', message: 'The credentials are malformed. Give a user name and password (NTLM and negotiate may omit both to use the logged-on user).' }],
  [0x80200047, { name: 'BG_E_PEERCACHING_DISABLED', message: 'Peer caching is turned off on this computer (policy); the job downloads from the origin.' }],
  [0x80200051, { name: 'BG_E_TOO_MANY_FILES_IN_JOB', message: 'The job has more files than policy allows (MaxFilesPerJob, 200 by default). Split it into several jobs.' }],
  [0x80200052, { name: 'BG_E_TOO_MANY_RANGES_IN_FILE', message: 'The file has more ranges than policy allows (MaxRangesPerFile, 500 by default). Request fewer, larger ranges.' }],
  [0x80200056, { name: 'BG_E_TOKEN_REQUIRED', message: 'The job needs a helper token (its helper token flags are set) and has none. Set the token, then resume.' }],
  [0x80200057, { name: 'BG_E_UNKNOWN_PROPERTY_ID', message: 'This BITS does not know the job or file property.' }],
  [0x80200058, { name: 'BG_E_READ_ONLY_PROPERTY', message: 'The property can only be read.' }],
  [0x80200059, { name: 'BG_E_BLOCKED_BY_COST_TRANSFER_POLICY', message: "The job's transfer policy forbids the current network (metered, roaming...). It goes on by itself on an allowed network; widen the policy to transfer now." }],
  [0x80200060, { name: 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY', message: 'The property applies to download jobs only.' }],
  [0x80200061, { name: 'BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE', message: 'The property can be set only before the first file is added. Set it right after creating the job.' }],
  [0x80200062, { name: 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME', message: 'The property can be set only before the job is first resumed.' }],
  [0x80200063, { name: 'BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE', message: 'The maximum download size must be at least 1 byte.' }],
  [0x80200064, { name: 'BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED', message: "The download is larger than the job's maximum download size. Raise the limit, or check that the URL is the one meant." }],
  [0x80200065, { name: 'BG_E_STANDBY_MODE', message: 'The computer is in standby; the job goes on when it wakes.' }],
  [0x80200066, { name: 'BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED', message: 'Stored credentials can be used for the proxy only.' }],
  [0x80200067, { name: 'BG_E_BLOCKED_BY_BATTERY_POLICY', message: 'Paused to save battery; the job goes on when the computer is plugged in. Foreground priority is not paused.' }],
  [0x80200068, { name: 'BG_E_BLOCKED_BY_BATTERY_SAVER', message: 'Paused by battery saver; the job goes on when it is turned off or the computer is plugged in.' }],
  [0x80200069, { name: 'BG_E_WATCHDOG_TIMEOUT', message: 'BITS stopped the transfer because the network stack stopped answering. It retries by itself.' }],
  [0x8020006a, { name: 'BG_E_APP_PACKAGE_NOT_FOUND', message: "The job's app package is no longer installed." }],
  [0x8020006b, { name: 'BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED', message: 'This operation is not available to packaged apps.' }],
  [0x8020006c, { name: 'BG_E_DATABASE_CORRUPT', message: "BITS's job database is corrupt and the service shut down. Restart the BITS service; its jobs may be lost: create them again." }],
  [0x8020006d, { name: 'BG_E_RANDOM_ACCESS_NOT_SUPPORTED', message: 'On-demand (random access) reads need a single-range HTTP(S) download job whose server supports ranges.' }],
  [0x8020006e, { name: 'BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY', message: "The app's background activity setting forbids background transfers. Allow the app to run in the background (Settings > Apps), or use foreground priority while the app is open." }],
  [0x8020006f, { name: 'BG_E_BLOCKED_BY_GAME_MODE', message: 'Paused while a game runs in Game Mode; the job goes on afterwards.' }],
  [0x80200070, { name: 'BG_E_BLOCKED_BY_SYSTEM_POLICY', message: 'Paused because the system is short of resources; the job goes on by itself.' }],
  [0x80200071, { name: 'BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD', message: 'Dynamic content and on-demand mode cannot be combined with a custom HTTP method.' }],
  [0x80200072, { name: 'BG_E_UNSUPPORTED_JOB_CONFIGURATION', message: "The job's options cannot be combined. Drop one of them." }],
  [0x80200073, { name: 'BG_E_REMOTE_FILE_CHANGED', message: 'The remote file changed during the transfer. Resume the job to download it again.' }],
  [0x80200074, { name: 'BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED', message: 'The job needs its server certificate validation callback, which is gone. Register it again, then resume.' }],
  [0x80200075, { name: 'BG_E_READ_ONLY_WHEN_JOB_ACTIVE', message: 'This can be changed only while the job is suspended, in error or transferred. Suspend it first.' }],
  [0x80200076, { name: 'BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK', message: 'The server certificate validation callback rejected the certificate.' }],
  // Delivery Optimization (deliveryoptimizationerrors.h, FACILITY_DELIVERY_OPTIMIZATION 0xD0; do-com.md).
  [0x80d01001, { name: 'DO_E_NO_SERVICE', message: 'Delivery Optimization could not reach its service.' }],
  [0x80d02002, { name: 'DO_E_DOWNLOAD_NO_PROGRESS', message: 'The download made no progress within the allowed time.' }],
  [0x80d02003, { name: 'DO_E_JOB_NOT_FOUND', message: 'The Delivery Optimization job was not found.' }],
  [0x80d02004, { name: 'DO_E_JOB_EMPTY', message: 'The Delivery Optimization job has no files.' }],
  [0x80d02005, { name: 'DO_E_NO_DOWNLOADS', message: 'This caller has no Delivery Optimization downloads.' }],
  [0x80d0200b, { name: 'DO_E_MEMORYSTREAM_DOWNLOAD_NOT_SUPPORTED', message: 'A download into a memory stream is not supported.' }],
  [0x80d0200c, { name: 'DO_E_JOB_TOO_OLD', message: 'The download was left unfinished too long and Delivery Optimization removed it.' }],
  [0x80d0200d, { name: 'DO_E_LOCALPATH_NOT_SET', message: 'The download has no local path.' }],
  [0x80d02010, { name: 'DO_E_FILE_NOT_AVAILABLE', message: 'No file is available for this download.' }],
  [0x80d02011, { name: 'DO_E_UNKNOWN_PROPERTY_ID', message: 'This Windows build does not know the download property.' }],
  [0x80d02012, { name: 'DO_E_READ_ONLY_PROPERTY', message: 'The download property is read-only.' }],
  [0x80d02013, { name: 'DO_E_INVALID_STATE', message: 'The operation is not allowed in the current job state.' }],
  [0x80d02014, { name: 'DO_E_ERROR_INFORMATION_UNAVAILABLE', message: 'No error information is available for this download.' }],
  [0x80d02015, { name: 'DO_E_WRITE_ONLY_PROPERTY', message: 'The download property is write-only.' }],
  [0x80d02016, { name: 'DO_E_INTEGRITYCHECKINFO_UNSPECIFIED', message: 'An integrity check is mandatory but the download has no integrity information.' }],
  [0x80d02017, { name: 'DO_E_INTEGRITYCHECKINFO_UNAVAILABLE', message: 'The integrity information of the download could not be obtained.' }],
  [0x80d02018, { name: 'DO_E_FILE_DOWNLOADSINK_UNSPECIFIED', message: 'The download has neither a local path nor a stream to write to.' }],
  [0x80d02019, { name: 'DO_E_FILE_DOWNLOADSINK_ALREADY_SET', message: 'The download already has a local path or a stream.' }],
  [0x80d0201a, { name: 'DO_E_FILE_SIZE_UNKNOWN_HTTP_200', message: 'The server sent no file size.' }],
  [0x80d02200, { name: 'DO_E_DOWNLOAD_NO_URI', message: 'The download has no URI.' }],
  [0x80d02201, { name: 'DO_E_DOWNLOAD_NO_CONTENT_ID', message: 'The download has no content id.' }],
  [0x80d03001, { name: 'DO_E_NO_DOWNLOAD_PARTICIPATION', message: 'Delivery Optimization does not allow the download now (participation throttling).' }],
  [0x80d03002, { name: 'DO_E_NO_DOWNLOAD_EXTSETTINGS', message: 'Delivery Optimization does not allow the download: user or administrator settings.' }],
  [0x80d03801, { name: 'DO_E_BLOCKED_BY_COST_TRANSFER_POLICY', message: 'The download is blocked by the cost policy (a metered network).' }],
  [0x80d03802, { name: 'DO_E_DOWNLOADMODE_SET_BY_CP', message: 'The download mode is restricted by content policy.' }],
  [0x80d03803, { name: 'DO_E_BLOCKED_BY_CELLULAR_POLICY', message: 'The download is blocked on a cellular network by policy.' }],
  [0x80d03804, { name: 'DO_E_BLOCKED_BY_POWER_STATE', message: 'The download is blocked by the power state (on battery).' }],
  [0x80d03805, { name: 'DO_E_BLOCKED_BY_NO_NETWORK', message: 'The download is blocked because there is no network.' }],
  [0x80d03806, { name: 'DO_E_DOWNLOADMODE_SET_BY_POLICY', message: 'The download mode is set by policy.' }],
  [0x80d03807, { name: 'DO_E_BLOCKED_BY_VPN_POLICY', message: 'The download is blocked while a VPN is connected, by policy.' }],
  [0x80d03808, { name: 'DO_E_BLOCKED_BY_CRITICAL_MEMORY_USAGE', message: 'The download is blocked while memory use is critical.' }],
  [0x80d0380a, { name: 'DO_E_CLOUD_SERVICES_UNREACHABLE', message: "Delivery Optimization's cloud services cannot be reached." }],
  [0x80d06802, { name: 'DO_E_FATAL_CORE_ERROR', message: 'Delivery Optimization failed with an internal error.' }],
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
/** winerror.h's generic trust failure: what our server certificate validation callback answers for a certificate matching none of its pins. */
export const TRUST_E_FAIL = 0x800b010b;
/** "IBackgroundCopyJobHttpOptions::GetClientCertificate": the job has no client certificate. */
export const RPC_X_BAD_STUB_DATA = 0x800706f7;
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
export const BG_E_INVALID_SERVER_RESPONSE = 0x8020001b;
export const BG_E_TOO_MANY_FILES = 0x8020001c;
export const BG_E_TOO_LARGE = 0x80200020;
export const BG_E_STRING_TOO_LONG = 0x80200021;
export const BG_E_USERNAME_TOO_LARGE = 0x80200025;
export const BG_E_PASSWORD_TOO_LARGE = 0x80200026;
export const BG_E_INVALID_AUTH_TARGET = 0x80200027;
export const BG_E_INVALID_AUTH_SCHEME = 0x80200028;
export const BG_E_MAXDOWNLOAD_TIMEOUT = 0x80200054;
export const BG_E_INVALID_RANGE = 0x8020002b;
export const BG_E_OVERLAPPING_RANGES = 0x8020002c;
export const BG_E_TOO_MANY_RANGES_IN_FILE = 0x80200052;
export const BG_E_UNKNOWN_PROPERTY_ID = 0x80200057;
export const BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY = 0x80200060;
export const BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE = 0x80200061;
export const BG_E_READ_ONLY_PROPERTY_AFTER_RESUME = 0x80200062;
export const BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE = 0x80200063;
export const BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED = 0x80200066;
