import { createHash, X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { IGNORABLE_CERTIFICATE_ERRORS, REDIRECT_POLICIES } from '../src/com/enums.js';
import { NotSupportedByBackendError, type BitsJob } from '../src/index.js';
import { useEngine } from './support/engine-harness.js';
import { until, useLoopback } from './support/harness.js';
import { notOnThisVersion, refusedBeforeCom, withJob } from './support/job-interfaces.js';
import { startTlsServer, type TlsTestServer } from './support/https-server.js';
import { TLS_CERTIFICATE } from './support/tls-fixture.js';

/*
 * IBackgroundCopyJobHttpOptions (BITS 2.5: client certificates, security flags) and
 * IBackgroundCopyJobHttpOptions2 (BITS 10.2: the HTTP method) and IBackgroundCopyJobHttpOptions3
 * (BITS 10.3: server certificate validation over a real TLS handshake, write-only custom headers)
 * through BitsJob, against the loopback service (what arrived is read from its model), bad input refused before any call, older services
 * refused with the typed error, and the portable engine's answers.
 */

const h = useLoopback();
const THUMBPRINT = '0123456789ABCDEF0123456789ABCDEF01234567';
const model = (job: BitsJob) => h.service.job(job.id)!;

describe('client certificates', () => {
  test('by SHA-1 thumbprint: the 20 bytes arrive, and come back as hex', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getClientCertificate()).toBeUndefined();
      // As a certificate viewer shows it: pairs with colons, lower case.
      await job.setClientCertificate({ storeLocation: 'localMachine', storeName: 'MY', sha1: THUMBPRINT.toLowerCase().replace(/(..)(?!$)/g, '$1:') });
      expect(h.service.calls('IBackgroundCopyJobHttpOptions::SetClientCertificateByID')).toBe(1);
      expect(model(job).clientCertificate).toEqual({ location: 1, storeName: 'MY', hash: Buffer.from(THUMBPRINT, 'hex') });
      expect(await job.getClientCertificate()).toEqual({ storeLocation: 'localMachine', storeName: 'MY', sha1: THUMBPRINT, subjectName: undefined });
      await job.removeClientCertificate();
      expect(await job.getClientCertificate()).toBeUndefined();
    });
  });

  test('as 20 bytes, and by subject name', async () => {
    await withJob(h.bits, async (job) => {
      await job.setClientCertificate({ storeLocation: 'currentUser', storeName: 'MY', sha1: Buffer.from(THUMBPRINT, 'hex') });
      expect((await job.getClientCertificate())?.sha1).toBe(THUMBPRINT);
      await job.setClientCertificate({ storeLocation: 'localMachineEnterprise', storeName: 'CA', subjectName: 'CN=updater' });
      expect(h.service.calls('IBackgroundCopyJobHttpOptions::SetClientCertificateByName')).toBe(1);
      expect(await job.getClientCertificate()).toEqual({ storeLocation: 'localMachineEnterprise', storeName: 'CA', sha1: undefined, subjectName: 'CN=updater' });
    });
  });

  test.each([
    ['an unknown store location', 'clientCertificate.storeLocation', { storeLocation: 'machine', storeName: 'MY', sha1: THUMBPRINT }],
    ['an empty store name', 'clientCertificate.storeName', { storeLocation: 'currentUser', storeName: '', sha1: THUMBPRINT }],
    ['a store name over 255 characters', 'clientCertificate.storeName', { storeLocation: 'currentUser', storeName: 'M'.repeat(256), sha1: THUMBPRINT }],
    ['39 hex digits', 'clientCertificate.sha1', { storeLocation: 'currentUser', storeName: 'MY', sha1: THUMBPRINT.slice(1) }],
    ['a thumbprint that is not hex', 'clientCertificate.sha1', { storeLocation: 'currentUser', storeName: 'MY', sha1: `${THUMBPRINT.slice(1)}G` }],
    ['19 bytes', 'clientCertificate.sha1', { storeLocation: 'currentUser', storeName: 'MY', sha1: new Uint8Array(19) }],
    ['both a thumbprint and a subject', 'clientCertificate', { storeLocation: 'currentUser', storeName: 'MY', sha1: THUMBPRINT, subjectName: 'CN=x' }],
    ['neither', 'clientCertificate', { storeLocation: 'currentUser', storeName: 'MY' }],
    ['a subject name with a NUL', 'clientCertificate.subjectName', { storeLocation: 'currentUser', storeName: 'MY', subjectName: 'CN=a\0b' }],
    ['null', 'clientCertificate', null],
  ])('%s is refused before any call', async (_name, field, certificate) => {
    await refusedBeforeCom(h, field, (job) => job.setClientCertificate(certificate as never));
  });

  test('a job that left the queue takes none (BG_E_INVALID_STATE)', async () => {
    const job = await h.bits.createJob({ displayName: 'finished' });
    await job.cancel();
    await expect(job.setClientCertificate({ storeLocation: 'currentUser', storeName: 'MY', sha1: THUMBPRINT })).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await expect(job.removeClientCertificate()).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.release();
  });
});

