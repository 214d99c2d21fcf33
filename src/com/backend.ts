import { NotSupportedByBackendError } from './errors.js';
import type { Guid } from './guid.js';
import { CLSID_BackgroundCopyManager, CLSID_DeliveryOptimization } from './interfaces.js';

/**
 * The services behind the one BITS-style COM surface the library speaks: Windows's BITS; Delivery
 * Optimization, through rx-bits's bridge (src/do), which serves BITS's interfaces inside the process
 * over DO's own API; and rx-bits's portable engine (src/engine), which serves them over its own model.
 */
export type Backend = 'bits' | 'delivery-optimization' | 'portable';

export const BACKENDS: readonly Backend[] = ['bits', 'delivery-optimization', 'portable'];

export const CLSID_OF: Readonly<Record<Backend, Guid>> = {
  bits: CLSID_BackgroundCopyManager,
  'delivery-optimization': CLSID_DeliveryOptimization,
  portable: CLSID_BackgroundCopyManager,
};

/** What a backend may lack: a method, a flag or a kind of job. Checked by name, so a typo does not compile. */
export type Capability =
  | 'SetMinimumRetryDelay'
  | 'GetMinimumRetryDelay'
  | 'upload jobs'
  | 'custom headers'
  | 'client certificates'
  | 'all users'
  /** GetProxySettings and SetProxySettings. */
  | 'proxy settings'
  /** IBackgroundCopyJob2's SetCredentials and RemoveCredentials. */
  | 'credentials'
  /** BG_NOTIFY_FILE_RANGES_TRANSFERRED and IBackgroundCopyCallback3 (BITS 10.1). */
  | 'FileRangesTransferred';

/**
 * What each backend lacks, and why.
 * Checked before the call, so that the vtable of a service that does not have the method is never touched.
 */
const MISSING: Readonly<Record<Backend, ReadonlyMap<Capability, string>>> = {
  bits: new Map(),
  // Served by the bridge (src/do) over IDOManager/IDODownload: what DO's own API has no counterpart for.
  'delivery-optimization': new Map([
    ['SetMinimumRetryDelay', 'DO retries by itself, on its own schedule'],
    ['GetMinimumRetryDelay', 'DO retries by itself, on its own schedule'],
    ['upload jobs', 'it only downloads'],
    ['custom headers', "give them to createJob: DO takes HttpCustomHeaders only before a download starts"],
    ['all users', "it lists a caller's own downloads only"],
    ['proxy settings', 'a DO download has no proxy settings of its own'],
    ['credentials', 'a DO download takes no credentials (the bridge has no IBackgroundCopyJob2)'],
    ['FileRangesTransferred', 'the bridge refuses its flag: DO reports a download as a whole, never by ranges'],
  ]),
  portable: new Map([
    ['upload jobs', 'it only downloads (an upload needs the BITS server extension on the other side)'],
    ['client certificates', 'it has no certificate stores to take them from'],
    ['all users', "it keeps one user's jobs, in that user's state directory"],
    ['credentials', 'it has no IBackgroundCopyJob2 to take them'],
    ['FileRangesTransferred', 'it refuses the flag: it never calls IBackgroundCopyCallback3'],
  ]),
};

export function supports(backend: Backend, operation: Capability): boolean {
  return !MISSING[backend].has(operation);
}

export function requireSupport(backend: Backend, operation: Capability): void {
  const detail = MISSING[backend].get(operation);
  if (detail !== undefined) throw new NotSupportedByBackendError(backend, operation, detail);
}
