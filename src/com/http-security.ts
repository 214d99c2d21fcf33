import {
  BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP,
  BG_HTTP_REDIRECT_POLICY_MASK,
  BG_SSL_ENABLE_CRL_CHECK,
  IGNORABLE_CERTIFICATE_ERRORS,
  REDIRECT_POLICIES,
  type IgnorableCertificateError,
  type RedirectPolicy,
} from './enums.js';
import { InvalidArgumentError } from './errors.js';
import { flagBits, flagNames } from './flags.js';

/**
 * IBackgroundCopyJobHttpOptions::SetSecurityFlags's DWORD as named options, both ways: each flag
 * is asked for by name (a certificate error is ignored only when it is named), an unknown name is an
 * InvalidArgumentError naming its field, and what the service answers is spelled back, a bit this
 * table does not define being reported rather than dropped.
 */

/** How a job treats the server's certificate and redirects. Every option left out takes BITS's default. */
export interface SecurityOptions {
  /** Check the server certificate's revocation (BG_SSL_ENABLE_CRL_CHECK); a failed check is fatal. Default false. */
  readonly checkRevocation?: boolean;
  /** Server certificate errors to ignore, by name (BG_SSL_IGNORE_*); default none. */
  readonly ignoreCertificateErrors?: readonly IgnorableCertificateError[];
  /**
   * What a redirect does (BG_HTTP_REDIRECT_POLICY_*, BITS 3.0+): `'allowSilent'` follows it (the
   * default); `'allowReport'` follows it and rewrites the file's remote name to where it led;
   * `'disallow'` puts the job in ERROR with the 3xx status. Upload jobs ignore it.
   */
  readonly redirects?: RedirectPolicy;
  /** Follow a redirect from HTTPS to HTTP (BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP). Default false. */
  readonly allowHttpsToHttp?: boolean;
}

/** The options as the service holds them, every one filled in. */
export type SecurityOptionsInfo = Required<SecurityOptions>;

const OPTION_NAMES: ReadonlyArray<keyof SecurityOptions> = ['checkRevocation', 'ignoreCertificateErrors', 'redirects', 'allowHttpsToHttp'];

function optionalBoolean(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(field, `expected true or false, got ${typeof value}`);
  return value;
}

/** The SetSecurityFlags DWORD for `value`; anything else than {@link SecurityOptions} is an InvalidArgumentError naming the field. */
export function securityFlags(value: unknown, field: string): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(field, `expected an object with any of ${OPTION_NAMES.join(', ')}`);
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) throw new InvalidArgumentError(`${field}.${key}`, `unknown option; expected one of ${OPTION_NAMES.join(', ')}`);
  }
  let flags = optionalBoolean(given.checkRevocation, `${field}.checkRevocation`) ? BG_SSL_ENABLE_CRL_CHECK : 0;
  if (given.ignoreCertificateErrors !== undefined) {
    flags |= flagBits(IGNORABLE_CERTIFICATE_ERRORS, given.ignoreCertificateErrors, `${field}.ignoreCertificateErrors`, 'certificate error');
  }
  const redirects = given.redirects ?? 'allowSilent';
  if (typeof redirects !== 'string' || !Object.hasOwn(REDIRECT_POLICIES, redirects)) {
    throw new InvalidArgumentError(`${field}.redirects`, `unknown redirect policy ${typeof redirects === 'string' ? `'${redirects}'` : typeof redirects}; expected one of ${Object.keys(REDIRECT_POLICIES).join(', ')}`);
  }
  flags |= REDIRECT_POLICIES[redirects as RedirectPolicy];
  if (optionalBoolean(given.allowHttpsToHttp, `${field}.allowHttpsToHttp`)) flags |= BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP;
  return flags >>> 0;
}

/** The options a GetSecurityFlags answer stands for; a bit or redirect policy BITS does not define is a RangeError. */
export function securityOptions(flags: number): SecurityOptionsInfo {
  const ignoreBits = Object.values(IGNORABLE_CERTIFICATE_ERRORS).reduce((all, bit) => all | bit, 0);
  const known = BG_SSL_ENABLE_CRL_CHECK | ignoreBits | BG_HTTP_REDIRECT_POLICY_MASK | BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP;
  const unknown = (flags & ~known) >>> 0;
  if (unknown !== 0) throw new RangeError(`the service answered unknown security flag bits 0x${unknown.toString(16)}`);
  const policy = flags & BG_HTTP_REDIRECT_POLICY_MASK;
  const redirects = (Object.keys(REDIRECT_POLICIES) as RedirectPolicy[]).find((name) => REDIRECT_POLICIES[name] === policy);
  if (redirects === undefined) throw new RangeError(`the service answered an unknown redirect policy 0x${policy.toString(16)}`);
  return {
    checkRevocation: (flags & BG_SSL_ENABLE_CRL_CHECK) !== 0,
    ignoreCertificateErrors: flagNames(IGNORABLE_CERTIFICATE_ERRORS, flags & ignoreBits, 'certificate error'),
    redirects,
    allowHttpsToHttp: (flags & BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP) !== 0,
  };
}
