import { concat, filter, firstValueFrom, lastValueFrom, NEVER, of, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, test } from 'vitest';
import {
  BitsJobError,
  cancelOnUnsubscribe,
  ComError,
  completeWhenTransferred,
  eta,
  exponentialBackoff,
  failOnJobError,
  hresultName,
  InvalidArgumentError,
  isFinalState,
  isTransientJobError,
  JOB_STATES,
  JobLeftQueueError,
  parseGuid,
  progressRatio,
  retryOnJobError,
  takeUntilFinal,
  transferRate,
  type ErrorEvent,
  type JobAttempt,
  type JobEvent,
  type JobProgress,
  type JobState,
  type ModificationEvent,
} from '../src/index.js';
import { captureUnhandled } from './support/harness.js';

const jobId = parseGuid('11111111-2222-3333-4444-555555555555');
const transferred: JobEvent = { type: 'transferred', jobId, source: 'callback' };
const failure = (hresult: number, transient = false): ErrorEvent => ({
  type: 'error',
  jobId,
  source: 'backstop',
  transient,
  error: { context: 'remoteFile', hresult, code: hresultName(hresult), description: 'it failed', contextDescription: undefined, protocol: undefined, file: undefined },
});
/** A progress reading; pass `null` for an unknown total (undefined would select the default). */
const progress = (bytesTransferred: number, total: number | null = 10_000, filesTotal = 1, filesTransferred = 0): JobProgress => ({
  bytesTotal: total ?? undefined,
  bytesTransferred,
  filesTotal,
  filesTransferred,
});
const modification = (state: JobState, bytes = 0): ModificationEvent => ({ type: 'modification', jobId, source: 'callback', state, progress: progress(bytes) });