describe('security options', () => {
  test("the names have the SDK's values", () => {
    // bits-com-extended.md, "Enumerations and constants", transcribed.
    expect(IGNORABLE_CERTIFICATE_ERRORS).toEqual({ commonNameInvalid: 0x2, dateInvalid: 0x4, unknownCa: 0x8, wrongUsage: 0x10 });
    expect(REDIRECT_POLICIES).toEqual({ allowSilent: 0x0, allowReport: 0x100, disallow: 0x200 });
  });

  test("a new job has BITS's defaults", async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getSecurityOptions()).toEqual({ checkRevocation: false, ignoreCertificateErrors: [], redirects: 'allowSilent', allowHttpsToHttp: false });
    });
  });

  test('every option by name becomes its flag, and reads back', async () => {
    await withJob(h.bits, async (job) => {
      await job.setSecurityOptions({ checkRevocation: true, ignoreCertificateErrors: ['unknownCa', 'dateInvalid'], redirects: 'allowReport', allowHttpsToHttp: true });
      expect(model(job).securityFlags).toBe(0x1 | 0x8 | 0x4 | 0x100 | 0x800);
      expect(await job.getSecurityOptions()).toEqual({ checkRevocation: true, ignoreCertificateErrors: ['dateInvalid', 'unknownCa'], redirects: 'allowReport', allowHttpsToHttp: true });
      // Setting replaces the whole: what is left out goes back to the default.
      await job.setSecurityOptions({ redirects: 'disallow' });
      expect(model(job).securityFlags).toBe(0x200);
      await job.setSecurityOptions({ ignoreCertificateErrors: ['commonNameInvalid', 'wrongUsage'] });
      expect(model(job).securityFlags).toBe(0x12);
    });
  });

  test.each([
    ['not an object', 'security', 'strict'],
    ['an unknown option', 'security.ignoreCertErrors', { ignoreCertErrors: ['unknownCa'] }],
    ['an unknown certificate error', 'security.ignoreCertificateErrors[1]', { ignoreCertificateErrors: ['unknownCa', 'expired'] }],
    ['certificate errors not as a list', 'security.ignoreCertificateErrors', { ignoreCertificateErrors: 'unknownCa' }],
    ['an unknown redirect policy', 'security.redirects', { redirects: 'follow' }],
    ['revocation checks as a string', 'security.checkRevocation', { checkRevocation: 'yes' }],
    ['HTTPS to HTTP as a number', 'security.allowHttpsToHttp', { allowHttpsToHttp: 1 }],
  ])('%s is refused before any call', async (_name, field, options) => {
    await refusedBeforeCom(h, field, (job) => job.setSecurityOptions(options as never));
  });

  test('a job that left the queue takes none (BG_E_INVALID_STATE)', async () => {
    const job = await h.bits.createJob({ displayName: 'finished' });
    await job.cancel();
    await expect(job.setSecurityOptions({ checkRevocation: true })).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.release();
  });
});

