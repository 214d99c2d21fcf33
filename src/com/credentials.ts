import koffi from 'koffi';
import { AUTH_SCHEMES, AUTH_TARGETS, type AuthScheme, type AuthTarget } from './enums.js';
import { InvalidArgumentError } from './errors.js';
import { BG_AUTH_CREDENTIALS, POINTER_SIZE, type Pointer } from './native-types.js';
import { checkString } from './validate.js';

/**
 * Credentials for IBackgroundCopyJob2::SetCredentials, checked, and laid out in native memory for
 * exactly the length of the call. Errors name the field, never its value: a password must not reach
 * a log through an error message.
 */

/** A user name and password for a server or a proxy. */
export interface Credentials {
  /** Whom they are for: the server (answers HTTP 401) or the proxy (407). */
  readonly target: AuthTarget;
  readonly scheme: AuthScheme;
  /** Omitted with `password` for NTLM and Negotiate: the logged-on user's own credentials. */
  readonly userName?: string;
  readonly password?: string;
}

/** "IBackgroundCopyJob2::SetCredentials": BG_E_USERNAME_TOO_LARGE beyond 300 characters. */
export const MAX_USER_NAME = 300;
/** ... and BG_E_PASSWORD_TOO_LARGE beyond 65,536. */
export const MAX_PASSWORD = 65_536;

/** The schemes where no user name and password means the logged-on user's implicit credentials. */
const IMPLICIT: ReadonlySet<AuthScheme> = new Set<AuthScheme>(['ntlm', 'negotiate']);

/** Credentials as SetCredentials takes them: the enums as numbers, absent strings as null. */
export interface CheckedCredentials {
  readonly target: number;
  readonly scheme: number;
  readonly userName: string | null;
  readonly password: string | null;
}

function enumValue<T extends Record<string, number>>(table: T, value: unknown, field: string, what: string): number {
  if (typeof value !== 'string' || !Object.hasOwn(table, value)) {
    throw new InvalidArgumentError(field, `unknown ${what}; expected one of ${Object.keys(table).join(', ')}`);
  }
  return table[value]!;
}

/** A target and scheme, as RemoveCredentials takes them. */
export function checkAuthKey(target: unknown, scheme: unknown, field: string): { target: number; scheme: number } {
  return {
    target: enumValue(AUTH_TARGETS, target, `${field}.target`, 'authentication target'),
    scheme: enumValue(AUTH_SCHEMES, scheme, `${field}.scheme`, 'authentication scheme'),
  };
}

export function checkCredentials(value: unknown, field: string): CheckedCredentials {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(field, 'expected { target, scheme, userName, password }');
  const given = value as Partial<Record<keyof Credentials, unknown>>;
  const { target, scheme } = checkAuthKey(given.target, given.scheme, field);
  const userName = given.userName === undefined ? null : secret(given.userName, `${field}.userName`, MAX_USER_NAME, false);
  const password = given.password === undefined ? null : secret(given.password, `${field}.password`, MAX_PASSWORD, true);
  if (userName === null && password === null) {
    // Basic and Digest without them: E_INVALIDARG from the service.
    if (!IMPLICIT.has(given.scheme as AuthScheme)) throw new InvalidArgumentError(`${field}.userName`, `is required for the ${String(given.scheme)} scheme`);
  } else if (userName === null || password === null) {
    throw new InvalidArgumentError(`${field}.${userName === null ? 'userName' : 'password'}`, 'is required with the other; omit both only for the logged-on user (ntlm, negotiate)');
  }
  return { target, scheme, userName, password };
}

/** A user name or password: checked as any string, but a value of the wrong type is not echoed either. */
function secret(value: unknown, field: string, maxLength: number, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `expected a string, got ${value === null ? 'null' : typeof value}`);
  return checkString(value, field, { maxLength, allowEmpty });
}

function writeString(view: DataView, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) view.setUint16(offset + 2 * i, text.charCodeAt(i), true);
  view.setUint16(offset + 2 * text.length, 0, true);
}

function writeAddress(view: DataView, offset: number, address: Pointer): void {
  if (POINTER_SIZE === 8) view.setBigUint64(offset, address, true);
  else view.setUint32(offset, Number(address), true);
}

/**
 * Runs `use` with the address of a BG_AUTH_CREDENTIALS whose strings follow it in the same native
 * block, written there straight from the caller's strings (no intermediate Buffer to linger on the
 * heap), then zeroes and frees the block, whatever `use` did. BITS copies what it needs.
 */
export async function withNativeCredentials<T>(credentials: CheckedCredentials, use: (address: Pointer) => Promise<T>): Promise<T> {
  const structSize = koffi.sizeof(BG_AUTH_CREDENTIALS);
  const bytesOf = (text: string | null): number => (text === null ? 0 : 2 * (text.length + 1));
  const userAt = structSize;
  const passwordAt = userAt + bytesOf(credentials.userName);
  const size = passwordAt + bytesOf(credentials.password);
  const block = koffi.alloc('uint8_t', size) as Pointer;
  const bytes = new Uint8Array(koffi.view(block, size));
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    bytes.fill(0);
    view.setInt32(koffi.offsetof(BG_AUTH_CREDENTIALS, 'Target'), credentials.target, true);
    view.setInt32(koffi.offsetof(BG_AUTH_CREDENTIALS, 'Scheme'), credentials.scheme, true);
    const union = koffi.offsetof(BG_AUTH_CREDENTIALS, 'Credentials');
    if (credentials.userName !== null) {
      writeString(view, userAt, credentials.userName);
      writeAddress(view, union, block + BigInt(userAt));
    }
    if (credentials.password !== null) {
      writeString(view, passwordAt, credentials.password);
      writeAddress(view, union + POINTER_SIZE, block + BigInt(passwordAt));
    }
    return await use(block);
  } finally {
    bytes.fill(0);
    koffi.free(block);
  }
}