const HTTP_503 = 0x801901f7;
const HTTP_404 = 0x80190194;

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A job whose resume() and cancel() record the virtual time they were called at. */
function fakeJob(clock: TestScheduler) {
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

describe('retryOnJobError', () => {
  test('resumes after each retryable error, after the delay for that attempt, passing the events on', () => {
    const clock = scheduler();
    const job = fakeJob(clock);
    clock.run(({ cold, expectObservable }) => {
      const source = cold('-e---e------t|', { e: failure(HTTP_503), t: transferred });
      const retried = source.pipe(retryOnJobError(job, { delay: (attempt) => attempt * 2, scheduler: clock }));
      expectObservable(retried).toBe('-e---e------t|', { e: failure(HTTP_503), t: transferred });
    });
    expect(job.calls.resume).toEqual([1 + 2, 5 + 4]);
  });

  test('a fixed delay', () => {
    const clock = scheduler();
    const job = fakeJob(clock);
    clock.run(({ cold, expectObservable }) => {
      expectObservable(cold('-e--|', { e: failure(HTTP_503) }).pipe(retryOnJobError(job, { delay: 7, scheduler: clock }))).toBe('-e--|', {
        e: failure(HTTP_503),
      });
    });
    // The source completed at frame 4: its pending resume went with the subscription.
    expect(job.calls.resume).toEqual([]);
  });

  test('an error not worth retrying (404) fails at once with a BitsJobError naming it', () => {
    const clock = scheduler();
    const job = fakeJob(clock);
    let caught: unknown;
    clock.run(({ cold }) => {
      cold('-e', { e: failure(HTTP_404) })
        .pipe(retryOnJobError(job, { scheduler: clock }))
        .subscribe({ error: (e: unknown) => (caught = e) });
    });
    expect(caught).toBeInstanceOf(BitsJobError);
    expect(caught).toMatchObject({ code: 'BG_E_HTTP_ERROR_404', hresult: HTTP_404, context: 'remoteFile', transient: false, jobId });
    expect((caught as BitsJobError).attempts).toEqual([{ attempt: 1, code: 'BG_E_HTTP_ERROR_404', hresult: HTTP_404, delay: undefined }]);
    expect(job.calls.resume).toEqual([]);
  });

  test('after `count` retries it gives up, listing every attempt', () => {
    const clock = scheduler();
    const job = fakeJob(clock);
    let caught: BitsJobError | undefined;
    clock.run(({ cold }) => {
      cold('-e-----e-----e', { e: failure(HTTP_503) })
        .pipe(retryOnJobError(job, { count: 2, delay: 3, scheduler: clock }))
        .subscribe({ error: (e: BitsJobError) => (caught = e) });
    });
    expect(caught?.attempts.map((a) => a.delay)).toEqual([3, 3, undefined]);
    expect(caught?.message).toMatch(/after 3 attempts with BG_E_HTTP_ERROR_503 \(0x801901F7\)/);
    expect(job.calls.resume).toEqual([4, 10]);
  });

  test('the default back-off grows exponentially, is capped, and jitters', () => {
    const noJitter = exponentialBackoff({ initial: 100, max: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(noJitter)).toEqual([100, 200, 400, 800, 1000, 1000]);
    const fullJitterLow = exponentialBackoff({ initial: 100, max: 1000, jitter: 1, random: () => 0.999 });
    expect(fullJitterLow(3)).toBe(0);
    const halfJitter = exponentialBackoff({ initial: 100, jitter: 0.5, random: () => 0.5 });
    expect(halfJitter(1)).toBe(75);
    expect(() => exponentialBackoff({ jitter: 2 })).toThrow(InvalidArgumentError);
  });

  test('a job sitting in TRANSIENT_ERROR is nudged after the configured delay, unless it moves on first', () => {
    const clock = scheduler();
    const job = fakeJob(clock);
    clock.run(({ cold, expectObservable }) => {
      const values = { t: failure(HTTP_503, true), m: modification('transferring') };
      expectObservable(cold('-t----------|', values).pipe(retryOnJobError(job, { nudgeTransientAfter: 5, scheduler: clock }))).toBe('-t----------|', values);
    });
    expect(job.calls.resume).toEqual([6]);
    const second = fakeJob(clock);
    clock.run(({ cold }) => {
      const values = { t: failure(HTTP_503, true), m: modification('transferring') };
      cold('-t-m--------|', values).pipe(retryOnJobError(second, { nudgeTransientAfter: 5, scheduler: clock })).subscribe();
    });
    expect(second.calls.resume).toEqual([]);
  });

  test('each stay in TRANSIENT_ERROR gets its nudge: a stay ends on our own resume, a move on, or a non-transient error', () => {
    const values = { t: failure(HTTP_503, true), e: failure(HTTP_503), m: modification('transferring') };
    const nudged = (marbles: string, options: { delay?: number } = {}): number[] => {
      const clock = scheduler();
      const job = fakeJob(clock);
      clock.run(({ cold }) => {
        cold(marbles, values)
          .pipe(retryOnJobError(job, { nudgeTransientAfter: 5, scheduler: clock, ...options }))
          .subscribe();
      });
      return job.calls.resume;
    };
    // Two stays, the first ended by its nudge: the second gets a nudge of its own.
    expect(nudged('-t------t------|')).toEqual([6, 13]);
    // Two stays, the first ended by a move on (its nudge never fires).
    expect(nudged('-t-m-t---------|')).toEqual([10]);
    // One stay reported twice (callback and backstop): one nudge.
    expect(nudged('-tt------------|')).toEqual([6]);
    // ERROR ends the stay: the retry resumes the job, the nudge does not as well.
    expect(nudged('-t-e-----------|', { delay: 10 })).toEqual([13]);
  });

  describe('user callbacks that throw', () => {
    const unhandled = captureUnhandled();

    test('a throwing shouldRetry errors the stream with what it threw, and nothing goes unhandled', () => {
      const clock = scheduler();
      const job = fakeJob(clock);
      const boom = new Error('shouldRetry failed');
      clock.run(({ cold, expectObservable }) => {
        const retried = cold('-e---e|', { e: failure(HTTP_503) }).pipe(
          retryOnJobError(job, {
            shouldRetry: () => {
              throw boom;
            },
            scheduler: clock,
          }),
        );
        expectObservable(retried).toBe('-#', undefined, boom);
      });
      expect(job.calls.resume).toEqual([]);
      expect(unhandled).toEqual([]);
    });

    test('a throwing delay function errors the stream with what it threw, and nothing goes unhandled', () => {
      const clock = scheduler();
      const job = fakeJob(clock);
      const boom = new Error('delay failed');
      clock.run(({ cold, expectObservable }) => {
        const retried = cold('-e---e|', { e: failure(HTTP_503) }).pipe(
          retryOnJobError(job, {
            delay: (attempt) => {
              if (attempt === 2) throw boom;
              return 1;
            },
            scheduler: clock,
          }),
        );
        expectObservable(retried).toBe('-e---#', { e: failure(HTTP_503) }, boom);
      });
      expect(job.calls.resume).toEqual([2]);
      expect(unhandled).toEqual([]);
    });

    test('a resume that throws (in the timer) or rejects errors the stream with its error', async () => {
      const clock = scheduler();
      const thrown = new Error('resume threw');
      const throwing = {
        resume: (): Promise<void> => {
          throw thrown;
        },
      };
      clock.run(({ cold, expectObservable }) => {
        expectObservable(cold('-e---|', { e: failure(HTTP_503) }).pipe(retryOnJobError(throwing, { delay: 2, scheduler: clock }))).toBe(
          '-e-#',
          { e: failure(HTTP_503) },
          thrown,
        );
      });
      // A rejection arrives after the virtual clock has run: wait for it on the event loop.
      const rejected = new Error('resume rejected');
      const rejecting = { resume: () => Promise.reject(rejected) };
      const events = concat(of(failure(HTTP_503)), NEVER);
      const outcome = lastValueFrom(events.pipe(retryOnJobError(rejecting, { delay: 0 }))).catch((e: unknown) => e);
      await expect(outcome).resolves.toBe(rejected);
      expect(unhandled).toEqual([]);
    });
  });

  test('the attempts an error carries are a snapshot: what shouldRetry, delay and the subscriber got never changes', () => {
    const clock = scheduler();
    const job = fakeJob(clock);
    const seen: Array<{ by: string; error: BitsJobError; attempts: JobAttempt[] }> = [];
    const record = (by: string, error: BitsJobError): void => {
      seen.push({ by, error, attempts: error.attempts.map((a) => ({ ...a })) });
    };
    clock.run(({ cold }) => {
      cold('-e---e---e---e', { e: failure(HTTP_503) })
        .pipe(
          retryOnJobError(job, {
            count: 2,
            shouldRetry: (error) => {
              record('shouldRetry', error);
              return true;
            },
            delay: (_attempt, error) => {
              record('delay', error);
              return 1;
            },
            scheduler: clock,
          }),
        )
        .subscribe({ error: (error: BitsJobError) => record('subscriber', error) });
    });
    for (const { by, error, attempts } of seen) expect(error.attempts, `the error handed to ${by}`).toEqual(attempts);
    // Each lists the attempts so far, the failure at hand last.
    expect(seen.map((s) => `${s.by}:${s.attempts.length}`)).toEqual(['shouldRetry:1', 'delay:1', 'shouldRetry:2', 'delay:2', 'subscriber:3']);
    // The list cannot be changed through the error either.
    const last = seen.at(-1)!.error;
    expect(() => (last.attempts as JobAttempt[]).push(last.attempts[0]!)).toThrow(TypeError);
    expect(last.attempts).toHaveLength(3);
  });

  test('bad options are typed errors', () => {
    const job = { resume: () => Promise.resolve() };
    expect(() => retryOnJobError(job, { count: -1 })).toThrow(/^count: /);
    expect(() => retryOnJobError(job, { delay: -5 })).toThrow(/^delay: /);
    expect(() => retryOnJobError(job, { nudgeTransientAfter: Number.NaN })).toThrow(/^nudgeTransientAfter: /);
  });
});

describe('isTransientJobError', () => {
  test.each([
    ['BG_E_NETWORK_DISCONNECTED', 0x80200010, true],
    ['HTTP 408', 0x80190198, true],
    ['HTTP 429', 0x801901ad, true],
    ['HTTP 500', 0x801901f4, true],
    ['HTTP 503', HTTP_503, true],
    ['timeout', 0x80072ee2, true],
    ['cannot connect', 0x80072efd, true],
    ['DO_E_BLOCKED_BY_NO_NETWORK', 0x80d03805, true],
    ['DO_E_DOWNLOAD_NO_PROGRESS', 0x80d02002, true],
    ['HTTP 404', HTTP_404, false],
    ['HTTP 403', 0x80190193, false],
    ['access denied', 0x80070005, false],
    ['disk full', 0x80070070, false],
    ['invalid argument', 0x80070057, false],
    ['unknown', 0x8badf00d, false],
  ])('%s -> %s', (_name, hresult, transient) => {
    expect(isTransientJobError({ hresult })).toBe(transient);
  });
});

describe('failOnJobError', () => {
  test('error events become a BitsJobError; other events pass', () => {
    const clock = scheduler();
    clock.run(({ cold, expectObservable }) => {
      const values = { m: modification('transferring'), e: failure(HTTP_404) };
      expectObservable(cold('-m-e-m', values).pipe(failOnJobError())).toBe('-m-#', values, new BitsJobError(failure(HTTP_404)));
    });
  });

  test('ignoreTransient lets the service retry transient errors by itself', () => {
    const clock = scheduler();
    clock.run(({ cold, expectObservable }) => {
      const values = { t: failure(HTTP_503, true), e: failure(HTTP_404) };
      expectObservable(cold('-t-e', values).pipe(failOnJobError({ ignoreTransient: true }))).toBe('-t-#', values, new BitsJobError(failure(HTTP_404)));
    });
  });
});

describe('cancelOnUnsubscribe', () => {
  test('cancels when the subscriber leaves early, not when the stream ended', () => {
    const clock = scheduler();
    const early = fakeJob(clock);
    const ended = fakeJob(clock);
    clock.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-b-c|').pipe(cancelOnUnsubscribe(early)), '^--!').toBe('-a-');
      expectObservable(cold('-a|').pipe(cancelOnUnsubscribe(ended))).toBe('-a|');
    });
    expect(early.calls.cancel).toEqual([3]);
    expect(ended.calls.cancel).toEqual([]);
  });

  test('once the job was seen TRANSFERRED, leaving does not cancel it: its success belongs to whoever completes it', () => {
    const clock = scheduler();
    const events = fakeJob(clock);
    const polled = fakeJob(clock);
    const states = fakeJob(clock);
    const taken = fakeJob(clock);
    clock.run(({ cold, expectObservable }) => {
      const values = { m: modification('transferring'), x: transferred, p: modification('transferred') };
      expectObservable(cold('-m-x-m|', values).pipe(cancelOnUnsubscribe(events)), '^----!').toBe('-m-x-', values);
      expectObservable(cold('-m-p-m|', values).pipe(cancelOnUnsubscribe(polled)), '^----!').toBe('-m-p-', values);
      const state = { q: 'queued', t: 'transferred' } as const;
      expectObservable(cold('-q-t-q|', state).pipe(cancelOnUnsubscribe(states)), '^----!').toBe('-q-t-', state);
      // As completeWhenTransferred does it: take(1) leaves upstream on the `transferred` event itself.
      expectObservable(
        cold('-m-x-m|', values).pipe(
          cancelOnUnsubscribe(taken),
          filter((event) => event.type === 'transferred'),
          take(1),
        ),
      ).toBe('---(x|)', values);
    });
    expect([events, polled, states, taken].map((job) => job.calls.cancel)).toEqual([[], [], [], []]);
  });
});