describe('the HTTP method', () => {
  test('GET for downloads and BITS_POST for uploads by default; the default verb changes nothing', async () => {
    await withJob(h.bits, async (job) => {
      expect(await job.getHttpMethod()).toBe('GET');
      await job.setHttpMethod('GET');
      expect(await job.getPriority()).toBe('normal');
    });
    await withJob(h.bits, async (job) => expect(await job.getHttpMethod()).toBe('BITS_POST'), { type: 'upload' });
  });

  test('another method is what the server sees, and locks the job at foreground priority', async () => {
    const job = await h.bits.createJob({ displayName: 'put', files: [{ url: h.server.url('/files/put.bin?size=100'), localPath: h.local('put.bin') }] });
    await job.setHttpMethod('PUT');
    expect(await job.getHttpMethod()).toBe('PUT');
    expect(await job.getPriority()).toBe('foreground');
    await expect(job.setPriority('low')).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    expect(h.server.lastMethod('/files/put.bin')).toBe('PUT');
    // Set before the first Resume only.
    await expect(job.setHttpMethod('POST')).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.cancel();
    await job.release();
  });

  test('with another method, an error BITS would retry is fatal', async () => {
    const job = await h.bits.createJob({ displayName: 'post', files: [{ url: h.server.url('/status/503'), localPath: h.local('p.bin') }] });
    await job.setHttpMethod('POST');
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect((await job.getError())?.code).toBe('BG_E_HTTP_ERROR_503');
    await job.cancel();
    await job.release();
  });

  test('not with dynamic content or on-demand mode, in either order', async () => {
    await withJob(h.bits, async (job) => {
      await job.setProperty('dynamicContent', true);
      await expect(job.setHttpMethod('POST')).rejects.toMatchObject({ code: 'BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD' });
    });
    await withJob(h.bits, async (job) => {
      await job.setHttpMethod('POST');
      await expect(job.setProperty('onDemand', true)).rejects.toMatchObject({ code: 'BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD' });
    });
  });

  test.each([
    ['a request line', 'GET /x'],
    ['a CR LF', 'PUT\r\nX-Evil: 1'],
    ['an empty method', ''],
    ['a number', 42],
  ])('%s is refused before any call', async (_name, method) => {
    await refusedBeforeCom(h, 'httpMethod', (job) => job.setHttpMethod(method as never));
  });
});

describe('write-only custom headers', () => {
  test('once write-only they cannot be read back (E_ACCESSDENIED), and are still sent', async () => {
    const job = await h.bits.createJob({ displayName: 'write-only', files: [{ url: h.server.url('/files/wo.bin?size=100'), localPath: h.local('wo.bin') }] });
    await job.setCustomHeaders({ Authorization: 'Bearer secret' });
    expect(await job.getCustomHeaders()).toEqual({ Authorization: 'Bearer secret' });
    await job.makeCustomHeadersWriteOnly();
    expect(h.service.calls('IBackgroundCopyJobHttpOptions3::MakeCustomHeadersWriteOnly')).toBe(1);
    await expect(job.getCustomHeaders()).rejects.toMatchObject({ code: 'E_ACCESSDENIED' });
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    expect(h.server.lastHeaders('/files/wo.bin')?.authorization).toBe('Bearer secret');
    await job.cancel();
    await job.release();
  });
});

