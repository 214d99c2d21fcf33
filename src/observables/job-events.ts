import { Observable } from 'rxjs';
import { InvalidArgumentError } from '../com/errors.js';
import { checkJob, type BitsJob } from '../com/job.js';
import { JOB_EVENT_TYPES, type HubEvent, type JobEvent, type JobEventType } from './events.js';
import type { CheckedHubOptions } from './hub-options.js';
import { checkHubOptions, hubFor, type HubOptions } from './hub.js';

function checkKinds<K extends JobEventType>(kinds: readonly K[]): ReadonlySet<K> {
  if (!Array.isArray(kinds) || kinds.length === 0) throw new InvalidArgumentError('kinds', 'expected a non-empty array of event types');
  for (const kind of kinds) {
    if (!JOB_EVENT_TYPES.includes(kind)) {
      throw new InvalidArgumentError('kinds', `unknown event type '${String(kind)}'; expected ${JOB_EVENT_TYPES.join(', ')}`);
    }
  }
  return new Set(kinds);
}

/**
 * A job's events as an Observable: `transferred`, `error`, `modification`, `fileTransferred`, or
 * the `kinds` asked for. Cold: subscribing registers the kinds with the job's hub, which sets the
 * job's notify flags to the union of what every live subscription wants and attaches our callback;
 * unsubscribing removes them (and detaches after the last one). It never cancels or completes the job.
 * It completes when the job leaves the queue (acknowledged or cancelled): no event can follow.
 *
 * A subscriber that arrives after the job finished gets the terminal event at once, marked `replay`.
 *
 * @example
 * jobEvents$(job).pipe(filter((e) => e.type === 'transferred'), take(1)).subscribe(() => job.complete());
 */
export function jobEvents$<K extends JobEventType = JobEventType>(
  job: BitsJob,
  kinds: readonly K[] = JOB_EVENT_TYPES as readonly K[],
  options: HubOptions = {},
): Observable<Extract<JobEvent, { type: K }>> {
  // Every argument at once, as every Observable of a job does: its kinds and options, then the job.
  const wanted = checkKinds(kinds);
  const checked = checkHubOptions(options);
  return hubEvents$(checkJob(job), wanted, checked);
}

/** The hub's events of the `wanted` types, checked by the caller; what every event Observable is made of. */
export function hubEvents$<K extends HubEvent['type']>(
  job: BitsJob,
  wanted: ReadonlySet<K>,
  checked: CheckedHubOptions,
): Observable<Extract<HubEvent, { type: K }>> {
  const matches = (event: HubEvent): event is Extract<HubEvent, { type: K }> => wanted.has(event.type as K);
  return new Observable((subscriber) => {
    const hub = hubFor(job);
    const events = hub.events.subscribe((event) => {
      if (matches(event)) subscriber.next(event);
    });
    const last = hub.lastTerminal;
    if (last !== undefined && matches(last)) subscriber.next({ ...last, source: 'replay' });
    const unregister = hub.register(job, wanted, checked, {
      fail: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      events.unsubscribe();
      unregister();
    };
  });
}
