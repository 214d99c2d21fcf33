import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { filter, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, NotSupportedByBackendError } from '../src/com/errors.js';
import { connect } from '../src/com/manager.js';
import type { ComRuntime } from '../src/com/runtime.js';
import { PortableEngine } from '../src/engine/engine.js';
import { download, error$, fileTransferred$, NotifyFlags, resumePending, StateDirectoryInUseError, transferred$ } from '../src/index.js';
import { whenHubsIdle } from '../src/observables/hub.js';
import { FAST, useEngine } from './support/engine-harness.js';
import { content } from './support/http-server.js';
import { until } from './support/harness.js';
import { LoopbackService } from './loopback/service.js';
import { countBitsCalls, outcomesOf, type Refusal } from './support/backend-refusals.js';

/** Issue I: the portable engine behind the library's unchanged API. */
describe('the portable engine', () => {
  const h = useEngine();

  test('downloads a file: TRANSFERRED, then Complete puts it at its name and removes the temporary file', async () => {
    const job = await h.bits.createJob({ displayName: 'engine: a', files: [{ url: h.server.url('/files/a?size=200000'), localPath: h.local('a.bin') }] });
    expect(await job.getState()).toBe('suspended');
    const done = firstValueFrom(transferred$(job));
    await job.resume();
    await done;
    expect(await job.getProgress()).toMatchObject({ bytesTransferred: 200000, bytesTotal: 200000, filesTransferred: 1, filesTotal: 1 });
    expect(await job.getTimes()).toMatchObject({ transferCompleted: expect.any(Date) });
    expect(await job.complete()).toMatchObject({ code: 'S_OK', partial: false });
    expect(await readFile(h.local('a.bin'))).toEqual(content(200000));
    expect((await readdir(h.dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await job.release();
  });

  test('a 404 is a final error with its HTTP code, context and file', async () => {
    const job = await h.bits.createJob({ displayName: 'engine: 404', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    const failed = firstValueFrom(error$(job));
    await job.resume();
    const event = await failed;
    expect(event.transient).toBe(false);
    expect(event.error).toMatchObject({ code: 'BG_E_HTTP_ERROR_404', hresult: 0x80190194, context: 'remoteFile', file: { url: h.server.url('/status/404') } });
    expect(await job.getState()).toBe('error');
    expect(await job.getErrorCount()).toBe(1);
    await job.cancel();
    await job.release();
  });

  test('a 503 is transient: TRANSIENT_ERROR, then the engine retries by itself after the minimum retry delay', async () => {
    const url = h.server.url('/flaky/retry?fail=1&status=503&size=5000');
    const job = await h.bits.createJob({ displayName: 'engine: 503', minimumRetryDelay: 5, files: [{ url, localPath: h.local('r.bin') }] });
    const done = firstValueFrom(transferred$(job));
    await job.resume();
    await done;
    // Two attempts, the first counted as an error: the stay in TRANSIENT_ERROR itself is too short to
    // be sure a poll or a modification sees it on a loaded machine.
    expect(h.server.requests('/flaky/retry')).toBe(2);
    expect(await job.getErrorCount()).toBe(1);
    await job.complete();
    expect(await readFile(h.local('r.bin'))).toEqual(content(5000));
    await job.release();
  });

  test('a transient error becomes final once nothing moved for the no-progress timeout', async () => {
    const job = await h.bits.createJob({
      displayName: 'engine: no progress',
      minimumRetryDelay: 5,
      noProgressTimeout: 12,
      files: [{ url: h.server.url('/status/503'), localPath: h.local('n.bin') }],
    });
    const failed = firstValueFrom(error$(job).pipe(filter((event) => !event.transient)));
    await job.resume();
    const event = await failed;
    expect(event.error.code).toBe('BG_E_HTTP_ERROR_503');
    expect(await job.getState()).toBe('error');
    // Attempts at 0, 5 and 10 BITS seconds; the next would be after the 12 s timeout.
    expect(await job.getErrorCount()).toBeGreaterThanOrEqual(2);
    await job.cancel();
    await job.release();
  });

  test('suspended mid-transfer it keeps its bytes; resumed it asks only for the rest (Range, If-Range)', async () => {
    const url = h.server.url('/gate/resume?size=100000&head=40000');
    const job = await h.bits.createJob({ displayName: 'engine: range', files: [{ url, localPath: h.local('g.bin') }] });
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred === 40000);
    await job.suspend();
    expect(await job.getState()).toBe('suspended');
    h.server.open('resume');
    const done = firstValueFrom(transferred$(job));
    await job.resume();
    await done;
    expect(h.server.lastHeaders('/gate/resume')).toMatchObject({ range: 'bytes=40000-', 'if-range': '"rx-100000"' });
    await job.complete();
    expect(await readFile(h.local('g.bin'))).toEqual(content(100000));
    await job.release();
  });

  test('cancel removes the temporary file and the job; GetJob then answers BG_E_NOT_FOUND', async () => {
    const url = h.server.url('/gate/cancel?size=50000&head=10000');
    const job = await h.bits.createJob({ displayName: 'engine: cancel', files: [{ url, localPath: h.local('c.bin') }] });
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred === 10000);
    expect((await readdir(h.dir)).some((name) => name.endsWith('.tmp'))).toBe(true);
    await job.cancel();
    await h.engine.settled();
    await until(async () => !(await readdir(h.dir)).some((name) => name.endsWith('.tmp')));
    await expect(h.bits.getJob(job.id)).rejects.toMatchObject({ code: 'BG_E_NOT_FOUND' });
    await expect(stat(h.local('c.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    await job.release();
  });

  test('Complete that cannot move a file into place fails with the reason, and the job stays TRANSFERRED', async () => {
    const folder = h.local('gone');
    await mkdir(folder);
    const job = await h.bits.createJob({ displayName: 'engine: no folder', files: [{ url: h.server.url('/files/m?size=100'), localPath: path.join(folder, 'm.bin') }] });
    const done = firstValueFrom(transferred$(job));
    await job.resume();
    await done;
    const [temp] = (await readdir(folder)).filter((name) => name.endsWith('.tmp'));
    // The temporary file goes with its folder: the move into place has nothing to move.
    await rm(folder, { recursive: true });
    await expect(job.complete()).rejects.toMatchObject({ code: 'ERROR_PATH_NOT_FOUND' });
    expect(temp).toBeDefined();
    expect(await job.getState()).toBe('transferred');
    await job.cancel();
    await job.release();
  });

  test('Complete with a file missing keeps the transferred ones: BG_S_PARTIAL_COMPLETE', async () => {
    const job = await h.bits.createJob({
      displayName: 'engine: partial',
      files: [
        { url: h.server.url('/files/p1?size=1000'), localPath: h.local('p1.bin') },
        { url: h.server.url('/status/404'), localPath: h.local('p2.bin') },
      ],
    });
    const files = firstValueFrom(fileTransferred$(job));
    const failed = firstValueFrom(error$(job));
    // FileTransferred is heard only through the callback (BITS replays nothing of it): registered first.
    await whenHubsIdle();
    await job.resume();
    expect((await files).file.localPath).toBe(h.local('p1.bin'));
    await failed;
    expect(await job.complete()).toMatchObject({ code: 'BG_S_PARTIAL_COMPLETE', partial: true });
    expect(await readFile(h.local('p1.bin'))).toEqual(content(1000));
    await expect(stat(h.local('p2.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    await job.release();
  });

  test('jobs outlive the engine: reopened, they are back in their states and resumePending finishes them', async () => {
    const done = await h.bits.createJob({ displayName: 'app: done.bin', files: [{ url: h.server.url('/files/d?size=3000'), localPath: h.local('d.bin') }] });
    const transferred = firstValueFrom(transferred$(done));
    await done.resume();
    await transferred;
    const waiting = await h.bits.createJob({ displayName: 'app: waiting.bin', files: [{ url: h.server.url('/gate/w?size=9000&head=4000'), localPath: h.local('w.bin') }] });
    await waiting.resume();
    await until(async () => (await waiting.getProgress()).bytesTransferred === 4000);
    const other = await h.bits.createJob({ displayName: 'other: suspended' });
    await Promise.all([done.release(), waiting.release(), other.release()]);
    await whenHubsIdle();

    await h.reopen();
    const states = new Map<string, string>();
    for await (const job of h.bits.jobs()) {
      states.set(await job.getDisplayName(), await job.getState());
      await job.release();
    }
    expect(states.get('app: done.bin')).toBe('transferred');
    expect(['queued', 'connecting', 'transferring']).toContain(states.get('app: waiting.bin'));
    expect(states.get('other: suspended')).toBe('suspended');

    h.server.open('w');
    const pending = await resumePending({ appName: 'app', manager: h.bits });
    expect(pending.map((found) => found.jobId).sort()).toEqual([done.id, waiting.id].sort());
    const ends = await Promise.all(pending.map((found) => lastValueFrom(found.download$)));
    expect(ends.map((end) => end.done?.code)).toEqual(['S_OK', 'S_OK']);
    expect(await readFile(h.local('d.bin'))).toEqual(content(3000));
    expect(await readFile(h.local('w.bin'))).toEqual(content(9000));
    const left = await h.bits.getJob(other.id);
    await left.cancel();
    await left.release();
  });

  test('download() runs on it unchanged, with a retried failure', async () => {
    const url = h.server.url('/flaky/dl?fail=1&status=503&size=64000');
    const snapshots = await lastValueFrom(
      download(url, h.local('dl.bin'), { manager: h.bits, appName: 'engine-test', retry: { count: 2, delay: 10, nudgeTransientAfter: 10 } }).pipe(toArray()),
    );
    expect(snapshots.at(-1)?.done?.code).toBe('S_OK');
    expect(await readFile(h.local('dl.bin'))).toEqual(content(64000));
  });

  test('bad input gets the same typed errors as on BITS, and no job is made', async () => {
    await expect(h.bits.createJob({ displayName: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(h.bits.createJob({ displayName: 'x', files: [{ url: 'ftp://example.com/f', localPath: h.local('f') }] })).rejects.toThrow(
      /files\[0\]\.url: scheme 'ftp' is not supported/,
    );
    await expect(h.bits.createJob({ displayName: 'x', files: [{ url: h.server.url('/files/f'), localPath: 'relative.bin' }] })).rejects.toThrow(/files\[0\]\.localPath/);
    await expect(h.bits.createJob({ displayName: 'x', type: 'upload' })).rejects.toBeInstanceOf(NotSupportedByBackendError);
    await expect(h.bits.createJob({ displayName: 'x', files: [{ url: h.server.url('/files/f'), localPath: h.local('f'), size: 3 }] })).rejects.toThrow(
      /files\[0\]\.size: is a Delivery Optimization option; the portable engine takes only url and localPath/,
    );
    const listed = [];
    for await (const job of h.bits.jobs()) {
      listed.push(job.id);
      await job.release();
    }
    expect(listed).toEqual([]);
  });

  test("every user's jobs: not on this backend, said before any call", async () => {
    await expect(h.bits.jobs({ allUsers: true }).next()).rejects.toThrow(/all users is not supported by the 'portable' backend.*one user's jobs/);
  });

  test('a job nobody touched for the lifetime is removed with its temporary file when the engine opens', async () => {
    const job = await h.bits.createJob({ displayName: 'old', files: [{ url: h.server.url('/gate/old?size=5000&head=1000'), localPath: h.local('o.bin') }] });
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred === 1000);
    await job.suspend();
    await job.release();
    await whenHubsIdle();
    await h.engine.settled();
    const recordPath = path.join(h.stateDir, 'jobs', `${job.id}.json`);
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as { modified: string; files: Array<{ tempPath: string }> };
    record.modified = new Date(Date.now() - 91 * 86_400_000).toISOString();
    await writeFile(recordPath, JSON.stringify(record));
    await h.reopen();
    await h.engine.settled();
    await expect(h.bits.getJob(job.id)).rejects.toMatchObject({ code: 'BG_E_NOT_FOUND' });
    await expect(stat(record.files[0]!.tempPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a second engine on the same state directory is refused with a typed error naming the holder', async () => {
    const error = await PortableEngine.open(h.stateDir, FAST).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StateDirectoryInUseError);
    expect(error).toMatchObject({ pid: process.pid });
  });
});

describe('connect() chooses the backend', () => {
  const h = useEngine();
  /** A loopback BITS service whose CoCreateInstance refuses this process with `hresult`. */
  const services: LoopbackService[] = [];
  const refusing = (hresult: number): ComRuntime => {
    const service = new LoopbackService({ refusals: { bits: hresult } });
    services.push(service);
    return service.runtime;
  };
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
  });

  test.each([
    [0x800704dd, 'ERROR_NOT_LOGGED_ON'],
    [0x80070422, 'ERROR_SERVICE_DISABLED'],
    [0x80040154, 'REGDB_E_CLASSNOTREG'],
    [0x8020003e, 'BG_E_BLOCKED_BY_POLICY'],
    [0x80070005, 'E_ACCESSDENIED'],
  ])('BITS refusing with %s (%s) falls back to the portable engine, saying why', async (hresult, code) => {
    const stateDir = path.join(h.dir, `fallback-${code}`);
    const bits = await connect({ runtime: refusing(hresult), stateDir });
    expect(bits.backend).toBe('portable');
    expect(bits.choice).toMatchObject({ backend: 'portable', refusal: { hresult, code } });
    expect(bits.choice.reason).toContain(code);
    await bits.release();
    await (await import('../src/engine/engine.js')).portableEngine(stateDir).then((engine) => engine.close());
  });

  test('naming bits never falls back; another failure is not a refusal', async () => {
    await expect(connect({ backend: 'bits', runtime: refusing(0x800704dd) })).rejects.toMatchObject({ code: 'ERROR_NOT_LOGGED_ON' });
    await expect(connect({ runtime: refusing(0x8007000e) })).rejects.toMatchObject({ code: 'E_OUTOFMEMORY' });
  });

  test('with BITS answering, the default is BITS', async () => {
    const bits = await connect({ runtime: h.engine.runtime });
    expect(bits.choice).toEqual({ backend: 'bits', reason: 'the default on Windows' });
    await bits.release();
  });
});

describe('what backend.ts lists as missing on the portable engine is refused before any call', () => {
  const h = useEngine();

  test('the FileRangesTransferred flag and credentials: a NotSupportedByBackendError naming them, the flags unchanged', async () => {
    const flags = NotifyFlags.JobTransferred | NotifyFlags.JobError;
    const job = await h.bits.createJob({ displayName: 'engine: not here' });
    await job.setNotifyFlags(flags);
    const refusals: readonly Refusal[] = [
      ['FileRangesTransferred', () => job.setNotifyFlags(NotifyFlags.FileRangesTransferred)],
      ['FileRangesTransferred', () => job.setNotifyFlags(flags | NotifyFlags.FileRangesTransferred)],
      ['credentials', () => job.setCredentials({ target: 'server', scheme: 'basic', userName: 'u', password: 'p' })],
      ['credentials', () => job.removeCredentials('proxy', 'ntlm')],
    ];
    const calls = countBitsCalls();
    try {
      const outcomes = await outcomesOf(refusals);
      expect(outcomes).toEqual(refusals.map(([operation]) => ({ operation, error: `NotSupportedByBackendError(portable, ${operation})` })));
      expect(calls.count(), 'calls that reached the engine').toBe(0);
      // The counter sees a call that does reach the engine.
      expect(await job.getNotifyFlags()).toBe(flags);
      expect(calls.count()).toBeGreaterThan(0);
    } finally {
      calls.restore();
      await job.cancel();
      await job.release();
    }
  });
});
