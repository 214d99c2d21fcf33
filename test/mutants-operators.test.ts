import { throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, test } from 'vitest';
import {
  BitsJobError,
  cancelOnUnsubscribe,
  exponentialBackoff,
  failOnJobError,
  InvalidArgumentError,
  JobLeftQueueError,
  retryOnJobError,
  transferRate,
  type ErrorEvent,
  type JobEvent,
  type ModificationEvent,
} from '../src/index.js';
import { secondsLeft } from '../src/operators/progress-of.js';
import { checkWindow, SlidingRate } from '../src/operators/sliding-rate.js';

const JOB = '{00000000-0000-0000-0000-000000000001}' as ErrorEvent['jobId'];

function errorEvent(file?: { url: string }, transient = false): ErrorEvent {
  return {
    type: 'error',
    jobId: JOB,
    source: 'callback',
    transient,
    error: {
      context: 'remoteFile',
      hresult: 0x80190194,
      code: 'BG_E_HTTP_ERROR_404',
      description: 'Not found.',
      contextDescription: undefined,
      protocol: 'http',
      file: file === undefined ? undefined : { url: file.url, localPath: '/tmp/x', bytesTotal: undefined, bytesTransferred: 0, completed: false },
    },
  };
}

const transferredEvent: JobEvent = { type: 'transferred', jobId: JOB, source: 'callback' };
const modificationTo = (state: ModificationEvent['state']): ModificationEvent => ({
  type: 'modification',
  jobId: JOB,
  source: 'callback',
  state,
  progress: { bytesTotal: 100, bytesTransferred: 0, filesTotal: 1, filesTransferred: 0 },
});

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A job whose resume() and cancel() record the virtual time they were called at. */
function recordingJob(clock: TestScheduler) {
  const calls = { resume: [] as number[], cancel: [] as number[] };
  return {
    calls,
    resume: () => {
      calls.resume.push(clock.now());
      return Promise.resolve();
    },
    cancel: () => {
      calls.cancel.push(clock.now());
      return Promise.resolve({ hresult: 0, code: 'S_OK' });
    },
  };
}

/** Issue G: edges and messages of the pure operators that the mutation run found untested. */
describe('exponentialBackoff options', () => {
  test('the edges are accepted: initial 0, max equal to initial, jitter 0 and 1', () => {
    expect(exponentialBackoff({ initial: 0, max: 0 })(3)).toBe(0);
    expect(exponentialBackoff({ initial: 100, max: 100, jitter: 0 })(5)).toBe(100);
    expect(exponentialBackoff({ initial: 100, jitter: 1, random: () => 0.5 })(1)).toBe(50);
  });

  test('beyond them, a typed error naming the option and the value', () => {
    expect(() => exponentialBackoff({ initial: -1 })).toThrow(InvalidArgumentError);
    expect(() => exponentialBackoff({ initial: -1 })).toThrow(/initial.*-1/);
    expect(() => exponentialBackoff({ initial: 100, max: 99 })).toThrow(/max.*100.*99/);
    expect(() => exponentialBackoff({ jitter: 1.5 })).toThrow(/jitter.*1\.5/);
    expect(() => exponentialBackoff({ jitter: -0.1 })).toThrow(/jitter/);
  });
});

describe('retryOnJobError options', () => {
  test('zero is a valid count, delay and nudge', () => {
    expect(() => retryOnJobError({ resume: async () => undefined }, { count: 0, delay: 0, nudgeTransientAfter: 0 })).not.toThrow();
  });

  test('bad values name the option and the value', () => {
    const job = { resume: async () => undefined };
    expect(() => retryOnJobError(job, { count: -1 })).toThrow(/count.*-1/);
    expect(() => retryOnJobError(job, { delay: -5 })).toThrow(/delay.*-5/);
    expect(() => retryOnJobError(job, { nudgeTransientAfter: -2 })).toThrow(/nudgeTransientAfter.*-2/);
  });
});

describe('BitsJobError', () => {
  test('its message: the code, the context, the file and the description; attempts only when more than one', () => {
    const one = new BitsJobError(errorEvent({ url: 'http://127.0.0.1/x' }), [{ attempt: 1, code: 'BG_E_HTTP_ERROR_404', hresult: 0x80190194, delay: undefined }]);
    expect(one.name).toBe('BitsJobError');
    expect(one.message).toBe(`job ${JOB} failed with BG_E_HTTP_ERROR_404 (0x80190194) in remoteFile (http://127.0.0.1/x): Not found.`);
    const attempts = [1, 2].map((attempt) => ({ attempt, code: 'BG_E_HTTP_ERROR_404', hresult: 0x80190194, delay: undefined }));
    expect(new BitsJobError(errorEvent(), attempts).message).toMatch(/ failed after 2 attempts with .* in remoteFile: Not found\.$/);
  });
});