describe('server certificate validation', () => {
  const certificate = new X509Certificate(TLS_CERTIFICATE);
  const keyPin = createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
  const OTHER = 'ab'.repeat(32);
  let tls: TlsTestServer;
  beforeEach(async () => {
    tls = await startTlsServer();
  });
  afterEach(async () => {
    await tls.close();
  });

  /** A job downloading `name` over https, its certificate errors ignored so that BITS's own checks pass, as they must before the callback is asked. */
  async function httpsJob(name: string): Promise<BitsJob> {
    const job = await h.bits.createJob({ displayName: name, files: [{ url: tls.url(`/files/${name}?size=3000`), localPath: h.local(name) }] });
    await job.setSecurityOptions({ ignoreCertificateErrors: ['unknownCa'] });
    return job;
  }

  async function settled(job: BitsJob): Promise<string> {
    await until(async () => ['transferred', 'error', 'transientError'].includes(await job.getState()));
    return job.getState();
  }

  test("BITS's own check comes first: a self-signed server fails with WINHTTP_E_SECURE_INVALID_CA unless told to ignore it", async () => {
    const job = await h.bits.createJob({ displayName: 'strict', files: [{ url: tls.url('/files/strict.bin'), localPath: h.local('strict.bin') }] });
    await job.setServerCertificateValidation({ sha256: [certificate.fingerprint256] });
    await job.resume();
    expect(await settled(job)).toBe('error');
    expect(await job.getError()).toMatchObject({ code: 'WINHTTP_E_SECURE_INVALID_CA' });
    expect(tls.requests('/files/strict.bin')).toBe(0);
    await job.cancel();
    await job.release();
  });

  test('a pinned certificate (its SHA-256 as a certificate viewer shows it) is accepted on the receiver thread, and the file arrives', async () => {
    const job = await httpsJob('pinned.bin');
    await job.setServerCertificateValidation({ sha256: [OTHER, certificate.fingerprint256] });
    expect(h.service.calls('IBackgroundCopyJobHttpOptions3::SetServerCertificateValidationInterface')).toBe(1);
    await job.resume();
    expect(await settled(job)).toBe('transferred');
    expect(tls.requests('/files/pinned.bin')).toBe(1);
    await job.cancel();
    await job.release();
  });

  test('a certificate matching no pin is refused: a transient error in the certificate callback context, and no request', async () => {
    const job = await httpsJob('refused.bin');
    await job.setServerCertificateValidation({ sha256: [OTHER] });
    await job.resume();
    expect(await settled(job)).toBe('transientError');
    expect(await job.getError()).toMatchObject({ context: 'serverCertificateCallback', code: 'TRUST_E_FAIL' });
    expect(tls.requests('/files/refused.bin')).toBe(0);
    // Only while the job is quiet: suspended, in error or transferred.
    await expect(job.setServerCertificateValidation({ publicKeySha256: [keyPin] })).rejects.toMatchObject({ code: 'BG_E_READ_ONLY_WHEN_JOB_ACTIVE' });
    await job.suspend();
    // The public key's pin survives a renewal of the certificate with the same key.
    await job.setServerCertificateValidation({ publicKeySha256: [keyPin] });
    await job.resume();
    expect(await settled(job)).toBe('transferred');
    await job.cancel();
    await job.release();
  });

  test('null removes the validation', async () => {
    const job = await httpsJob('removed.bin');
    await job.setServerCertificateValidation({ sha256: [OTHER] });
    await job.setServerCertificateValidation(null);
    await job.resume();
    expect(await settled(job)).toBe('transferred');
    await job.cancel();
    await job.release();
  });

  test.each([
    ['no pin at all', 'certificateValidation', {}],
    ['a pin of 63 hex digits', 'certificateValidation.sha256[0]', { sha256: ['a'.repeat(63)] }],
    ['key pins not as a list', 'certificateValidation.publicKeySha256', { publicKeySha256: keyPin }],
    ['an unknown option', 'certificateValidation.sha1', { sha1: ['ab'.repeat(20)] }],
    ['not an object', 'certificateValidation', 'pinned'],
  ])('%s is refused before any call', async (_name, field, pins) => {
    await refusedBeforeCom(h, field, (job) => job.setServerCertificateValidation(pins as never));
  });
});

