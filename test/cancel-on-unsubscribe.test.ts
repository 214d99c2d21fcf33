import { retry, Subject, timer } from 'rxjs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  BitsJobError,
  cancelOnUnsubscribe,
  ComError,
  eta,
  failOnJobError,
  InvalidArgumentError,
  ReleasedError,
  transferRate,
  type JobActionResult,
  type JobEvent,
} from '../src/index.js';
import { jobFailure } from './support/job-events.js';

/**
 * cancelOnUnsubscribe cancels only when the subscriber leaves: not when an operator after it ends the
 * stream on a job error (failOnJobError, for retry and catchError), and it does not fail silently when
 * it cannot cancel.
 */

const BG_E_INVALID_STATE = 0x80200002;
const DONE: JobActionResult = { hresult: 0, code: 'S_OK' };
const failure = jobFailure();

/** A job whose cancel() is counted and answers `answer`. */
function countingJob(answer: () => Promise<JobActionResult> = () => Promise.resolve(DONE)) {
  const calls = { cancel: 0 };
  return { calls, cancel: () => (calls.cancel++, answer()) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a stream ended on a job error by an operator after it is not the subscriber leaving', () => {
  test('failOnJobError after it: the subscriber gets the BitsJobError and the job is not cancelled', () => {
    const job = countingJob();
    const events = new Subject<JobEvent>();
    let caught: unknown;
    events.pipe(cancelOnUnsubscribe(job), failOnJobError()).subscribe({ error: (error: unknown) => (caught = error) });
    events.next(failure);
    expect(caught).toBeInstanceOf(BitsJobError);
    expect(job.calls.cancel).toBe(0);
  });

  test("with RxJS's retry after failOnJobError, the job stays for the next attempt, and leaving later still cancels", async () => {
    const job = countingJob();
    const events = new Subject<JobEvent>();
    const subscription = events.pipe(cancelOnUnsubscribe(job), failOnJobError(), retry({ count: 1, delay: () => timer(0) })).subscribe();
    events.next(failure);
    expect(job.calls.cancel).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Subscribed again by retry; now the subscriber leaves before the end.
    subscription.unsubscribe();
    expect(job.calls.cancel).toBe(1);
  });

  test('an error event that nobody ends the stream on is passed along, and leaving afterwards cancels', () => {
    const job = countingJob();
    const events = new Subject<JobEvent>();
    const seen: JobEvent[] = [];
    const subscription = events.pipe(cancelOnUnsubscribe(job)).subscribe((event) => seen.push(event));
    events.next(failure);
    expect(seen).toEqual([failure]);
    subscription.unsubscribe();
    expect(job.calls.cancel).toBe(1);
  });
});

describe('a Cancel that fails is said, unless the job was already gone', () => {
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  test('a released handle: a process warning names the failure', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const job = countingJob(() => Promise.reject(new ReleasedError('IBackgroundCopyJob', 'Cancel')));
    new Subject<JobEvent>().pipe(cancelOnUnsubscribe(job)).subscribe().unsubscribe();
    await settle();
    expect(job.calls.cancel).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/cancelOnUnsubscribe could not cancel the job/);
  });

  test('a job already completed or cancelled (BG_E_INVALID_STATE): nothing to say', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const job = countingJob(() => Promise.reject(new ComError(BG_E_INVALID_STATE, 'IBackgroundCopyJob', 'Cancel')));
    new Subject<JobEvent>().pipe(cancelOnUnsubscribe(job)).subscribe().unsubscribe();
    await settle();
    expect(job.calls.cancel).toBe(1);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('transferRate and eta check their options when made', () => {
  test.each([
    ['transferRate(null)', 'options', () => transferRate(null as never)],
    ['eta(null)', 'options', () => eta(null as never)],
    ['transferRate with a scheduler that is not one', 'scheduler', () => transferRate({ scheduler: 5 as never })],
    ['eta with a scheduler that is not one', 'scheduler', () => eta({ scheduler: {} as never })],
  ] as const)('%s is an InvalidArgumentError naming %s', (_name, field, make) => {
    expect(make).toThrow(InvalidArgumentError);
    expect(() => make()).toThrow(new RegExp(`^${field}: `));
  });
});
