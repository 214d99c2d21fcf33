import { firstValueFrom, type Observable } from 'rxjs';
import { describe, expect, test } from 'vitest';
import {
  CallbackObject,
  connect,
  error$,
  fileRangesTransferred$,
  fileTransferred$,
  InvalidArgumentError,
  jobEvents$,
  liveCallbackObjects,
  liveHubs,
  modification$,
  NotifyFlags,
  progress$,
  ReleasedError,
  state$,
  transferred$,
  whenHubsIdle,
  type BitsJob,
  type BitsManager,
  type ComRuntime,
  type ConnectOptions,
  type CreateJobOptions,
  type JobFilter,
  type ProxySettings,
} from '../src/index.js';
import { Recorder, useLoopback } from './support/harness.js';
import { useEngine } from './support/engine-harness.js';

/**
 * Arguments of the wrong shape (null, a number, an array, a string where a list goes, a language id
 * out of range) are InvalidArgumentErrors naming the argument, raised before any COM call, never a
 * bare TypeError from reading a field of null, nor a value the service gets to see.
 */

const h = useLoopback();

const as = <T>(value: unknown): T => value as T;
const walk = async (bits: BitsManager, filter: unknown): Promise<void> => {
  for await (const job of bits.jobs(as<JobFilter>(filter))) await job.release();
};

type Case = readonly [description: string, field: string, act: (bits: BitsManager, job: BitsJob, runtime: ComRuntime) => Promise<unknown>];

const CASES: readonly Case[] = [
  // job.getError(languageId) checks its LANGID as bits.describe(hresult, languageId) does.
  ['getError with a negative language id', 'languageId', (_bits, job) => job.getError(-1)],
  ['getError with a language id beyond 0xFFFF', 'languageId', (_bits, job) => job.getError(0x10000)],
  ['getError with a fractional language id', 'languageId', (_bits, job) => job.getError(1.5)],
  ['getError with a language id that is a string', 'languageId', (_bits, job) => job.getError(as<number>('en'))],
  ['getError with a null language id', 'languageId', (_bits, job) => job.getError(as<number>(null))],
  // Options and filters that are not objects, and lists that are not arrays.
  ['connect(null)', 'options', () => connect(as<ConnectOptions>(null))],
  ['connect with a number for options', 'options', () => connect(as<ConnectOptions>(5))],
  ['connect with portable options that are an array', 'portable', (_bits, _job, runtime) => connect({ backend: 'bits', runtime, portable: as<ConnectOptions['portable']>([]) })],
  ['connect with a runtime that is not a ComRuntime', 'runtime', () => connect({ backend: 'bits', runtime: as<ComRuntime>({}) })],
  ['connect with a fallback that is not a boolean', 'fallback', (_bits, _job, runtime) => connect({ backend: 'bits', runtime, fallback: as<boolean>('yes') })],
  ['createJob with an array for options', 'options', (bits) => bits.createJob(as<CreateJobOptions>([]))],
  ['jobs(null)', 'filter', (bits) => walk(bits, null)],
  ['jobs with a string for a filter', 'filter', (bits) => walk(bits, 'abc')],
  ['jobs with ids that are a string', 'ids', (bits) => walk(bits, { ids: 'abc' })],
  ['jobs with allUsers that is not a boolean', 'allUsers', (bits) => walk(bits, { allUsers: 'yes' })],
  ['setProxySettings(null)', 'proxy', (_bits, job) => job.setProxySettings(as<ProxySettings>(null))],
  ['setProxySettings(undefined)', 'proxy', (_bits, job) => job.setProxySettings(as<ProxySettings>(undefined))],
  ['setNotifyInterface(undefined)', 'callback', (_bits, job) => job.setNotifyInterface(as<CallbackObject>(undefined))],
  // The old code passed the missing address on: SetNotifyInterface(NULL) cleared the registration.
  ['setNotifyInterface with an object that is not a callback', 'callback', (_bits, job) => job.setNotifyInterface(as<CallbackObject>({}))],
  [
    'setNotifyInterface with a disposed callback object',
    'callback',
    async (_bits, job) => {
      const disposed = new CallbackObject(() => undefined);
      disposed.dispose();
      return job.setNotifyInterface(disposed);
    },
  ],
];

const caught = (act: () => Promise<unknown>): Promise<unknown> =>
  act().then(
    () => undefined,
    (error: unknown) => error,
  );

const expectNamed = (error: unknown, field: string): void => {
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).field).toBe(field);
  expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
};