describe('JobLeftQueueError', () => {
  test.each([
    ['acknowledged', 'was completed elsewhere'],
    ['cancelled', 'was cancelled'],
    [undefined, 'was cancelled or completed elsewhere'],
  ] as const)('says how the job left (%s)', (state, how) => {
    const error = new JobLeftQueueError(JOB, state);
    expect(error.name).toBe('JobLeftQueueError');
    expect(error.message).toBe(`job ${JOB} ${how} before it transferred; it has left the queue`);
  });
});

describe('rates', () => {
  test('secondsLeft: no estimate at a rate of zero or less', () => {
    const progress = { bytesTotal: 100, bytesTransferred: 50, filesTotal: 1, filesTransferred: 0 };
    expect(secondsLeft(progress, 0)).toBeUndefined();
    expect(secondsLeft(progress, -1)).toBeUndefined();
    expect(secondsLeft(progress, 10)).toBe(5);
  });

  test('secondsLeft: done is 0 seconds left, whether or not a rate is known', () => {
    const done = { bytesTotal: 100, bytesTransferred: 100, filesTotal: 1, filesTransferred: 1 };
    expect(secondsLeft(done, undefined)).toBe(0);
    expect(secondsLeft(done, 0)).toBe(0);
  });

  test('SlidingRate keeps one baseline sample at the window start', () => {
    const rate = new SlidingRate(1000);
    expect(rate.sample(0, 0)).toBeUndefined();
    expect(rate.sample(1000, 1000)).toBe(1000);
    // The sample at 0 is at the window's start for 1000: it stays the baseline.
    expect(rate.sample(1000, 1000)).toBe(1000);
    expect(rate.sample(2000, 3000)).toBe(2000);
  });

  test('a window must be positive, and the error says what it got', () => {
    expect(() => checkWindow(0)).toThrow(/window.*got 0/);
    expect(checkWindow(1)).toBe(1);
  });
});

describe('retryOnJobError: the nudge of a stay in TRANSIENT_ERROR', () => {
  const nudged = (marbles: string): number[] => {
    const clock = scheduler();
    const job = recordingJob(clock);
    const values = { t: errorEvent(undefined, true), x: transferredEvent, s: modificationTo('transientError') };
    clock.run(({ cold }) => {
      cold(marbles, values).pipe(retryOnJobError(job, { nudgeTransientAfter: 5, scheduler: clock })).subscribe();
    });
    return job.calls.resume;
  };

  test('a transfer before the nudge is due ends the stay: the job is not resumed', () => {
    expect(nudged('-t-x---------|')).toEqual([]);
  });

  test('a modification that still says TRANSIENT_ERROR is the same stay: the nudge still comes', () => {
    expect(nudged('-t-s---------|')).toEqual([6]);
  });
});

describe('failOnJobError', () => {
  test('by default a transient error fails the stream too', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { t: errorEvent(undefined, true) };
      expectObservable(cold('-t-t', values).pipe(failOnJobError())).toBe('-#', undefined, new BitsJobError(errorEvent(undefined, true)));
    });
  });
});

describe('cancelOnUnsubscribe', () => {
  test('a stream that failed upstream passes the error on and does not cancel the job', () => {
    const clock = scheduler();
    const job = recordingJob(clock);
    const failure = new Error('upstream');
    let caught: unknown;
    const subscription = throwError(() => failure)
      .pipe(cancelOnUnsubscribe(job))
      .subscribe({ error: (error: unknown) => (caught = error) });
    subscription.unsubscribe();
    expect(caught).toBe(failure);
    expect(job.calls.cancel).toEqual([]);
  });
});

describe('SlidingRate and the window option', () => {
  test('a reading below the latest one (not only below an older one) is a restarted transfer: measuring starts again', () => {
    // A window wide enough that no sample slides out: the restart alone decides.
    const rate = new SlidingRate(10_000);
    expect(rate.sample(0, 0)).toBeUndefined();
    expect(rate.sample(1000, 1000)).toBe(1000);
    expect(rate.sample(2000, 3000)).toBe(1500);
    // Below the latest reading (3000), above an older one (1000): the transfer restarted.
    expect(rate.sample(3000, 2000)).toBeUndefined();
    expect(rate.sample(4000, 2500)).toBe(500);
  });

  test('a window that is not a number is refused, even one that compares as positive', () => {
    expect(() => checkWindow('5' as unknown as number)).toThrow(InvalidArgumentError);
    expect(() => transferRate({ window: '5' as unknown as number })).toThrow(/window.*got 5/);
  });
});