describe('takeUntilFinal', () => {
  test('completes with the value that says the job left the queue (states and events)', () => {
    const clock = scheduler();
    clock.run(({ cold, expectObservable }) => {
      const states = { q: 'queued', t: 'transferred', a: 'acknowledged', s: 'suspended' } as const;
      expectObservable(cold('-q-t-a-s', states).pipe(takeUntilFinal())).toBe('-q-t-(a|)', states);
      const events = { m: modification('transferring'), x: transferred, c: modification('cancelled') };
      expectObservable(cold('-m-x-c-m', events).pipe(takeUntilFinal())).toBe('-m-x-(c|)', events);
    });
  });

  test('isFinalState: exactly ACKNOWLEDGED and CANCELLED', () => {
    expect(JOB_STATES.filter((state) => isFinalState(state))).toEqual(['acknowledged', 'cancelled']);
  });
});

describe('progress operators', () => {
  test('progressRatio: bytes where known, files where all are empty, undefined (never NaN) while unknown', async () => {
    const ratios = await lastValueFrom(
      of(progress(0, null), progress(2500), progress(10_000), progress(0, 0, 2, 1), progress(0, 0, 0, 0), modification('transferring', 5000)).pipe(
        progressRatio(),
        toArray(),
      ),
    );
    expect(ratios).toEqual([undefined, 0.25, 1, 0.5, undefined, 0.5]);
  });

  test('transferRate: bytes per second over a sliding window', () => {
    const clock = scheduler();
    clock.run(({ cold, expectObservable }) => {
      const values = { a: progress(0), b: progress(1000), c: progress(3000), d: progress(3000), r: progress(500) };
      // 1 frame = 1 ms here: 1000 bytes in 1000 ms is 1000 B/s.
      const source = cold('a 999ms b 999ms c 1999ms d 9ms r', values);
      expectObservable(source.pipe(transferRate({ window: 2000, scheduler: clock }))).toBe('a 999ms b 999ms c 1999ms d 9ms r', {
        a: undefined,
        b: 1000,
        c: 1500,
        d: 0, // nothing moved in the last 2 s: the window slid past the old samples
        r: undefined, // a restarted transfer starts measuring again
      });
    });
  });

  test('eta: seconds left at the current rate; undefined when unknown or stalled; 0 when done', () => {
    const clock = scheduler();
    clock.run(({ cold, expectObservable }) => {
      const values = { a: progress(0), b: progress(1000), c: progress(10_000), u: progress(0, null), v: progress(500, null) };
      expectObservable(cold('a 999ms b 999ms c', values).pipe(eta({ scheduler: clock }))).toBe('a 999ms b 999ms c', { a: undefined, b: 9, c: 0 });
      expectObservable(cold('u 999ms v', values).pipe(eta({ scheduler: clock }))).toBe('u 999ms v', { u: undefined, v: undefined });
    });
    expect(() => eta({ window: 0 })).toThrow(/^window: /);
  });
});

