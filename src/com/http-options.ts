import koffi from 'koffi';
import { requireSupport } from './backend.js';
import { checkClientCertificate, SHA1_LENGTH, type ClientCertificate, type ClientCertificateInfo } from './client-certificate.js';
import { CERT_STORE_LOCATIONS, nameOf } from './enums.js';
import { ComError, InvalidArgumentError, NotSupportedByBackendError } from './errors.js';
import { securityFlags, securityOptions, type SecurityOptions, type SecurityOptionsInfo } from './http-security.js';
import { E_NOTIMPL, isFailure, RPC_X_BAD_STUB_DATA } from './hresult.js';
import type { ComPtr } from './com-ptr.js';
import type { ComInterface } from './interface-table.js';
import { IBackgroundCopyJobHttpOptions, IBackgroundCopyJobHttpOptions2, IBackgroundCopyJobHttpOptions3 } from './interfaces.js';
import type { CertificatePins } from './certificate-pins.js';
import { ServerCertificateValidator } from './certificate-validator.js';
import type { JobHost } from './job-host.js';
import { pointerSlot, readPointer } from './native-types.js';
import { takeString } from './task-memory.js';
import { HTTP_TOKEN } from './validate.js';

/**
 * IBackgroundCopyJobHttpOptions (BITS 2.5: client certificates, security flags) and
 * IBackgroundCopyJobHttpOptions2 (BITS 10.2: the HTTP method) and IBackgroundCopyJobHttpOptions3
 * (BITS 10.3: server certificate validation, write-only custom headers), each through `withInterface` (a
 * service without the interface is an InterfaceNotSupportedError naming it and its version) after
 * its input was checked. A service that has the interface but answers E_NOTIMPL (Wine's client
 * certificates, the portable engine's security flags other than the defaults, BITS for a flag value
 * it does not support) is a NotSupportedByBackendError naming the operation, not a bare HRESULT.
 */

/** One call through IBackgroundCopyJobHttpOptions (or a later one), with E_NOTIMPL as the typed refusal. */
async function call<I extends ComInterface>(job: JobHost, iface: I, method: string, use: (options: ComPtr<I>) => Promise<number>): Promise<number> {
  const hr = await job.withInterface(iface, use);
  if (hr === E_NOTIMPL) throw new NotSupportedByBackendError(job.backend, `${iface.name}::${method}`, 'the service does not implement it, or not for this value (E_NOTIMPL)');
  if (isFailure(hr)) throw new ComError(hr, iface.name, method);
  return hr;
}

/** Presents this certificate to servers that ask for one (replacing any other). BITS 2.5+. */
export async function setClientCertificate(job: JobHost, certificate: ClientCertificate): Promise<void> {
  const checked = checkClientCertificate(certificate, 'clientCertificate');
  requireSupport(job.backend, 'client certificates');
  await call(job, IBackgroundCopyJobHttpOptions, checked.method, (options) =>
    checked.method === 'SetClientCertificateByID'
      ? options.callRaw('SetClientCertificateByID', checked.location, checked.storeName, checked.hash)
      : options.callRaw('SetClientCertificateByName', checked.location, checked.storeName, checked.subjectName),
  );
}

export async function removeClientCertificate(job: JobHost): Promise<void> {
  requireSupport(job.backend, 'client certificates');
  await call(job, IBackgroundCopyJobHttpOptions, 'RemoveClientCertificate', (options) => options.callRaw('RemoveClientCertificate'));
}

/** The job's client certificate; undefined when it has none (BITS answers RPC_X_BAD_STUB_DATA then). */
export async function getClientCertificate(job: JobHost): Promise<ClientCertificateInfo | undefined> {
  requireSupport(job.backend, 'client certificates');
  const location = Buffer.alloc(4);
  const store = pointerSlot();
  const hash = pointerSlot();
  const subject = pointerSlot();
  const hr = await job.withInterface(IBackgroundCopyJobHttpOptions, (options) => options.callRaw('GetClientCertificate', location, store, hash, subject));
  // Whatever the answer, what the service handed over is ours to free, before anything can throw.
  const storeName = takeString(job.runtime, store);
  const subjectName = takeString(job.runtime, subject);
  const sha1 = takeHash(job, hash);
  if (hr === RPC_X_BAD_STUB_DATA) return undefined;
  if (hr === E_NOTIMPL) throw new NotSupportedByBackendError(job.backend, 'IBackgroundCopyJobHttpOptions::GetClientCertificate', 'the service does not implement it (E_NOTIMPL)');
  if (isFailure(hr)) throw new ComError(hr, IBackgroundCopyJobHttpOptions.name, 'GetClientCertificate');
  return {
    storeLocation: nameOf(CERT_STORE_LOCATIONS, location.readInt32LE(), 'BG_CERT_STORE_LOCATION'),
    storeName,
    sha1,
    subjectName: subjectName === '' ? undefined : subjectName,
  };
}