describe('arguments of the wrong shape are InvalidArgumentErrors naming them, before any COM call', () => {
  test.each(CASES.map((c) => [c[0], c] as const))('%s', async (_description, [, field, act]) => {
    const job = await h.bits.createJob({ displayName: 'target' });
    const callsBefore = h.service.totalCalls();
    const error = await caught(() => act(h.bits, job, h.service.runtime));
    expectNamed(error, field);
    expect(h.service.totalCalls()).toBe(callsBefore);
    await job.cancel();
    await job.release();
  });

  test('getError on a job in ERROR: a bad language id reaches neither GetError nor the error object', async () => {
    const recorder = new Recorder();
    const job = await h.bits.createJob({ displayName: 'failed', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    await job.setNotifyFlags(NotifyFlags.JobError);
    await job.setNotifyInterface(recorder.callback);
    await job.resume();
    await recorder.waitFor('error');
    const notification = recorder.notifications.find((n) => n.kind === 'error');
    if (notification?.kind !== 'error' || notification.error === undefined) throw new Error('no error object');
    const notified = notification.error;
    const callsBefore = h.service.totalCalls();
    for (const languageId of [-1, 0x10000, 1.5, 'en', null]) {
      expectNamed(await caught(() => job.getError(as<number>(languageId))), 'languageId');
      expectNamed(await caught(() => job.readNotifiedError(notified, as<number>(languageId))), 'languageId');
    }
    expect(h.service.totalCalls()).toBe(callsBefore);
    // A good one still reads the error, in the service's words.
    expect(await job.getError(0x0409)).toMatchObject({ code: 'BG_E_HTTP_ERROR_404', context: 'remoteFile' });
    await job.setNotifyInterface(null);
    await job.cancel();
    await job.release();
    await recorder.dispose();
  });
});

/** Every Observable of a job, each taking the job first and hub options last. */
const OBSERVABLES: ReadonlyArray<readonly [name: string, make: (job: BitsJob) => Observable<unknown>]> = [
  ['jobEvents$', (job) => jobEvents$(job)],
  ['transferred$', (job) => transferred$(job)],
  ['error$', (job) => error$(job)],
  ['modification$', (job) => modification$(job)],
  ['fileTransferred$', (job) => fileTransferred$(job)],
  ['fileRangesTransferred$', (job) => fileRangesTransferred$(job)],
  ['state$', (job) => state$(job)],
  ['progress$', (job) => progress$(job)],
];

const NOT_JOBS: ReadonlyArray<readonly [label: string, value: unknown]> = [
  ['null', null],
  ['undefined', undefined],
  ['{}', {}],
  ['a job id', '00000000-0000-0000-0000-000000000001'],
];

describe('an Observable of something that is not a job throws at once, as for its other bad arguments', () => {
  test.each(OBSERVABLES.flatMap(([name, make]) => NOT_JOBS.map(([label, value]) => [`${name}(${label})`, make, value] as const)))(
    '%s',
    (_description, make, value) => {
      const [callsBefore, hubsBefore] = [h.service.totalCalls(), liveHubs()];
      let error: unknown;
      try {
        make(as<BitsJob>(value));
      } catch (thrown) {
        error = thrown;
      }
      expectNamed(error, 'job');
      expect(h.service.totalCalls()).toBe(callsBefore);
      expect(liveHubs(), 'no hub made for it').toBe(hubsBefore);
    },
  );

  test('the other arguments are still checked first: jobEvents$ names an empty list of kinds', () => {
    expect(() => jobEvents$(as<BitsJob>({}), [])).toThrow(/^kinds: /);
    expect(() => state$(as<BitsJob>(null), as<object>(null))).toThrow(/^options: /);
  });

  test('a released job is no bad argument: its streams error with a ReleasedError on subscribe, before any COM call', async () => {
    const job = await h.bits.createJob({ displayName: 'released' });
    await job.cancel();
    await job.release();
    const callsBefore = h.service.totalCalls();
    for (const [, make] of OBSERVABLES) {
      await expect(firstValueFrom(make(job))).rejects.toBeInstanceOf(ReleasedError);
    }
    await whenHubsIdle();
    expect(h.service.totalCalls()).toBe(callsBefore);
  });
});

describe('the same arguments on the portable engine: the same typed errors', () => {
  const e = useEngine();

  test.each(CASES.map((c) => [c[0], c] as const))('%s', async (_description, [, field, act]) => {
    const job = await e.bits.createJob({ displayName: 'target' });
    expectNamed(await caught(() => act(e.bits, job, h.service.runtime)), field);
    await job.cancel();
    await job.release();
  });
});

describe('a CallbackObject checks its sink and options when made', () => {
  test.each([
    ['a sink that is not a function', 'sink', () => new CallbackObject(as<() => void>(null))],
    ['options that are null', 'options', () => new CallbackObject(() => undefined, as<object>(null))],
    ['an onSinkError that is not a function', 'onSinkError', () => new CallbackObject(() => undefined, { onSinkError: as<() => void>('log') })],
  ] as const)('%s is an InvalidArgumentError naming %s, and no object is made', (_description, field, make) => {
    const live = liveCallbackObjects();
    expect(make).toThrow(InvalidArgumentError);
    try {
      make();
    } catch (error) {
      expectNamed(error, field);
    }
    expect(liveCallbackObjects()).toBe(live);
  });
});

/** Whole numbers beyond 32 bits: `&` sees only their low 32 bits, which are 0, 0x40 and 1 here. */
const WIDE_NOTIFY_FLAGS = [2 ** 32, 2 ** 32 + 0x40, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER] as const;

describe('notify flags beyond 32 bits are an InvalidArgumentError naming notifyFlags, before any COM call', () => {
  const FLAGS = NotifyFlags.JobTransferred | NotifyFlags.JobError;

  test.each(WIDE_NOTIFY_FLAGS)('setNotifyFlags(%d)', async (flags) => {
    const job = await h.bits.createJob({ displayName: 'flags' });
    try {
      await job.setNotifyFlags(FLAGS);
      const callsBefore = h.service.totalCalls();
      expectNamed(await caught(() => job.setNotifyFlags(flags)), 'notifyFlags');
      expect(h.service.totalCalls()).toBe(callsBefore);
      expect(await job.getNotifyFlags()).toBe(FLAGS);
    } finally {
      await job.cancel();
      await job.release();
    }
  });

  describe('on the portable engine', () => {
    const e = useEngine();

    test.each(WIDE_NOTIFY_FLAGS)('setNotifyFlags(%d)', async (flags) => {
      const job = await e.bits.createJob({ displayName: 'flags' });
      try {
        await job.setNotifyFlags(FLAGS);
        expectNamed(await caught(() => job.setNotifyFlags(flags)), 'notifyFlags');
        expect(await job.getNotifyFlags()).toBe(FLAGS);
      } finally {
        await job.cancel();
        await job.release();
      }
    });
  });
});
