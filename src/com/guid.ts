import { GuidFormatError } from './errors.js';

/**
 * A GUID in canonical form: upper-case registry format without braces,
 * `4991D34B-80A1-4291-83B6-3328366B9097`. Branded so that an unchecked string cannot pass for one.
 */
export type Guid = string & { readonly __guid: unique symbol };

const GUID_PATTERN = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** Parses a GUID with or without braces; anything else is a {@link GuidFormatError} naming `field`. */
export function parseGuid(text: unknown, field = 'guid'): Guid {
  if (typeof text !== 'string') throw new GuidFormatError(field, `expected a GUID string, got ${typeof text}`);
  const match = GUID_PATTERN.exec(text);
  const braced = text.startsWith('{');
  if (match === null || braced !== text.endsWith('}')) {
    throw new GuidFormatError(field, `'${text}' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
  }
  return match.slice(1).join('-').toUpperCase() as Guid;
}

/** Registry format, optionally braced: `{4991D34B-80A1-4291-83B6-3328366B9097}`. */
export function formatGuid(guid: Guid, braces = false): string {
  return braces ? `{${guid}}` : guid;
}

/** The 16-byte COM layout: Data1 (4 bytes), Data2 and Data3 (2 bytes each) little-endian, Data4 as written. */
export function encodeGuid(guid: Guid): Buffer {
  const hex = guid.replaceAll('-', '');
  const bytes = Buffer.from(hex, 'hex');
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  return bytes;
}

/** Reads 16 bytes in COM layout back into a {@link Guid}. */
export function decodeGuid(bytes: Uint8Array): Guid {
  if (bytes.length !== 16) throw new GuidFormatError('guid', `expected 16 bytes, got ${bytes.length}`);
  const copy = Buffer.from(bytes);
  copy.subarray(0, 4).reverse();
  copy.subarray(4, 6).reverse();
  copy.subarray(6, 8).reverse();
  const hex = copy.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as Guid;
}
