import { formatHresult, hresultMessage, hresultName, toUnsignedHresult } from './hresult.js';

/** Every error rx-bits raises on purpose derives from this, so `instanceof RxBitsError` tells ours from others. */
export class RxBitsError extends Error {
  override readonly name: string = 'RxBitsError';
}

/** Bad input, caught before any COM call. `field` names what was wrong, e.g. `files[2].localPath`. */
export class InvalidArgumentError extends RxBitsError {
  override readonly name: string = 'InvalidArgumentError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** A string that is not a GUID in registry format (`{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`, braces optional). */
export class GuidFormatError extends InvalidArgumentError {
  override readonly name = 'GuidFormatError';
}

/** There is no BITS here: not Windows, and no runtime was injected. */
export class UnsupportedPlatformError extends RxBitsError {
  override readonly name = 'UnsupportedPlatformError';
  constructor(readonly platform: string) {
    super(
      `BITS and Delivery Optimization are Windows services; this process runs on '${platform}'. ` +
        'Pass connect({ runtime }) to use another COM runtime (the tests inject a loopback service).',
    );
  }
}

/** The chosen backend does not have this operation (e.g. Delivery Optimization has no EnumJobs). */
export class NotSupportedByBackendError extends RxBitsError {
  override readonly name: string = 'NotSupportedByBackendError';
  constructor(
    readonly backend: string,
    readonly operation: string,
    detail?: string,
  ) {
    super(`${operation} is not supported by the '${backend}' backend${detail === undefined ? '' : `: ${detail}`}`);
  }
}

/**
 * The service does not have an interface an operation needs: QueryInterface answered E_NOINTERFACE,
 * as an older BITS does for the interfaces of later versions, and a BITS-style subset (Delivery
 * Optimization) for those it leaves out. A {@link NotSupportedByBackendError}, so that whoever handles
 * "not here" handles this too.
 */
export class InterfaceNotSupportedError extends NotSupportedByBackendError {
  override readonly name = 'InterfaceNotSupportedError';
  constructor(
    backend: string,
    readonly interfaceName: string,
    /** The BITS version that introduced the interface, e.g. '2.5'; undefined for one BITS does not define. */
    readonly introducedIn: string | undefined,
  ) {
    super(
      backend,
      interfaceName,
      introducedIn === undefined ? 'this service does not have it' : `it came with BITS ${introducedIn}, and this service does not have it`,
    );
  }
}

/**
 * The service has IBackgroundCopyJob5 but not this job property (it answered
 * BG_E_UNKNOWN_PROPERTY_ID): it is older than the BITS version that introduced the property, e.g.
 * 10.1 for `onDemand`. A {@link NotSupportedByBackendError}, as {@link InterfaceNotSupportedError} is.
 */
export class JobPropertyNotSupportedError extends NotSupportedByBackendError {
  override readonly name = 'JobPropertyNotSupportedError';
  constructor(
    backend: string,
    /** rx-bits's name for the property, e.g. `minimumNotificationInterval`. */
    readonly property: string,
    /** The BITS version that introduced it, e.g. '10.1'. */
    readonly introducedIn: string,
  ) {
    super(backend, property, `the job property came with BITS ${introducedIn}, and this service does not have it`);
  }
}

/**
 * GetReplyData refused a reply larger than the 1 MiB BITS hands back in memory (BG_E_TOO_LARGE): the
 * reply is in the job's reply file, which `complete()` makes appear at `getReplyFileName()`.
 */
export class ReplyTooLargeError extends RxBitsError {
  override readonly name = 'ReplyTooLargeError';
  constructor(
    /** The reply's size in bytes, as the service reported it. */
    readonly size: number,
  ) {
    super(`the upload's reply is ${size} bytes, more than the 1 MiB BITS returns in memory; read the reply file after complete()`);
  }
}

/** An interface pointer (or a job or manager holding one) was used after `release()`. */
export class ReleasedError extends RxBitsError {
  override readonly name = 'ReleasedError';
  constructor(
    readonly interfaceName: string,
    readonly operation: string,
  ) {
    super(`${operation}: this ${interfaceName} reference was already released`);
  }
}

/** A COM call answered a failure HRESULT. */
export class ComError extends RxBitsError {
  override readonly name = 'ComError';
  /** The unsigned HRESULT, e.g. 0x80200001. */
  readonly hresult: number;
  /** Its symbolic name (`BG_E_NOT_FOUND`, `BG_E_HTTP_ERROR_404`), or undefined when we cannot name it. */
  readonly code: string | undefined;
  constructor(
    hresult: number,
    readonly interfaceName: string,
    readonly method: string,
    detail?: string,
  ) {
    const code = hresultName(hresult);
    const label = code === undefined ? formatHresult(hresult) : `${code} (${formatHresult(hresult)})`;
    const explanation = detail ?? hresultMessage(hresult);
    super(`${interfaceName}::${method} failed with ${label}${explanation === undefined ? '' : `: ${explanation}`}`);
    this.hresult = toUnsignedHresult(hresult);
    this.code = code;
  }
}

/**
 * The answer of a call into the service, or undefined where the service refused it. For reads about
 * a job that may be gone: what a finished job still answers differs between BITS and Wine. Anything
 * that is not a COM failure (a bug, a released pointer) still throws.
 */
export async function unlessComError<T>(answer: Promise<T>): Promise<T | undefined> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof ComError) return undefined;
    throw error;
  }
}
