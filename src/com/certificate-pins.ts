import { createHash, X509Certificate } from 'node:crypto';
import koffi from 'koffi';
import { InvalidArgumentError } from './errors.js';
import type { Pointer } from './native-types.js';

/**
 * The pins a server certificate validation callback answers from: SHA-256 hashes of the whole
 * certificate (its DER bytes) and of its public key (the DER SubjectPublicKeyInfo, as HPKP pins it).
 * They are kept in one native block that the callback object points to, so that the receiver thread
 * can decide during BITS's call, with no round trip to the main thread and no message to wait for:
 * `{ uint32 certificates, uint32 keys, then 32 bytes per pin, certificates first }`.
 */

export interface CertificatePins {
  /** SHA-256 thumbprints of accepted server certificates: 64 hex digits each (colons or spaces between pairs allowed). */
  readonly sha256?: readonly string[];
  /** SHA-256 hashes of accepted public keys (DER SubjectPublicKeyInfo), 64 hex digits each: these survive a certificate's renewal with the same key. */
  readonly publicKeySha256?: readonly string[];
}

const HASH_LENGTH = 32;
const HEADER = 8;

function hashes(value: unknown, field: string): Buffer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidArgumentError(field, 'expected an array of SHA-256 hashes (64 hex digits each)');
  return value.map((pin: unknown, index) => {
    const digits = typeof pin === 'string' ? pin.replace(/[:\s]/g, '') : '';
    if (!/^[0-9a-fA-F]{64}$/.test(digits)) throw new InvalidArgumentError(`${field}[${index}]`, 'expected 64 hex digits (a SHA-256 hash)');
    return Buffer.from(digits, 'hex');
  });
}

/** The pins as checked bytes: at least one, every one a SHA-256 hash. */
export function checkPins(value: unknown, field: string): { readonly certificates: Buffer[]; readonly keys: Buffer[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(field, 'expected { sha256?, publicKeySha256? } or null');
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== 'sha256' && key !== 'publicKeySha256') throw new InvalidArgumentError(`${field}.${key}`, 'unknown option; expected sha256 or publicKeySha256');
  }
  const certificates = hashes(given.sha256, `${field}.sha256`);
  const keys = hashes(given.publicKeySha256, `${field}.publicKeySha256`);
  // No pin would reject every server: surely a mistake, not a policy.
  if (certificates.length + keys.length === 0) throw new InvalidArgumentError(field, 'give at least one pin');
  return { certificates, keys };
}

/** The native block of checked pins; the callback object owns it and frees it with itself. */
export function encodePins(pins: { readonly certificates: readonly Buffer[]; readonly keys: readonly Buffer[] }): Pointer {
  const all = [...pins.certificates, ...pins.keys];
  const block = Buffer.alloc(HEADER + all.length * HASH_LENGTH);
  block.writeUInt32LE(pins.certificates.length, 0);
  block.writeUInt32LE(pins.keys.length, 4);
  all.forEach((pin, index) => pin.copy(block, HEADER + index * HASH_LENGTH));
  const address = koffi.alloc('uint8_t', block.length) as Pointer;
  new Uint8Array(koffi.view(address, block.length)).set(block);
  return address;
}

function includes(block: Buffer, from: number, count: number, hash: Buffer): boolean {
  for (let index = 0; index < count; index++) {
    const at = HEADER + (from + index) * HASH_LENGTH;
    if (hash.equals(block.subarray(at, at + HASH_LENGTH))) return true;
  }
  return false;
}

/** Whether a server certificate (DER) matches the pins of the block at `address`; runs on whichever thread BITS's call lands. */
export function matchesPins(address: Pointer, der: Buffer): boolean {
  const header = Buffer.from(new Uint8Array(koffi.view(address, HEADER)));
  const certificates = header.readUInt32LE(0);
  const keys = header.readUInt32LE(4);
  const block = Buffer.from(new Uint8Array(koffi.view(address, HEADER + (certificates + keys) * HASH_LENGTH)));
  if (includes(block, 0, certificates, createHash('sha256').update(der).digest())) return true;
  if (keys === 0) return false;
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return includes(block, certificates, keys, createHash('sha256').update(spki).digest());
}
