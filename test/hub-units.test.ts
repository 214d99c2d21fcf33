import { describe, expect, test } from 'vitest';
import { AttachMachine, IllegalTransitionError, type AttachState } from '../src/observables/attach-state.js';
import { checkHubOptions, DEFAULT_HUB_OPTIONS } from '../src/observables/hub-options.js';
import { displacedPolicyOf, pollIntervalOf, shortest, unionOfFlags, wantsSnapshots, type Registration } from '../src/observables/registrations.js';
import type { Interest } from '../src/observables/events.js';
import type { BitsJob } from '../src/com/job.js';

/** The hub's pure parts, without COM. */

const registration = (interests: Interest[], options: Partial<typeof DEFAULT_HUB_OPTIONS> = {}): Registration => ({
  job: {} as BitsJob,
  interests: new Set(interests),
  options: { ...DEFAULT_HUB_OPTIONS, ...options },
  end: { fail: () => undefined, complete: () => undefined },
});

describe('the attach state machine', () => {
  test('the life of a registration, told to the listener at each step', () => {
    const seen: string[] = [];
    const machine = new AttachMachine((state, previous) => seen.push(`${previous}->${state}`));
    const path: AttachState[] = ['attaching', 'attached', 'displaced', 'attached', 'unregistered', 'attached', 'reconnecting', 'attaching', 'attached', 'left', 'detached'];
    for (const state of path) machine.to(state);
    expect(seen[0]).toBe('detached->attaching');
    expect(seen).toHaveLength(path.length);
    expect(machine.holdsJob).toBe(false);
  });

  test('a move the table does not list throws, and staying put is no move', () => {
    const machine = new AttachMachine(() => undefined);
    expect(() => machine.to('attached')).toThrow(IllegalTransitionError);
    machine.to('attaching');
    machine.to('attaching');
    machine.to('left');
    expect(machine.can('attached')).toBe(false);
    expect(() => machine.to('reconnecting')).toThrow(/left -> reconnecting/);
  });
});

describe('what the registrations want', () => {
  test('flags are the union; snapshots are wanted by state, progress and modification', () => {
    const regs = [registration(['transferred']), registration(['fileTransferred', 'error'])];
    expect(unionOfFlags(regs)).toBe(0x1 | 0x10 | 0x2);
    expect(wantsSnapshots(regs)).toBe(false);
    expect(wantsSnapshots([...regs, registration(['progress'])])).toBe(true);
  });

  test('polling: only polled interests, unless displaced, at the shortest interval', () => {
    const regs = [registration(['transferred'], { pollInterval: 7 }), registration(['error'], { pollInterval: 50 })];
    expect(pollIntervalOf(regs, false)).toBe(50);
    expect(pollIntervalOf(regs, true)).toBe(7);
    expect(pollIntervalOf([registration(['transferred'])], false)).toBeUndefined();
    expect(shortest(regs, 'leaseInterval')).toBe(30_000);
    expect(shortest([], 'reconnectTimeout')).toBeUndefined();
  });

  test("one subscription asking to reclaim makes the hub reclaim", () => {
    expect(displacedPolicyOf([registration(['transferred'])])).toBe('poll');
    expect(displacedPolicyOf([registration(['transferred']), registration(['error'], { onDisplaced: 'reclaim' })])).toBe('reclaim');
  });
});

describe('hub options', () => {
  test('defaults, and each bad value named', () => {
    expect(checkHubOptions({})).toEqual(DEFAULT_HUB_OPTIONS);
    expect(() => checkHubOptions({ leaseInterval: 0 })).toThrow(/^leaseInterval: /);
    expect(() => checkHubOptions({ reconnectTimeout: -1 })).toThrow(/^reconnectTimeout: /);
    expect(() => checkHubOptions({ pollInterval: 1.5 })).toThrow(/^pollInterval: /);
    expect(() => checkHubOptions({ onDisplaced: 'fight' as never })).toThrow(/^onDisplaced: /);
    expect(() => checkHubOptions(null as never)).toThrow(/^options: /);
  });
});
