import path from 'node:path';
import type { Backend } from './backend.js';
import { ALL_NOTIFY_FLAGS, JOB_PRIORITIES, JOB_TYPES, type JobPriority, type JobType } from './enums.js';
import { InvalidArgumentError } from './errors.js';
import type { FileSpec } from './job.js';
import type { ComRuntime } from './runtime.js';

/**
 * Input checks that run before any COM call, so that a mistake is reported with the field that
 * holds it instead of as an HRESULT from deep inside the service.
 */

/** SetDisplayName's documented limit (Microsoft's IBackgroundCopyJob::SetDisplayName page). */
export const MAX_DISPLAY_NAME = 256;
/** SetDescription's documented limit. */
export const MAX_DESCRIPTION = 1024;
/** MAX_PATH (260) counts the terminating NUL: a local name has at most 259 characters. */
export const MAX_LOCAL_PATH = 259;
/** The longest remote name BITS accepts (IBackgroundCopyJob::AddFile). */
export const MAX_REMOTE_NAME = 2200;

const UINT32_MAX = 0xffffffff;

export function checkString(value: unknown, field: string, options: { maxLength: number; allowEmpty?: boolean }): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `expected a string, got ${describeValue(value)}`);
  if (value.length === 0 && options.allowEmpty !== true) throw new InvalidArgumentError(field, 'must not be empty');
  if (value.length > options.maxLength) {
    throw new InvalidArgumentError(field, `is ${value.length} characters long; the service allows at most ${options.maxLength}`);
  }
  if (value.includes('\0')) throw new InvalidArgumentError(field, 'contains a NUL character');
  return value;
}

function isWindowsAbsolute(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || /^[\\/]{2}[^\\/]+[\\/][^\\/]+/.test(p);
}

type PathStyle = ComRuntime['pathStyle'];

/** A local file name: absolute in the runtime's path style, not a directory, within MAX_PATH. */
export function checkLocalPath(value: unknown, field: string, style: PathStyle): string {
  const p = checkString(value, field, { maxLength: MAX_LOCAL_PATH });
  const absolute = style === 'win32' ? isWindowsAbsolute(p) : path.posix.isAbsolute(p);
  if (!absolute) {
    throw new InvalidArgumentError(
      field,
      `'${p}' is not an absolute path${style === 'win32' ? ' (expected C:\\... or \\\\server\\share\\...)' : ''}; BITS needs the full local name`,
    );
  }
  if (/[\\/]$/.test(p)) throw new InvalidArgumentError(field, `'${p}' names a directory; give the file name`);
  if (style === 'win32' && /[*?"<>|]/.test(p.slice(2))) {
    throw new InvalidArgumentError(field, `'${p}' contains a character Windows does not allow in file names`);
  }
  return p;
}

const REMOTE_SCHEMES = new Set(['http:', 'https:', 'file:']);

/** A remote name: an http(s) or file URL, or (as BITS also accepts) a UNC or drive path. */
export function checkRemoteUrl(value: unknown, field: string, style: PathStyle): string {
  const text = checkString(value, field, { maxLength: MAX_REMOTE_NAME });
  if (style === 'win32' ? isWindowsAbsolute(text) : path.posix.isAbsolute(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(field, `'${text}' is neither a URL nor an absolute path`);
  }
  if (!REMOTE_SCHEMES.has(url.protocol)) {
    throw new InvalidArgumentError(field, `scheme '${url.protocol.slice(0, -1)}' is not supported; use http, https or file`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(field, 'credentials in the URL would be stored in the job in clear text; remove them');
  }
  if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname === '') {
    throw new InvalidArgumentError(field, `'${text}' has no host`);
  }
  return text;
}

/**
 * One file to add, checked as the backend takes it; `at` names it in errors (`files[2]`, then
 * `files[2].url`...). Returns a copy, so what was checked is what the service gets.
 */
export function checkFileSpec(value: unknown, at: string, style: PathStyle, backend: Backend): FileSpec {
  const field = (key: keyof FileSpec): string => `${at}.${key}`;
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(at, 'expected { url, localPath }');
  const file = value as Partial<Record<keyof FileSpec, unknown>>;
  const checked: FileSpec = {
    url: checkRemoteUrl(file.url, field('url'), style),
    localPath: checkLocalPath(file.localPath, field('localPath'), style),
    fileId: file.fileId === undefined ? undefined : checkString(file.fileId, field('fileId'), { maxLength: MAX_REMOTE_NAME }),
    size: file.size === undefined ? undefined : checkByteCount(file.size, field('size')),
  };
  if (backend !== 'delivery-optimization') {
    for (const key of ['fileId', 'size'] as const) {
      if (checked[key] !== undefined) {
        throw new InvalidArgumentError(field(key), `is a Delivery Optimization option; ${backend === 'bits' ? 'BITS' : 'the portable engine'} takes only url and localPath`);
      }
    }
  }
  return checked;
}

/** A list of files to add (`files[0]`, `files[1]`... in errors), every one checked before any is added. */
export function checkFiles(value: unknown, field: string, style: PathStyle, backend: Backend): FileSpec[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, 'expected an array of { url, localPath }');
  return value.map((file: unknown, index) => checkFileSpec(file, `${field}[${index}]`, style, backend));
}

/** A duration in whole seconds, as the DWORD the service takes. */
export function checkSeconds(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgumentError(field, `expected a whole number of seconds, got ${describeValue(value)}`);
  }
  if (value < 0 || value > UINT32_MAX) throw new InvalidArgumentError(field, `${value} is outside 0..${UINT32_MAX} seconds`);
  return value;
}

