import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { liveCallbackObjects } from '../src/com/callback-object.js';
import { ServerCertificateValidator } from '../src/com/certificate-validator.js';
import { S_OK, TRUST_E_FAIL } from '../src/com/hresult.js';
import { IBackgroundCopyServerCertificateValidationCallback } from '../src/com/interfaces.js';
import { invokeAsync } from '../src/com/invoke.js';
import { TLS_CERTIFICATE } from './support/tls-fixture.js';

/*
 * Our IBackgroundCopyServerCertificateValidationCallback on its own, called as BITS calls it: from a
 * thread other than the JS thread (a call thread), answered on the receiver thread from its pins.
 * Whatever goes wrong must refuse the certificate: koffi answers 0 (S_OK, "accept") for a callback
 * that throws.
 */

const der = new X509Certificate(TLS_CERTIFICATE).raw;
const method = IBackgroundCopyServerCertificateValidationCallback.method('ValidateServerCertificate');
const baseline = liveCallbackObjects();

async function validate(pins: ConstructorParameters<typeof ServerCertificateValidator>[0], certificate: Buffer | null): Promise<number> {
  await ServerCertificateValidator.ready();
  const validator = new ServerCertificateValidator(pins, 'pins');
  try {
    return (await invokeAsync(validator.address, method, null, null, certificate?.length ?? 0, certificate, 0x10001, 0, null)) >>> 0;
  } finally {
    validator.dispose();
  }
}

describe('the certificate validation callback', () => {
  afterAll(() => {
    expect(liveCallbackObjects() - baseline, 'validators still allocated').toBe(0);
  });

  test('accepts a certificate whose SHA-256 is pinned, refuses one that is not', async () => {
    expect(await validate({ sha256: [new X509Certificate(TLS_CERTIFICATE).fingerprint256] }, der)).toBe(S_OK);
    expect(await validate({ sha256: ['00'.repeat(32)] }, der)).toBe(TRUST_E_FAIL);
  });

  test('refuses, never accepts, when the certificate cannot be read or is missing', async () => {
    // A key pin needs the certificate parsed: garbage makes the parser throw inside the callback.
    expect(await validate({ publicKeySha256: ['00'.repeat(32)] }, Buffer.from([1, 2, 3]))).toBe(TRUST_E_FAIL);
    expect(await validate({ sha256: ['00'.repeat(32)] }, null)).toBe(TRUST_E_FAIL);
  });
});
