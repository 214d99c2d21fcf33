import { ComError, InvalidArgumentError, JobPropertyNotSupportedError } from './errors.js';
import { BG_E_UNKNOWN_PROPERTY_ID, isFailure } from './hresult.js';
import { IBackgroundCopyJob5 } from './interfaces.js';
import { JOB_PROPERTIES, type JobPropertyInput, type JobPropertyName, type JobPropertyOutput } from './job-properties.js';
import type { JobHost } from './job-host.js';

/**
 * IBackgroundCopyJob5 (BITS 5.0): the job's properties, each through `withInterface` (a service
 * without it is an InterfaceNotSupportedError) after its value was checked. A property newer than
 * the service (BG_E_UNKNOWN_PROPERTY_ID) is a JobPropertyNotSupportedError naming its BITS version.
 */

function propertyOf(name: unknown): (typeof JOB_PROPERTIES)[JobPropertyName] {
  if (typeof name !== 'string' || !Object.hasOwn(JOB_PROPERTIES, name)) {
    throw new InvalidArgumentError('property', `unknown job property ${typeof name === 'string' ? `'${name}'` : typeof name}; expected one of ${Object.keys(JOB_PROPERTIES).join(', ')}`);
  }
  return JOB_PROPERTIES[name as JobPropertyName];
}

/** A failure answer as the typed error it stands for. */
function check(hr: number, job: JobHost, method: 'SetProperty' | 'GetProperty', name: JobPropertyName): void {
  if (hr === BG_E_UNKNOWN_PROPERTY_ID) throw new JobPropertyNotSupportedError(job.backend, name, JOB_PROPERTIES[name].introducedIn);
  if (isFailure(hr)) throw new ComError(hr, IBackgroundCopyJob5.name, `${method}(${name})`);
}

export async function setJobProperty<K extends JobPropertyName>(job: JobHost, name: K, value: JobPropertyInput<K>): Promise<void> {
  const property = propertyOf(name);
  const union = property.encode(value, name);
  // The union goes BY VALUE, as the two words of its 16 bytes (native-types.ts).
  const words = { lo: union.readBigUInt64LE(0), hi: union.readBigUInt64LE(8) };
  check(await job.withInterface(IBackgroundCopyJob5, (job5) => job5.callRaw('SetProperty', property.id, words)), job, 'SetProperty', name);
}

export async function getJobProperty<K extends JobPropertyName>(job: JobHost, name: K): Promise<JobPropertyOutput<K>> {
  const property = propertyOf(name);
  const union = Buffer.alloc(16);
  check(await job.withInterface(IBackgroundCopyJob5, (job5) => job5.callRaw('GetProperty', property.id, union)), job, 'GetProperty', name);
  // The table pairs each name with its own decoder; indexing it by a generic name loses that pairing.
  return property.decode(union) as JobPropertyOutput<K>;
}
