import { noop, of, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, test } from 'vitest';
import { follow, operate } from '../src/operators/operate.js';
import { captureUnhandled } from './support/harness.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** An operator that passes values on and records when its teardown ran. */
const passing = (log: string[]) =>
  operate<string, string>((subscriber) => ({
    next: (value) => subscriber.next(value),
    finalize: () => log.push('finalize'),
  }));

describe('operate and follow: the guarded handlers of hand-made operators', () => {
  const unhandled = captureUnhandled();
  afterEach(() => {
    expect(unhandled, 'errors lost to the unhandled-error hook').toEqual([]);
  });

  test('error and completion are passed on by default, and finalize runs once after upstream is left', () => {
    const clock = scheduler();
    const log: string[] = [];
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const completing = cold('-a-|');
      expectObservable(completing.pipe(passing(log))).toBe('-a-|');
      expectSubscriptions(completing.subscriptions).toBe('^--!');
      const failing = cold('-a-#', undefined, new Error('upstream'));
      expectObservable(failing.pipe(passing(log))).toBe('-a-#', undefined, new Error('upstream'));
      const left = cold('-a-b-|');
      expectObservable(left.pipe(passing(log)), '^-!').toBe('-a-');
      expectSubscriptions(left.subscriptions).toBe('^-!');
    });
    expect(log).toEqual(['finalize', 'finalize', 'finalize']);
  });

  test('what a next, error or complete handler throws errors the stream', () => {
    const clock = scheduler();
    const boom = new Error('handler threw');
    const throwing = (where: 'next' | 'error' | 'complete') =>
      operate<string, string>((subscriber) => ({
        next: (value) => {
          if (where === 'next') throw boom;
          subscriber.next(value);
        },
        error: () => {
          throw boom;
        },
        complete: () => {
          if (where === 'complete') throw boom;
          subscriber.complete();
        },
      }));
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-|');
      expectObservable(source.pipe(throwing('next'))).toBe('-#', undefined, boom);
      // Upstream is left at once: nothing more reaches the operator.
      expectSubscriptions(source.subscriptions).toBe('^!');
      expectObservable(cold('-a-#').pipe(throwing('error'))).toBe('-a-#', undefined, boom);
      expectObservable(cold('-a-|').pipe(throwing('complete'))).toBe('-a-#', undefined, boom);
    });
  });

  test('a synchronous source: after a handler threw, no more values reach it', () => {
    const seen: number[] = [];
    let caught: unknown;
    of(1, 2, 3)
      .pipe(
        operate<number, number>(() => ({
          next: (value) => {
            seen.push(value);
            throw new Error(`no ${value}`);
          },
        })),
      )
      .subscribe({ error: (e: unknown) => (caught = e) });
    expect(seen).toEqual([1]);
    expect(caught).toEqual(new Error('no 1'));
  });

  test('what setup throws errors the stream', () => {
    let caught: unknown;
    of(1)
      .pipe(
        operate<number, number>(() => {
          throw new Error('setup threw');
        }),
      )
      .subscribe({ error: (e: unknown) => (caught = e) });
    expect(caught).toEqual(new Error('setup threw'));
  });

  test("follow: an operator's own sources are guarded too, and end with its subscription", () => {
    const clock = scheduler();
    const boom = new Error('timer callback threw');
    // On each value, a timer whose callback throws; nobody waits for the timers once the stream ends.
    const later = (delay: number) =>
      operate<string, string>((subscriber) => ({
        next: (value) => {
          subscriber.next(value);
          follow(subscriber, timer(delay, clock), {
            next: () => {
              throw boom;
            },
            complete: noop,
          });
        },
      }));
    clock.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a----|').pipe(later(2))).toBe('-a-#', undefined, boom);
      expectObservable(cold('-a-|').pipe(later(5))).toBe('-a-|');
    });
  });
});
