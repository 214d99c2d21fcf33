import { lastValueFrom, Subject, type Observable } from 'rxjs';
import { describe, expect, test } from 'vitest';
import {
  cancelOnUnsubscribe,
  completeWhenTransferred,
  download,
  exponentialBackoff,
  failOnJobError,
  InvalidArgumentError,
  retryOnJobError,
  retryOnMirrors,
  upload,
  type ComRuntime,
  type ErrorEvent,
  type JobEvent,
  type Mirrors,
  type RetryOnJobErrorOptions,
} from '../src/index.js';
import { countConnects, useLoopback } from './support/harness.js';

/** What `fn` throws, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectInvalid(error: unknown, field: string): void {
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).field).toBe(field);
  expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
}

const bad = <T>(value: unknown) => value as T;
const job = { resume: async () => undefined };
const mirroredJob = { resume: async () => undefined, files: async () => [] };

describe('the operators check every option when they are made', () => {
  test.each<[string, string, () => unknown]>([
    ['retryOnJobError: a delay that is neither milliseconds nor a function', 'delay', () => retryOnJobError(job, { delay: bad('soon') })],
    ['retryOnJobError: a delay given as a numeric string', 'delay', () => retryOnJobError(job, { delay: bad('5') })],
    ['retryOnJobError: a delay past what a timer can wait', 'delay', () => retryOnJobError(job, { delay: 2 ** 31 })],
    ['retryOnJobError: an infinite delay', 'delay', () => retryOnJobError(job, { delay: Number.POSITIVE_INFINITY })],
    ['retryOnJobError: a shouldRetry that is not a function', 'shouldRetry', () => retryOnJobError(job, { shouldRetry: bad('always') })],
    ['retryOnJobError: a shouldRetry of null', 'shouldRetry', () => retryOnJobError(job, { shouldRetry: bad(null) })],
    ['retryOnJobError: a count given as a string', 'count', () => retryOnJobError(job, { count: bad('3') })],
    ['retryOnJobError: a count that is a symbol', 'count', () => retryOnJobError(job, { count: bad(Symbol('3')) })],
    ['retryOnJobError: a nudge given as a numeric string', 'nudgeTransientAfter', () => retryOnJobError(job, { nudgeTransientAfter: bad('5') })],
    ['retryOnJobError: a scheduler that is not one', 'scheduler', () => retryOnJobError(job, { scheduler: bad({}) })],
    ['retryOnJobError: options of null', 'options', () => retryOnJobError(job, bad(null))],
    ['retryOnJobError: options that are a list', 'options', () => retryOnJobError(job, bad([]))],
    ['retryOnJobError: no job', 'job', () => retryOnJobError(bad(undefined))],
    ['failOnJobError: ignoreTransient that is not a boolean', 'ignoreTransient', () => failOnJobError({ ignoreTransient: bad('x') })],
    ['failOnJobError: options of null', 'options', () => failOnJobError(bad(null))],
    ['retryOnMirrors: a shouldMove that is not a function', 'shouldMove', () => retryOnMirrors(mirroredJob, {}, { shouldMove: bad('remote') })],
    ['retryOnMirrors: a delay given as a numeric string', 'delay', () => retryOnMirrors(mirroredJob, {}, { delay: bad('5') })],
    ['retryOnMirrors: a job without files()', 'job', () => retryOnMirrors(job as never, bad<Mirrors>({}))],
    ['exponentialBackoff: a random that is not a function', 'random', () => exponentialBackoff({ random: bad(0.5) })],
    ['exponentialBackoff: an initial delay given as a string', 'initial', () => exponentialBackoff({ initial: bad('5') })],
    ['exponentialBackoff: a jitter given as a string', 'jitter', () => exponentialBackoff({ jitter: bad('0.5') })],
    ['exponentialBackoff: options of null', 'options', () => exponentialBackoff(bad(null))],
    ['retryOnMirrors: options of null', 'options', () => retryOnMirrors(mirroredJob, {}, bad(null))],
  ])('%s is an InvalidArgumentError naming it', (_name, field, make) => {
    expectInvalid(thrown(make), field);
  });

  test('retryOnJobError: a delay function that answers something other than milliseconds fails the stream, naming delay', async () => {
    const events = new Subject<JobEvent>();
    const failure: ErrorEvent = {
      type: 'error',
      jobId: '00000000-0000-0000-0000-000000000001',
      source: 'callback',
      transient: false,
      error: { context: 'remoteFile', hresult: 0x80190194, code: 'BG_E_HTTP_ERROR_404', description: '', contextDescription: '', protocol: 'http', file: undefined },
    } as unknown as ErrorEvent;
    // Were the answer taken as a wait, the retry would resume the job, and this ends the events without an error.
    const resumed = { resume: async () => events.complete() };
    const outcome = lastValueFrom(events.pipe(retryOnJobError(resumed, { shouldRetry: () => true, delay: () => bad('soon') }))).then(
      () => undefined,
      (e: unknown) => e,
    );
    events.next(failure);
    expectInvalid(await outcome, 'delay');
  });
});

describe('download() and upload() check their retry options on subscribe, before anything connects', () => {
  const h = useLoopback();
  type Start = (options: { runtime: ComRuntime; pollInterval: number; retry: RetryOnJobErrorOptions }) => Observable<unknown>;
  const starts: Array<[string, Start]> = [
    ['download()', (options) => download(h.server.url('/status/404'), h.local('x.bin'), options)],
    ['upload()', (options) => upload(h.local('x.bin'), h.server.url('/upload/x'), options)],
  ];
  const retries: Array<[string, string, RetryOnJobErrorOptions]> = [
    ['a retry delay that is not milliseconds', 'retry.delay', { delay: bad('soon') }],
    ['a retry shouldRetry that is not a function', 'retry.shouldRetry', { shouldRetry: bad('always') }],
    ['retry options of null', 'retry', bad(null)],
  ];

  test.each(starts.flatMap(([api, start]) => retries.map(([what, field, retry]) => [`${api}: ${what}`, field, start, retry] as const)))(
    '%s errors the stream naming %s, and no call was made',
    async (_name, field, start, retry) => {
      const { runtime, connects } = countConnects(h.service.runtime);
      const callsBefore = h.service.totalCalls();
      let stream: Observable<unknown> | undefined;
      expect(() => (stream = start({ runtime, pollInterval: 5, retry }))).not.toThrow();
      const error = await lastValueFrom(stream!).then(
        () => undefined,
        (e: unknown) => e,
      );
      expectInvalid(error, field);
      expect(connects.count).toBe(0);
      expect(h.service.totalCalls()).toBe(callsBefore);
      expect(h.service.queue).toHaveLength(0);
    },
  );
});

describe('the operators that act on a job check it when they are made, as retryOnJobError does', () => {
  test.each<[string, () => unknown]>([
    ['completeWhenTransferred(null)', () => completeWhenTransferred(bad(null))],
    ['completeWhenTransferred({})', () => completeWhenTransferred(bad({}))],
    ['completeWhenTransferred of a job without complete()', () => completeWhenTransferred(bad({ id: 'x', getFiles: async () => [], getState: async () => 'transferred' }))],
    ['cancelOnUnsubscribe(null)', () => cancelOnUnsubscribe(bad(null))],
    ['cancelOnUnsubscribe({})', () => cancelOnUnsubscribe(bad({}))],
    ['cancelOnUnsubscribe of a job id', () => cancelOnUnsubscribe(bad('00000000-0000-0000-0000-000000000001'))],
  ])('%s is an InvalidArgumentError naming job', (_name, make) => {
    expectInvalid(thrown(make), 'job');
  });

  test('a job with the methods they call is taken', () => {
    const stub = async (): Promise<never> => Promise.reject(new Error('not called'));
    expect(thrown(() => completeWhenTransferred({ id: bad('x'), getFiles: stub, complete: stub, getState: stub }))).toBeUndefined();
    expect(thrown(() => cancelOnUnsubscribe({ cancel: stub }))).toBeUndefined();
  });
});

describe("retryOnMirrors checks each mirror as setRemoteName would, when the operator is made", () => {
  const h = useLoopback();

  test.each<[string, string]>([
    ['an ftp URL', 'ftp://127.0.0.1/m.bin'],
    ['a relative name', 'mirror/m.bin'],
    ['credentials in the URL', 'https://user:secret@b.example/m.bin'],
    ['a mailto URL', 'mailto:ops@b.example'],
  ])('%s is an InvalidArgumentError naming the mirror, and nothing reaches the service', async (_name, url) => {
    const localPath = h.local('m.bin');
    const job = await h.bits.createJob({ displayName: 'mirrors', files: [{ url: h.server.url('/status/404'), localPath }] });
    try {
      const callsBefore = h.service.totalCalls();
      const error = thrown(() => retryOnMirrors(job, { [localPath]: ['http://b.example/m.bin', url] }));
      expectInvalid(error, `mirrors['${localPath}'][1]`);
      expect((error as Error).message).not.toContain('secret');
      expect(h.service.totalCalls()).toBe(callsBefore);
    } finally {
      await job.cancel();
      await job.release();
    }
  });

  test("a path-shaped mirror is read in the style of the job's runtime", () => {
    const onWindows = { ...mirroredJob, runtime: { pathStyle: 'win32' } };
    const onLinux = { ...mirroredJob, runtime: { pathStyle: 'posix' } };
    expect(thrown(() => retryOnMirrors(onWindows, { 'C:\\a.msi': ['\\\\server\\share\\a.msi'] }))).toBeUndefined();
    expectInvalid(thrown(() => retryOnMirrors(onWindows, { 'C:\\a.msi': ['/srv/a.msi'] })), "mirrors['C:\\a.msi'][0]");
    expect(thrown(() => retryOnMirrors(onLinux, { '/tmp/a.msi': ['/srv/a.msi'] }))).toBeUndefined();
    expectInvalid(thrown(() => retryOnMirrors(onLinux, { '/tmp/a.msi': ['C:\\a.msi'] })), "mirrors['/tmp/a.msi'][0]");
  });
});
