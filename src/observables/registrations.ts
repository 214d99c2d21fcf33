import type { BitsJob } from '../com/job.js';
import { NOTIFY_FLAG_OF, POLLED_INTERESTS, type Interest } from './events.js';
import type { CheckedHubOptions, DisplacedPolicy } from './hub-options.js';

/**
 * What the live subscriptions of one job want, as pure functions of them: the notify flags to set,
 * whether anyone wants a kind of event, how often to poll and to renew the lease.
 */

/** What a subscription asked for, and how it hears that the hub failed or that the job is gone. */
export interface Registration {
  readonly job: BitsJob;
  readonly interests: ReadonlySet<Interest>;
  readonly options: CheckedHubOptions;
  readonly end: RegistrationEnd;
}

export interface RegistrationEnd {
  /** The hub failed (a COM error, or the service stayed away). */
  readonly fail: (error: unknown) => void;
  /** The job left the queue: nothing more can happen to it. */
  readonly complete: () => void;
}

/** The union of the BG_NOTIFY flags the registrations need. */
export function unionOfFlags(registrations: Iterable<Registration>): number {
  let flags = 0;
  for (const registration of registrations) for (const interest of registration.interests) flags |= NOTIFY_FLAG_OF[interest];
  return flags;
}

export function wants(registrations: Iterable<Registration>, interest: Interest): boolean {
  for (const registration of registrations) if (registration.interests.has(interest)) return true;
  return false;
}

/** Whether anyone needs the job's state and progress (state$, progress$, modification events). */
export function wantsSnapshots(registrations: Iterable<Registration>): boolean {
  for (const registration of registrations) {
    if (registration.interests.has('state') || registration.interests.has('progress') || registration.interests.has('modification')) return true;
  }
  return false;
}

/**
 * How often the backstop polls: the shortest interval of the registrations that need polling, or
 * undefined when none does. `everyone`: the service calls us for nothing (our registration was
 * taken), so every subscription, `transferred$` too, is served by polling.
 */
export function pollIntervalOf(registrations: Iterable<Registration>, everyone: boolean): number | undefined {
  let interval: number | undefined;
  for (const registration of registrations) {
    if (everyone || [...registration.interests].some((interest) => POLLED_INTERESTS.has(interest))) {
      interval = Math.min(interval ?? Infinity, registration.options.pollInterval);
    }
  }
  return interval;
}

/** The shortest option value over the registrations (undefined when there are none). */
export function shortest(registrations: Iterable<Registration>, option: 'leaseInterval' | 'reconnectTimeout'): number | undefined {
  let value: number | undefined;
  for (const registration of registrations) value = Math.min(value ?? Infinity, registration.options[option]);
  return value;
}

/** `reclaim` if any subscription asks for it: taking our registration back is what it asked for. */
/** 'reclaim' if any subscription asks for it; 'observe' only if every one does (an app's own subscription registers). */
export function displacedPolicyOf(registrations: Iterable<Registration>): DisplacedPolicy {
  let observeOnly = true;
  for (const registration of registrations) {
    if (registration.options.onDisplaced === 'reclaim') return 'reclaim';
    if (registration.options.onDisplaced !== 'observe') observeOnly = false;
  }
  return observeOnly ? 'observe' : 'poll';
}