/** The 20-byte thumbprint a GetClientCertificate slot holds, as hex, freed; undefined for NULL. */
function takeHash(job: JobHost, slot: Buffer): string | undefined {
  const address = readPointer(slot);
  if (address === 0n) return undefined;
  try {
    return Buffer.from(new Uint8Array(koffi.view(address, SHA1_LENGTH))).toString('hex').toUpperCase();
  } finally {
    job.runtime.freeTaskMemory(address);
  }
}

/** Sets every security option at once: those left out go back to BITS's defaults. */
export async function setSecurityOptions(job: JobHost, options: SecurityOptions): Promise<void> {
  const flags = securityFlags(options, 'security');
  await call(job, IBackgroundCopyJobHttpOptions, 'SetSecurityFlags', (http) => http.callRaw('SetSecurityFlags', flags));
}

export async function getSecurityOptions(job: JobHost): Promise<SecurityOptionsInfo> {
  const out = Buffer.alloc(4);
  await call(job, IBackgroundCopyJobHttpOptions, 'GetSecurityFlags', (http) => http.callRaw('GetSecurityFlags', out));
  return securityOptions(out.readUInt32LE());
}

/**
 * The HTTP method of the job's requests (BITS 10.2+). Anything but the default (GET for downloads,
 * BITS_POST for uploads) makes BITS lock the job at foreground priority, turns resumable errors into
 * ERROR (a Resume starts again from 0) and excludes dynamic content and on-demand mode.
 */
export async function setHttpMethod(job: JobHost, method: string): Promise<void> {
  // A token (RFC 9110): a space, CR or LF would break the request line.
  if (typeof method !== 'string' || !HTTP_TOKEN.test(method)) throw new InvalidArgumentError('httpMethod', 'expected an HTTP method: a token such as PUT, without spaces, CR or LF');
  await call(job, IBackgroundCopyJobHttpOptions2, 'SetHttpMethod', (options) => options.callRaw('SetHttpMethod', method));
}

export async function getHttpMethod(job: JobHost): Promise<string> {
  const slot = pointerSlot();
  await call(job, IBackgroundCopyJobHttpOptions2, 'GetHttpMethod', (options) => options.callRaw('GetHttpMethod', slot));
  return takeString(job.runtime, slot);
}

/**
 * Accepts a server's certificate only if it matches one of the pins (BITS 10.3+), decided on the
 * receiver thread during BITS's call (certificate-validator.ts); null removes the validation. BITS
 * consults it after its own checks passed (see the security options), on every new connection; a
 * certificate matching no pin fails the job's transfer with TRUST_E_FAIL in the
 * SERVER_CERTIFICATE_CALLBACK context. The job must be suspended, in error or transferred
 * (BG_E_READ_ONLY_WHEN_JOB_ACTIVE otherwise). BITS does not keep it across its own restarts.
 */
export async function setServerCertificateValidation(job: JobHost, pins: CertificatePins | null): Promise<void> {
  if (pins === null) {
    await call(job, IBackgroundCopyJobHttpOptions3, 'SetServerCertificateValidationInterface', (options) => options.callRaw('SetServerCertificateValidationInterface', null));
    return;
  }
  await ServerCertificateValidator.ready();
  const validator = new ServerCertificateValidator(pins, 'certificateValidation');
  try {
    await call(job, IBackgroundCopyJobHttpOptions3, 'SetServerCertificateValidationInterface', (options) => options.callRaw('SetServerCertificateValidationInterface', validator.address));
  } finally {
    // The service holds its own reference while it keeps the object; ours is no longer needed.
    validator.dispose();
  }
}

/** Makes the custom headers write-only, for good: getCustomHeaders() is then refused (E_ACCESSDENIED). BITS 10.3+. */
export async function makeCustomHeadersWriteOnly(job: JobHost): Promise<void> {
  await call(job, IBackgroundCopyJobHttpOptions3, 'MakeCustomHeadersWriteOnly', (options) => options.callRaw('MakeCustomHeadersWriteOnly'));
}
