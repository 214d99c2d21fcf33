import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { lastValueFrom, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BitsJobError,
  completeWhenTransferred,
  InterfaceNotSupportedError,
  InvalidArgumentError,
  jobEvents$,
  retryOnMirrors,
  type ErrorContext,
  type ErrorEvent,
  type JobEvent,
  type JobFileInfo,
  type Mirrors,
} from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { content } from './support/http-server.js';
import { until, useLoopback } from './support/harness.js';
import { HTTP_404, jobFailure, TEST_JOB_ID } from './support/job-events.js';

const jobId = TEST_JOB_ID;
const HTTP_503 = 0x801901f7;
const transferred: JobEvent = { type: 'transferred', jobId, source: 'callback' };
const fileInfo = (url: string, localPath: string): JobFileInfo => ({ url, localPath, bytesTotal: undefined, bytesTransferred: 0, completed: false });
const failure = (file: JobFileInfo | undefined, options: { hresult?: number; context?: ErrorContext; transient?: boolean } = {}): ErrorEvent =>
  jobFailure({ ...options, file });

/** A job whose files move as SetRemoteName says, recording the virtual time of each files() call, every move and every resume. */
function fakeJob(clock: TestScheduler | undefined, initial: readonly JobFileInfo[]) {
  const current = initial.map((file) => ({ ...file }));
  const record = { files: [] as number[], moves: [] as Array<[string, string]>, resumes: 0, released: 0, taken: 0 };
  let refuseMove: Error | undefined;
  let held: Promise<void> = Promise.resolve();
  return {
    record,
    current,
    refuseMovesWith: (error: Error) => (refuseMove = error),
    /** Holds every SetRemoteName until the returned function is called. */
    holdMoves: (): (() => void) => {
      let open!: () => void;
      held = new Promise<void>((resolve) => (open = resolve));
      return open;
    },
    files: () => {
      record.files.push(clock?.now() ?? 0);
      return Promise.resolve(
        current.map((file) => {
          record.taken++;
          return {
            getInfo: () => Promise.resolve({ ...file }),
            setRemoteName: async (url: string) => {
              await held;
              if (refuseMove !== undefined) throw refuseMove;
              record.moves.push([file.localPath, url]);
              file.url = url;
            },
            release: () => {
              record.released++;
              return Promise.resolve();
            },
          };
        }),
      );
    },
    resume: () => {
      record.resumes++;
      return Promise.resolve();
    },
  };
}

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
/** Lets the moves' promises run out after a virtual-time run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const A = fileInfo('http://a.example/app.msi', '/tmp/app.msi');
const B = fileInfo('http://a.example/data.bin', '/tmp/data.bin');
const MIRRORS: Mirrors = { '/tmp/app.msi': ['http://b.example/app.msi', 'http://c.example/app.msi'], '/tmp/data.bin': ['http://b.example/data.bin'] };

describe('retryOnMirrors (virtual time)', () => {
  test("a remote file's failure moves that file to its next mirror after the delay, and resumes; the event passes on", async () => {
    const clock = scheduler();
    const job = fakeJob(clock, [A, B]);
    clock.run(({ cold, expectObservable }) => {
      const events = { e: failure(A) };
      expectObservable(cold('-e', events).pipe(retryOnMirrors(job, MIRRORS, { delay: 2, scheduler: clock }))).toBe('-e', events);
    });
    await settle();
    expect(job.record.files).toEqual([1 + 2]);
    expect(job.record.moves).toEqual([['/tmp/app.msi', 'http://b.example/app.msi']]);
    expect(job.record.resumes).toBe(1);
    expect(job.record.released).toBe(job.record.taken);
  });

  test('the next failure of the moved file takes the next mirror', async () => {
    const job = fakeJob(undefined, [A]);
    const events = new Subject<JobEvent>();
    const seen: JobEvent[] = [];
    events.pipe(retryOnMirrors(job, MIRRORS)).subscribe((event) => seen.push(event));
    events.next(failure(A));
    await until(() => job.record.resumes === 1);
    events.next(failure({ ...A, url: 'http://b.example/app.msi' }));
    await until(() => job.record.resumes === 2);
    expect(job.record.moves).toEqual([
      ['/tmp/app.msi', 'http://b.example/app.msi'],
      ['/tmp/app.msi', 'http://c.example/app.msi'],
    ]);
    expect(job.record.resumes).toBe(2);
    expect(seen).toHaveLength(2);
  });

  test('each file walks its own list', async () => {
    const clock = scheduler();
    const job = fakeJob(clock, [A, B]);
    clock.run(({ cold, expectObservable }) => {
      const events = { a: failure(A), b: failure(B) };
      expectObservable(cold('-a-b-|', events).pipe(retryOnMirrors(job, MIRRORS, { scheduler: clock }))).toBe('-a-b-|', events);
    });
    await settle();
    expect(job.record.moves).toEqual([
      ['/tmp/app.msi', 'http://b.example/app.msi'],
      ['/tmp/data.bin', 'http://b.example/data.bin'],
    ]);
  });

  test('once the list is exhausted it errors with a BitsJobError listing every attempt, as retryOnJobError does', async () => {
    const job = fakeJob(undefined, [B]);
    const events = new Subject<JobEvent>();
    const outcome = lastValueFrom(events.pipe(retryOnMirrors(job, MIRRORS, { delay: 3 }))).catch((error: unknown) => error);
    events.next(failure(B));
    await until(() => job.record.resumes === 1);
    events.next(failure({ ...B, url: 'http://b.example/data.bin' }));
    const caught = await outcome;
    expect(caught).toBeInstanceOf(BitsJobError);
    expect(caught).toMatchObject({ code: 'BG_E_HTTP_ERROR_404', context: 'remoteFile', file: { url: 'http://b.example/data.bin' } });
    expect((caught as BitsJobError).attempts).toEqual([
      { attempt: 1, code: 'BG_E_HTTP_ERROR_404', hresult: HTTP_404, delay: 3 },
      { attempt: 2, code: 'BG_E_HTTP_ERROR_404', hresult: HTTP_404, delay: undefined },
    ]);
    expect(job.record.moves).toHaveLength(1);
  });

  test('a subscriber that leaves while a file is being moved leaves the job moved but not resumed', async () => {
    const job = fakeJob(undefined, [A]);
    const events = new Subject<JobEvent>();
    const open = job.holdMoves();
    const subscription = events.pipe(retryOnMirrors(job, MIRRORS)).subscribe();
    events.next(failure(A));
    await until(() => job.record.files.length === 1);
    subscription.unsubscribe();
    open();
    await until(() => job.record.released === job.record.taken);
    expect(job.record.moves).toHaveLength(1);
    expect(job.record.resumes).toBe(0);
  });

  test.each([
    ['an error of the local file', failure(A, { context: 'localFile', hresult: 0x80070005 })],
    ['an error naming no file', failure(undefined)],
    ['a file without mirrors', failure(fileInfo('http://a.example/other', '/tmp/other'))],
  ])('%s fails at once, and nothing moves', async (_name, event) => {
    const clock = scheduler();
    const job = fakeJob(clock, [A]);
    clock.run(({ cold, expectObservable }) => {
      expectObservable(cold('-e', { e: event }).pipe(retryOnMirrors(job, MIRRORS, { scheduler: clock }))).toBe('-#', undefined, new BitsJobError(event, [{ attempt: 1, code: event.error.code, hresult: event.error.hresult, delay: undefined }]));
    });
    await settle();
    expect(job.record.files).toEqual([]);
    expect(job.record.resumes).toBe(0);
  });

  test('transient errors pass through: the service retries those itself', async () => {
    const clock = scheduler();
    const job = fakeJob(clock, [A]);
    clock.run(({ cold, expectObservable }) => {
      const events = { e: failure(A, { hresult: HTTP_503, transient: true }), t: transferred };
      expectObservable(cold('-e-t|', events).pipe(retryOnMirrors(job, MIRRORS, { scheduler: clock }))).toBe('-e-t|', events);
    });
    await settle();
    expect(job.record.files).toEqual([]);
  });

  test('shouldMove chooses the failures that move; what it throws fails the stream', async () => {
    const clock = scheduler();
    const job = fakeJob(clock, [A]);
    const boom = new Error('boom');
    const event = failure(A, { hresult: HTTP_503 });
    clock.run(({ cold, expectObservable }) => {
      expectObservable(cold('-e', { e: event }).pipe(retryOnMirrors(job, MIRRORS, { shouldMove: (error) => error.code === 'BG_E_HTTP_ERROR_503', scheduler: clock }))).toBe('-e', { e: event });
      expectObservable(cold('-e', { e: event }).pipe(retryOnMirrors(job, MIRRORS, { shouldMove: () => { throw boom; }, scheduler: clock }))).toBe('-#', undefined, boom);
    });
    await settle();
    expect(job.record.moves).toEqual([['/tmp/app.msi', 'http://b.example/app.msi']]);
  });
});

describe('retryOnMirrors (failed moves)', () => {
  test('a move the service refuses fails the stream with its error; nothing is resumed and every file is released', async () => {
    const job = fakeJob(undefined, [A]);
    const refusal = new InterfaceNotSupportedError('bits', 'IBackgroundCopyFile2', '2.0');
    job.refuseMovesWith(refusal);
    const events = new Subject<JobEvent>();
    const outcome = lastValueFrom(events.pipe(retryOnMirrors(job, MIRRORS))).catch((error: unknown) => error);
    events.next(failure(A));
    expect(await outcome).toBe(refusal);
    expect(job.record.resumes).toBe(0);
    expect(job.record.released).toBe(job.record.taken);
  });

  test('a file the job no longer has (moved by someone else meanwhile): the failure stands', async () => {
    const job = fakeJob(undefined, [A]);
    job.current[0]!.url = 'http://elsewhere.example/app.msi';
    const events = new Subject<JobEvent>();
    const outcome = lastValueFrom(events.pipe(retryOnMirrors(job, MIRRORS))).catch((error: unknown) => error);
    events.next(failure(A));
    expect(await outcome).toBeInstanceOf(BitsJobError);
    expect(job.record.resumes).toBe(0);
  });

  test.each([
    ['mirrors that are not an object', 'mirrors', null, {}],
    ['a list that is not an array', "mirrors['/tmp/a']", { '/tmp/a': 'http://b.example/a' }, {}],
    ['an empty URL in a list', "mirrors['/tmp/a'][1]", { '/tmp/a': ['http://b.example/a', ''] }, {}],
    ['a negative delay', 'delay', MIRRORS, { delay: -1 }],
  ])('%s is refused when the operator is made', (_name, field, mirrors, options) => {
    const job = fakeJob(undefined, [A]);
    const make = () => retryOnMirrors(job, mirrors as Mirrors, options);
    expect(make).toThrow(InvalidArgumentError);
    expect(() => make()).toThrow(expect.objectContaining({ field }));
  });
});

describe('retryOnMirrors against the loopback service', () => {
  const h = useLoopback();
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  afterEach(async () => {
    await whenHubsIdle();
    expect(liveHubs()).toBe(0);
  });

  test('the first mirror answers 404, the second serves the file: it is moved, resumed and completed', async () => {
    const localPath = h.local('mirrored.bin');
    const job = await h.bits.createJob({ displayName: 'mirrors', files: [{ url: h.server.url('/status/404'), localPath }] });
    const done = lastValueFrom(
      jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnMirrors(job, { [localPath]: [h.server.url('/files/mirrored?size=40000')] }), completeWhenTransferred(job)),
    );
    await whenHubsIdle();
    await job.resume();
    expect(await done).toMatchObject({ jobId: job.id, code: 'S_OK', files: [{ url: h.server.url('/files/mirrored?size=40000'), localPath, completed: true }] });
    expect(sha256(await readFile(localPath))).toBe(sha256(content(40000)));
    expect(h.service.calls('IBackgroundCopyFile2::SetRemoteName')).toBe(1);
    expect(h.service.calls('IBackgroundCopyJob::Resume')).toBe(2);
    await job.release();
  });

  test('every mirror fails: the stream errors naming the last URL, after one attempt per URL', async () => {
    const localPath = h.local('nowhere.bin');
    const job = await h.bits.createJob({ displayName: 'no mirror works', files: [{ url: h.server.url('/status/404'), localPath }] });
    const outcome = lastValueFrom(jobEvents$(job, ['transferred', 'error'], { pollInterval: 5 }).pipe(retryOnMirrors(job, { [localPath]: [h.server.url('/status/410')] }), completeWhenTransferred(job))).catch(
      (error: unknown) => error,
    );
    await whenHubsIdle();
    await job.resume();
    const error = await outcome;
    expect(error).toBeInstanceOf(BitsJobError);
    expect(error).toMatchObject({ code: 'BG_E_HTTP_ERROR_410', file: { url: h.server.url('/status/410') } });
    expect((error as BitsJobError).attempts.map((attempt) => attempt.code)).toEqual(['BG_E_HTTP_ERROR_404', 'BG_E_HTTP_ERROR_410']);
    await job.cancel();
    await job.release();
  });
});