describe('older services', () => {
  const bits10 = useLoopback({ bitsVersion: '10.1' });

  test('BITS 10.1 has HttpOptions but not HttpOptions2: the method is an InterfaceNotSupportedError naming BITS 10.2', async () => {
    await notOnThisVersion(bits10, 'IBackgroundCopyJobHttpOptions2', '10.2', (job) => job.setHttpMethod('PUT'));
    await notOnThisVersion(bits10, 'IBackgroundCopyJobHttpOptions2', '10.2', (job) => job.getHttpMethod());
    await withJob(bits10.bits, async (job) => {
      await job.setSecurityOptions({ redirects: 'disallow' });
      expect((await job.getSecurityOptions()).redirects).toBe('disallow');
    });
  });

  const bits102 = useLoopback({ bitsVersion: '10.2' });

  test.each([
    ['setServerCertificateValidation', (job: BitsJob) => job.setServerCertificateValidation({ sha256: ['ab'.repeat(32)] })],
    ['makeCustomHeadersWriteOnly', (job: BitsJob) => job.makeCustomHeadersWriteOnly()],
  ])('BITS 10.2: %s is an InterfaceNotSupportedError naming BITS 10.3', async (_name, act) => {
    await notOnThisVersion(bits102, 'IBackgroundCopyJobHttpOptions3', '10.3', act);
  });

  const bits2 = useLoopback({ bitsVersion: '2.0' });

  test.each([
    ['setSecurityOptions', (job: BitsJob) => job.setSecurityOptions({})],
    ['getClientCertificate', (job: BitsJob) => job.getClientCertificate()],
    ['getCustomHeaders', (job: BitsJob) => job.getCustomHeaders()],
  ])('BITS 2.0: %s is an InterfaceNotSupportedError naming BITS 2.5', async (_name, act) => {
    await notOnThisVersion(bits2, 'IBackgroundCopyJobHttpOptions', '2.5', act);
  });
});

describe('Delivery Optimization', () => {
  const d = useLoopback({}, 'delivery-optimization');

  test.each([
    ['setSecurityOptions', 'IBackgroundCopyJobHttpOptions', '2.5', (job: BitsJob) => job.setSecurityOptions({})],
    ['getClientCertificate', 'IBackgroundCopyJobHttpOptions', '2.5', (job: BitsJob) => job.getClientCertificate()],
    ['setHttpMethod', 'IBackgroundCopyJobHttpOptions2', '10.2', (job: BitsJob) => job.setHttpMethod('PUT')],
  ])('%s is an InterfaceNotSupportedError naming %s', async (_name, interfaceName, introducedIn, act) => {
    await withJob(d.bits, async (job) => {
      await expect(act(job)).rejects.toMatchObject({ name: 'InterfaceNotSupportedError', backend: 'delivery-optimization', interfaceName, introducedIn });
    });
  });
});

describe('the portable engine', () => {
  const e = useEngine();

  test('client certificates are refused before any call; security options only at their defaults; no HTTP method', async () => {
    await withJob(e.bits, async (job) => {
      const refused = await job.setClientCertificate({ storeLocation: 'currentUser', storeName: 'MY', sha1: THUMBPRINT }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(NotSupportedByBackendError);
      expect(refused).toMatchObject({ backend: 'portable', operation: 'client certificates' });
      await expect(job.getClientCertificate()).rejects.toMatchObject({ operation: 'client certificates' });
      await job.setSecurityOptions({});
      expect(await job.getSecurityOptions()).toEqual({ checkRevocation: false, ignoreCertificateErrors: [], redirects: 'allowSilent', allowHttpsToHttp: false });
      // The engine answers E_NOTIMPL: the typed refusal names the method.
      const flags = await job.setSecurityOptions({ checkRevocation: true }).catch((error: unknown) => error);
      expect(flags).toBeInstanceOf(NotSupportedByBackendError);
      expect(flags).toMatchObject({ backend: 'portable', operation: 'IBackgroundCopyJobHttpOptions::SetSecurityFlags' });
      await expect(job.setHttpMethod('PUT')).rejects.toMatchObject({ name: 'InterfaceNotSupportedError', interfaceName: 'IBackgroundCopyJobHttpOptions2', introducedIn: '10.2' });
      await expect(job.makeCustomHeadersWriteOnly()).rejects.toMatchObject({ name: 'InterfaceNotSupportedError', interfaceName: 'IBackgroundCopyJobHttpOptions3', introducedIn: '10.3' });
    });
  });
});
