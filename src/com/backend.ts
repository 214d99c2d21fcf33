import { NotSupportedByBackendError } from './errors.js';
import type { Guid } from './guid.js';
import { CLSID_BackgroundCopyManager, CLSID_DeliveryOptimization } from './interfaces.js';

/**
 * The services with a BITS-style COM surface: Windows's BITS and Delivery Optimization, and rx-bits's
 * own portable engine (src/engine), which serves BITS's class inside the process.
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
  | 'EnumJobs'
  | 'GetErrorDescription'
  | 'AddFileSet'
  | 'SetMinimumRetryDelay'
  | 'GetMinimumRetryDelay'
  | 'BG_NOTIFY_DISABLE'
  | 'upload jobs'
  | 'custom headers'
  | 'all users';

/**
 * What each backend lacks, and why (for Delivery Optimization, the reference's "subset" section).
 * Checked before the call, so that the vtable of a service that does not have the method is never touched.
 */
const MISSING: Readonly<Record<Backend, ReadonlyMap<Capability, string>>> = {
  bits: new Map(),
  'delivery-optimization': new Map([
    ['EnumJobs', 'it cannot list jobs; keep the ids of the jobs you create'],
    ['GetErrorDescription', 'it has no error descriptions'],
    ['AddFileSet', 'files are added one by one through IDeliveryOptimizationJob'],
    ['SetMinimumRetryDelay', 'it has no minimum retry delay'],
    ['GetMinimumRetryDelay', 'it has no minimum retry delay'],
    ['BG_NOTIFY_DISABLE', 'detach with SetNotifyInterface(NULL) instead'],
    ['upload jobs', 'it only downloads'],
    ['custom headers', 'it has no IBackgroundCopyJobHttpOptions'],
    ['all users', 'it cannot list jobs at all'],
  ]),
  portable: new Map([
    ['upload jobs', 'it only downloads (an upload needs the BITS server extension on the other side)'],
    ['all users', "it keeps one user's jobs, in that user's state directory"],
  ]),
};

export function supports(backend: Backend, operation: Capability): boolean {
  return !MISSING[backend].has(operation);
}

export function requireSupport(backend: Backend, operation: Capability): void {
  const detail = MISSING[backend].get(operation);
  if (detail !== undefined) throw new NotSupportedByBackendError(backend, operation, detail);
}
