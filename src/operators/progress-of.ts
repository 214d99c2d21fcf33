import type { JobProgress } from '../com/job.js';
import type { ModificationEvent } from '../observables/events.js';

/** The progress operators accept `progress$` values and modification events alike. */
export function progressOf(value: JobProgress | ModificationEvent): JobProgress {
  return 'type' in value ? value.progress : value;
}
