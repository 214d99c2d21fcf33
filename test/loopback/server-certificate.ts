import { checkServerIdentity, connect } from 'node:tls';
import {
  BG_E_NETWORK_DISCONNECTED,
  isFailure,
  WINHTTP_E_SECURE_CERT_CN_INVALID,
  WINHTTP_E_SECURE_CERT_DATE_INVALID,
  WINHTTP_E_SECURE_INVALID_CA,
} from '../../src/com/hresult.js';
import { IBackgroundCopyServerCertificateValidationCallback, IUnknown } from '../../src/com/interfaces.js';
import { invokeAsync, invokeSync } from '../../src/com/invoke.js';
import type { Pointer } from '../../src/com/native-types.js';
import { TransferFailure } from './transfer.js';

/**
 * What the loopback does before each request over https, as "SetServerCertificateValidationInterface"
 * orders it (bits-com-extended.md, HttpOptions 1-3): the system's validation first, tuned by the
 * job's security flags (BG_SSL_IGNORE_*), which fails the job with the WinHTTP error; then, if the job
 * has a validation callback, that callback, called from a thread other than the JS thread
 * (invokeAsync, as BITS calls from its own), with the server's DER certificate: a failure answer is a
 * transient error in the SERVER_CERTIFICATE_CALLBACK context (8) with the callback's HRESULT.
 * Revocation (BG_SSL_ENABLE_CRL_CHECK) is not modelled: the test certificate names no CRL. The job
 * and file arguments are NULL here (BITS passes its objects; rx-bits's callback reads neither).
 */

/** BG_SSL_IGNORE_CERT_CN_INVALID, _DATE_INVALID, _UNKNOWN_CA. */
const IGNORE_CN = 0x2;
const IGNORE_DATE = 0x4;
const IGNORE_UNKNOWN_CA = 0x8;
/** BG_ERROR_CONTEXT_GENERAL_TRANSPORT and _SERVER_CERTIFICATE_CALLBACK. */
const TRANSPORT = 6;
const CERTIFICATE_CALLBACK = 8;
/** X509_ASN_ENCODING | PKCS_7_ASN_ENCODING (wincrypt.h): what certEncodingType says of a DER certificate. */
const DER_ENCODING = 0x10001;

const DATE_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** The server's DER certificate and what Node's own validation thought of it. */
async function handshake(url: URL, signal: AbortSignal): Promise<{ der: Buffer; caError: string | null; nameError: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 443), rejectUnauthorized: false });
    const abort = (): void => void socket.destroy();
    signal.addEventListener('abort', abort, { once: true });
    // Closed (an error, an abort) before the handshake ended: the attempt fails; after it, this changes nothing.
    socket.once('close', () => {
      signal.removeEventListener('abort', abort);
      reject(new TransferFailure(BG_E_NETWORK_DISCONNECTED, TRANSPORT, true));
    });
    socket.once('error', () => undefined);
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate();
      const caError = socket.authorized ? null : String(socket.authorizationError);
      socket.destroy();
      resolve({ der: certificate.raw, caError, nameError: checkServerIdentity(url.hostname, certificate) !== undefined });
    });
  });
}

/** Throws the TransferFailure BITS would end the attempt with, or returns when the request may go. */
export async function checkServerCertificate(remote: string, securityFlags: number, validator: Pointer | undefined, signal: AbortSignal): Promise<void> {
  // Local files and plain paths have no certificate (and are no URL to parse).
  if (!/^https:\/\//i.test(remote)) return;
  const url = new URL(remote);
  const { der, caError, nameError } = await handshake(url, signal);
  if (caError !== null && DATE_ERRORS.has(caError) && (securityFlags & IGNORE_DATE) === 0) throw new TransferFailure(WINHTTP_E_SECURE_CERT_DATE_INVALID, TRANSPORT, false);
  if (caError !== null && !DATE_ERRORS.has(caError) && (securityFlags & IGNORE_UNKNOWN_CA) === 0) throw new TransferFailure(WINHTTP_E_SECURE_INVALID_CA, TRANSPORT, false);
  if (nameError && (securityFlags & IGNORE_CN) === 0) throw new TransferFailure(WINHTTP_E_SECURE_CERT_CN_INVALID, TRANSPORT, false);
  if (validator === undefined) return;
  // Held for the call, as an RPC stub holds the object it calls.
  invokeSync(validator, IUnknown.method('AddRef'));
  let hr: number;
  try {
    hr = await invokeAsync(validator, IBackgroundCopyServerCertificateValidationCallback.method('ValidateServerCertificate'), null, null, der.length, der, DER_ENCODING, 0, null);
  } finally {
    invokeSync(validator, IUnknown.method('Release'));
  }
  if (isFailure(hr)) throw new TransferFailure(hr >>> 0, CERTIFICATE_CALLBACK, true);
}
