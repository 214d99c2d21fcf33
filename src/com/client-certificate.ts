import { CERT_STORE_LOCATIONS, type CertStoreLocation } from './enums.js';
import { InvalidArgumentError } from './errors.js';
import { checkString } from './validate.js';

/**
 * The client certificate of IBackgroundCopyJobHttpOptions (BITS 2.5), checked before any call: a
 * store location by name, a store name, and the certificate either by its SHA-1 thumbprint
 * (SetClientCertificateByID's 20-byte hash) or by its subject name (SetClientCertificateByName).
 */

interface CertificateStore {
  /** Where the store is (BG_CERT_STORE_LOCATION), e.g. `'currentUser'`. */
  readonly storeLocation: CertStoreLocation;
  /** The store's name, e.g. `'MY'` (personal), `'CA'`, `'ROOT'`. */
  readonly storeName: string;
}

/** A certificate to present to servers that ask for one: by thumbprint or by subject name. */
export type ClientCertificate =
  | (CertificateStore & {
      /** The SHA-1 thumbprint: 40 hex digits (colons or spaces between pairs allowed, as certificate viewers show it) or 20 bytes. */
      readonly sha1: string | Uint8Array;
    })
  | (CertificateStore & {
      /** The subject name BITS looks the certificate up by. */
      readonly subjectName: string;
    });

/** The job's client certificate as GetClientCertificate answers it. */
export interface ClientCertificateInfo extends CertificateStore {
  /** The thumbprint as 40 upper-case hex digits, when the service gives one. */
  readonly sha1: string | undefined;
  /** The subject name, when the certificate was chosen by it. */
  readonly subjectName: string | undefined;
}

/** SetClientCertificateByID takes "a pointer to the 20-byte SHA-1 thumbprint" (bits-com-extended.md). */
export const SHA1_LENGTH = 20;

/**
 * System certificate stores are registry keys (…\SystemCertificates\<name>), whose names are at
 * most 255 characters long.
 */
const MAX_STORE_NAME = 255;

/** What SetClientCertificateByID / ByName take, in order. */
export type CheckedCertificate =
  | { readonly method: 'SetClientCertificateByID'; readonly location: number; readonly storeName: string; readonly hash: Buffer }
  | { readonly method: 'SetClientCertificateByName'; readonly location: number; readonly storeName: string; readonly subjectName: string };

function thumbprint(value: unknown, field: string): Buffer {
  if (value instanceof Uint8Array) {
    if (value.length !== SHA1_LENGTH) throw new InvalidArgumentError(field, `is ${value.length} bytes long; a SHA-1 thumbprint is ${SHA1_LENGTH}`);
    return Buffer.from(value);
  }
  if (typeof value !== 'string') throw new InvalidArgumentError(field, 'expected 40 hex digits or 20 bytes');
  const digits = value.replace(/[:\s]/g, '');
  if (!/^[0-9a-fA-F]{40}$/.test(digits)) throw new InvalidArgumentError(field, 'expected 40 hex digits (a SHA-1 thumbprint)');
  return Buffer.from(digits, 'hex');
}

export function checkClientCertificate(value: unknown, field: string): CheckedCertificate {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(field, 'expected { storeLocation, storeName, sha1 } or { storeLocation, storeName, subjectName }');
  const given = value as Partial<Record<'storeLocation' | 'storeName' | 'sha1' | 'subjectName', unknown>>;
  const location = CERT_STORE_LOCATIONS.indexOf(given.storeLocation as CertStoreLocation);
  if (location < 0) {
    throw new InvalidArgumentError(`${field}.storeLocation`, `unknown store location ${typeof given.storeLocation === 'string' ? `'${given.storeLocation}'` : typeof given.storeLocation}; expected one of ${CERT_STORE_LOCATIONS.join(', ')}`);
  }
  const storeName = checkString(given.storeName, `${field}.storeName`, { maxLength: MAX_STORE_NAME });
  if (given.sha1 !== undefined && given.subjectName !== undefined) throw new InvalidArgumentError(field, 'give sha1 or subjectName, not both');
  if (given.sha1 !== undefined) return { method: 'SetClientCertificateByID', location, storeName, hash: thumbprint(given.sha1, `${field}.sha1`) };
  if (given.subjectName === undefined) throw new InvalidArgumentError(field, 'give the certificate by sha1 or by subjectName');
  // BITS documents no length limit for the subject name: the service decides.
  const subjectName = checkString(given.subjectName, `${field}.subjectName`, { maxLength: Number.POSITIVE_INFINITY });
  return { method: 'SetClientCertificateByName', location, storeName, subjectName };
}