describe('completeWhenTransferred', () => {
  test('completes the job on transferred, reports the files kept and BG_S_* results, then completes', async () => {
    const calls: string[] = [];
    const job = {
      id: jobId,
      getFiles: async () => {
        calls.push('getFiles');
        return [
          { url: 'http://h/a', localPath: '/t/a', bytesTotal: 1, bytesTransferred: 1, completed: true },
          { url: 'http://h/b', localPath: '/t/b', bytesTotal: 9, bytesTransferred: 3, completed: false },
        ];
      },
      complete: async () => {
        calls.push('complete');
        return { hresult: 0x00200017, code: 'BG_S_PARTIAL_COMPLETE', partial: true, unableToDeleteFiles: false };
      },
      getState: async () => 'transferred' as const,
    };
    const results = await lastValueFrom(of(modification('transferring'), transferred, transferred).pipe(completeWhenTransferred(job), toArray()));
    expect(calls).toEqual(['getFiles', 'complete']);
    expect(results).toEqual([
      {
        jobId,
        hresult: 0x00200017,
        code: 'BG_S_PARTIAL_COMPLETE',
        partial: true,
        unableToDeleteFiles: false,
        files: [{ url: 'http://h/a', localPath: '/t/a', bytesTotal: 1, bytesTransferred: 1, completed: true }],
      },
    ]);
  });

  test('events that end without a transfer because the job left the queue are a JobLeftQueueError naming the state', async () => {
    const job = (state: () => Promise<JobState>) => ({
      id: jobId,
      getFiles: async () => [],
      complete: async () => ({ hresult: 0, code: 'S_OK', partial: false, unableToDeleteFiles: false }),
      getState: state,
    });
    const ended = (getState: () => Promise<JobState>) => firstValueFrom(of(modification('queued')).pipe(completeWhenTransferred(job(getState))));
    await expect(ended(async () => 'cancelled')).rejects.toThrow(new JobLeftQueueError(jobId, 'cancelled'));
    await expect(ended(async () => 'cancelled')).rejects.toThrow(/was cancelled before it transferred/);
    await expect(ended(async () => 'acknowledged')).rejects.toMatchObject({ name: 'JobLeftQueueError', jobId, state: 'acknowledged' });
    // A service that no longer answers for the job: the error still comes, without the state.
    const gone = new ComError(0x80200002, 'IBackgroundCopyJob', 'GetState');
    await expect(ended(() => Promise.reject(gone))).rejects.toMatchObject({ name: 'JobLeftQueueError', state: undefined });
    // Events cut short while the job is still queued (take, takeUntil...): nothing to report.
    await expect(firstValueFrom(of(modification('queued')).pipe(completeWhenTransferred(job(async () => 'queued'))), { defaultValue: 'none' })).resolves.toBe('none');
  });
});