export function checkPriority(value: unknown, field: string): number {
  const index = JOB_PRIORITIES.indexOf(value as JobPriority);
  if (index < 0) throw new InvalidArgumentError(field, `unknown priority ${describeValue(value)}; expected one of ${JOB_PRIORITIES.join(', ')}`);
  return index;
}

export function checkJobType(value: unknown, field: string): number {
  const index = JOB_TYPES.indexOf(value as JobType);
  if (index < 0) throw new InvalidArgumentError(field, `unknown job type ${describeValue(value)}; expected one of ${JOB_TYPES.join(', ')}`);
  return index;
}

export function checkNotifyFlags(value: unknown, field: string): number {
  // The range first: `&` works on the low 32 bits (ToInt32), so without it 2**32 passes as 0 (every
  // notification off) and 2**40 + 1 as 1.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > ALL_NOTIFY_FLAGS || (value & ~ALL_NOTIFY_FLAGS) !== 0) {
    throw new InvalidArgumentError(field, `${describeValue(value)} is not a combination of BG_NOTIFY_* flags (0x01..0x20)`);
  }
  return value;
}

/** An HRESULT given by the caller, signed or unsigned. */
export function checkHresult(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > UINT32_MAX) {
    throw new InvalidArgumentError(field, `${describeValue(value)} is not a 32-bit HRESULT`);
  }
  return value >>> 0;
}

export function checkLanguageId(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new InvalidArgumentError(field, `${describeValue(value)} is not a LANGID (0..0xFFFF)`);
  }
  return value;
}

/**
 * An argument made of fields (options, a filter, settings): an object, not null and not an array, so
 * that reading its fields cannot fail with a bare TypeError. `expected` shows its shape in the message.
 */
export function checkObject(value: unknown, field: string, expected: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(field, `expected ${expected}, got ${kindOf(value)}`);
  }
  return value as Readonly<Record<string, unknown>>;
}

/** A list, before its elements are checked one by one; `expected` says of what. */
export function checkArray(value: unknown, field: string, expected: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, `expected ${expected}, got ${kindOf(value)}`);
  return value;
}

export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(field, `expected true or false, got ${describeValue(value)}`);
  return value;
}

/** What a value is, never what it holds (a string where an object goes may be a secret put in the wrong place). */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A byte count (file sizes, range offsets) that fits the service's UINT64 and JavaScript's safe integers. */
export function checkByteCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(field, `expected a non-negative whole number of bytes, got ${describeValue(value)}`);
  }
  return value;
}

/** A value in a message: short (a long string is cut), and never a throw (String() of a null-prototype object would). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : typeof value;
}

/** An HTTP token (RFC 9110, 5.6.2): what a header name and a method are made of. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** HTTP request headers as BITS takes them: `Name: value` lines joined by CRLF. */
export function checkHeaders(value: unknown, field: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(field, 'expected an object of header names to values');
  }
  const lines = Object.entries(value as Record<string, unknown>).map(([name, headerValue]) => {
    if (!HTTP_TOKEN.test(name)) throw new InvalidArgumentError(`${field}.${name}`, 'is not a valid HTTP header name');
    if (typeof headerValue !== 'string' || /[\r\n\0]/.test(headerValue)) {
      throw new InvalidArgumentError(`${field}.${name}`, 'must be a string without CR, LF or NUL');
    }
    return `${name}: ${headerValue}`;
  });
  return lines.join('\r\n');
}

/**
 * The files of an upload job, after {@link checkFiles}: at most one in all (`held` already in the
 * job), as BITS answers BG_E_TOO_MANY_FILES for a second, and each going to an http(s) URL (the
 * BITS server extension of IIS receives uploads; BITS uploads over nothing else).
 */
export function checkUploadFiles(files: readonly FileSpec[], field: string, held: number): void {
  if (held + files.length > 1) {
    throw new InvalidArgumentError(field, `an upload job holds exactly one file${held > 0 ? ' and this one has it already' : ''}; create one job per file`);
  }
  files.forEach((file, index) => checkUploadUrl(file.url, `${field === 'file' ? field : `${field}[${index}]`}.url`));
}

/** Where an upload goes: an http or https URL, as BITS uploads over nothing else. */
export function checkUploadUrl(url: string, field: string): string {
  if (!/^https?:\/\//i.test(url)) throw new InvalidArgumentError(field, 'an upload goes to an http or https URL (a server with the BITS server extension)');
  return url;
}
