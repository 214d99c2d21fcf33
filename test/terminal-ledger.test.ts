import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { JOB_STATES, type JobState } from '../src/com/enums.js';
import { TerminalLedger } from '../src/observables/terminal-ledger.js';

type Step =
  | { readonly kind: 'observe'; readonly state: JobState }
  | { readonly kind: 'newAttempt' }
  | { readonly kind: 'transferred' }
  | { readonly kind: 'error'; readonly transient: boolean; readonly count: number | undefined };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom(...JOB_STATES).map((state): Step => ({ kind: 'observe', state })),
  fc.constant<Step>({ kind: 'newAttempt' }),
  fc.constant<Step>({ kind: 'transferred' }),
  fc.record({ kind: fc.constant('error' as const), transient: fc.boolean(), count: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }) }),
);

describe('TerminalLedger: each terminal event once per stay', () => {
  test('a failure after a resume is new even when the error count did not move', () => {
    const ledger = new TerminalLedger();
    expect(ledger.admitError(false, 1)).toBe(true);
    expect(ledger.admitError(false, 1)).toBe(false); // a replay of the same failure
    ledger.newAttempt();
    expect(ledger.admitError(false, 1)).toBe(true);
  });

  test('leaving the error state starts a new stay; staying in it does not', () => {
    const ledger = new TerminalLedger();
    expect(ledger.admitError(false, undefined)).toBe(true);
    ledger.observe('error');
    expect(ledger.admitError(false, undefined)).toBe(false);
    ledger.observe('connecting');
    expect(ledger.admitError(false, undefined)).toBe(true);
  });

  test('within a stay, a count that moved is a failure the polls did not see the job leave for', () => {
    const ledger = new TerminalLedger();
    expect(ledger.admitError(true, 3)).toBe(true);
    ledger.observe('transientError');
    expect(ledger.toldError(true, 4)).toBe(false);
    expect(ledger.admitError(true, 4)).toBe(true);
    expect(ledger.toldError(true, 3)).toBe(true);
  });

  test('transferred is told once until the job leaves the terminal states', () => {
    const ledger = new TerminalLedger();
    expect(ledger.admitTransferred()).toBe(true);
    ledger.observe('transferred');
    expect(ledger.admitTransferred()).toBe(false);
    ledger.observe('queued');
    expect(ledger.admitTransferred()).toBe(true);
  });

  test('property: an event is refused exactly when the same one was told with no stay break since (fast-check, 2,000 runs)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const ledger = new TerminalLedger();
        // The model: what was told since the last break of each kind's stay.
        let transferred = false;
        const told = { error: new Set<number | undefined>(), transientError: new Set<number | undefined>() };
        for (const s of steps) {
          if (s.kind === 'observe') {
            ledger.observe(s.state);
            if (!['transferred', 'error', 'transientError'].includes(s.state)) transferred = false;
            if (s.state !== 'error') told.error.clear();
            if (s.state !== 'transientError') told.transientError.clear();
          } else if (s.kind === 'newAttempt') {
            ledger.newAttempt();
            transferred = false;
            told.error.clear();
            told.transientError.clear();
          } else if (s.kind === 'transferred') {
            expect(ledger.admitTransferred()).toBe(!transferred);
            transferred = true;
          } else {
            const set = s.transient ? told.transientError : told.error;
            expect(ledger.admitError(s.transient, s.count)).toBe(!set.has(s.count));
            set.add(s.count);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
