import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { describe, expect, test } from 'vitest';
import { DO_PROPERTIES } from '../src/com/do-interfaces.js';
import {
  DO_E_BLOCKED_BY_COST_TRANSFER_POLICY,
  DO_E_INTEGRITYCHECKINFO_UNAVAILABLE,
  DO_E_NO_DOWNLOAD_PARTICIPATION,
  DO_E_NO_SERVICE,
} from '../src/com/do-errors.js';
import { portableEngine } from '../src/engine/engine.js';
import { whenBridgeClosed } from '../src/do/runtime.js';
import {
  ComError,
  connect,
  error$,
  InvalidArgumentError,
  NotifyFlags,
  NotSupportedByBackendError,
  PropertyNotSupportedError,
  resumePending,
  state$,
  transferred$,
  whenHubsIdle,
  type BitsManager,
} from '../src/index.js';
import { LoopbackService } from './loopback/service.js';
import { LoopbackDoService } from './loopback-do/service.js';
import { ERROR_FILE_EXISTS_HR } from './loopback-do/download-model.js';
import { useDoBackend } from './support/do-harness.js';
import { until } from './support/harness.js';
import { content } from './support/http-server.js';
import { countBitsCalls, outcomesOf, type Refusal } from './support/backend-refusals.js';

/** Delivery Optimization through the bridge, over the loopback DO service: what BITS's scenarios do not cover. */

const POLL = { pollInterval: 10 } as const;

async function names(bits: BitsManager): Promise<string[]> {
  const found: string[] = [];
  for await (const job of bits.jobs()) {
    found.push(await job.getDisplayName());
    await job.release();
  }
  return found.sort();
}

describe('the delivery-optimization backend', () => {
  const h = useDoBackend({ secondMs: 10, retrySeconds: 2 });
  const file = (name: string, route: string) => ({ url: h.server.url(route), localPath: h.local(name) });

  test('a download per file, set up in Created; the first Start asks for the whole file, a resume is Start(NULL); our callback on each', async () => {
    const job = await h.bits.createJob({ displayName: 'app: two', files: [file('a.bin', '/gate/a?size=9000&head=3000'), file('b.bin', '/files/b?size=500')] });
    expect(h.service.calls('IDOManager::CreateDownload')).toBe(2);
    expect(h.service.downloads.map((d) => d.state)).toEqual(['created', 'created']);
    expect(h.service.downloads.map((d) => d.text('DisplayName'))).toEqual([`app: two [rx-bits {${job.id}} 0]`, `app: two [rx-bits {${job.id}} 1]`]);
    expect(h.service.downloads.every((d) => d.callback !== undefined && d.flag('NonVolatile'))).toBe(true);
    expect(h.server.requests('/gate/a')).toBe(0);
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred === 3000);
    await job.suspend();
    await until(() => h.service.downloads[0]!.state === 'paused');
    expect(await job.getState()).toBe('suspended');
    h.server.open('a');
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await job.resume();
    await done;
    expect([h.service.calls('IDODownload::Start(0 ranges)'), h.service.calls('IDODownload::Start(NULL)'), h.service.calls('IDODownload::Pause')]).toEqual([2, 1, 1]);
    expect(await job.complete()).toMatchObject({ code: 'S_OK' });
    expect(h.service.calls('IDODownload::Finalize')).toBe(2);
    expect(await readFile(h.local('a.bin'))).toEqual(content(9000));
    expect(await readFile(h.local('b.bin'))).toEqual(content(500));
    expect(h.service.downloads).toEqual([]);
    await job.release();
  });

  test("createJob's DO options, headers, priority and each file's size and content id reach every download", async () => {
    const job = await h.bits.createJob({
      displayName: 'app: options',
      priority: 'foreground',
      noProgressTimeout: 120,
      headers: { 'X-App': 'a' },
      files: [{ ...file('o.bin', '/files/o?size=10'), size: 10, fileId: 'sha256:0f' }],
      deliveryOptimization: {
        costPolicy: 'unrestricted',
        callbackFrequency: { seconds: 2, percent: 10 },
        nonVolatile: false,
        integrityCheck: { info: '{"Version":"1"}', mandatory: false },
        disallowOnCellular: true,
      },
    });
    const [download] = h.service.downloads;
    const value = (name: keyof typeof DO_PROPERTIES) => download!.getProperty(DO_PROPERTIES[name].id).value;
    expect({
      CostPolicy: value('CostPolicy'),
      CallbackFreqSeconds: value('CallbackFreqSeconds'),
      CallbackFreqPercent: value('CallbackFreqPercent'),
      NonVolatile: value('NonVolatile'),
      IntegrityCheckMandatory: value('IntegrityCheckMandatory'),
      DisallowOnCellular: value('DisallowOnCellular'),
      ForegroundPriority: value('ForegroundPriority'),
      NoProgressTimeoutSeconds: value('NoProgressTimeoutSeconds'),
      HttpCustomHeaders: value('HttpCustomHeaders'),
      TotalSizeBytes: value('TotalSizeBytes'),
      ContentId: value('ContentId'),
    }).toEqual({
      CostPolicy: { type: 'ui4', value: 1 },
      CallbackFreqSeconds: { type: 'ui4', value: 2 },
      CallbackFreqPercent: { type: 'ui4', value: 10 },
      NonVolatile: { type: 'bool', value: false },
      IntegrityCheckMandatory: { type: 'bool', value: false },
      DisallowOnCellular: { type: 'bool', value: true },
      ForegroundPriority: { type: 'bool', value: true },
      NoProgressTimeoutSeconds: { type: 'ui4', value: 120 },
      HttpCustomHeaders: { type: 'bstr', value: 'X-App: a\r\n' },
      TotalSizeBytes: { type: 'ui8', value: 10n },
      ContentId: { type: 'bstr', value: 'sha256:0f' },
    });
    // Write-only: DO keeps it, nobody reads it back.
    expect(download!.text('IntegrityCheckInfo')).toBe('{"Version":"1"}');
    await job.cancel();
    await job.release();
  });

  test('bad DO options are an InvalidArgumentError naming the field, before any call; other backends refuse them', async () => {
    const cases: Array<[unknown, string]> = [
      [{ costPolicy: 'cheap' }, 'deliveryOptimization.costPolicy'],
      [{ callbackFrequency: { percent: 0 } }, 'deliveryOptimization.callbackFrequency.percent'],
      [{ callbackFrequency: { seconds: 1.5 } }, 'deliveryOptimization.callbackFrequency.seconds'],
      [{ integrityCheck: { info: '' } }, 'deliveryOptimization.integrityCheck.info'],
      [{ nonVolatile: 'yes' }, 'deliveryOptimization.nonVolatile'],
      [{ peerCaching: true }, 'deliveryOptimization.peerCaching'],
      ['fast', 'deliveryOptimization'],
    ];
    for (const [deliveryOptimization, field] of cases) {
      const options = { displayName: 'bad', files: [file('x.bin', '/files/x')], deliveryOptimization } as Parameters<BitsManager['createJob']>[0];
      await expect(h.bits.createJob(options)).rejects.toMatchObject({ name: 'InvalidArgumentError', field });
    }
    expect(h.service.calls('IDOManager::CreateDownload')).toBe(0);
    expect(await names(h.bits)).toEqual([]);

    const bitsService = new LoopbackService();
    const bits = await connect({ backend: 'bits', runtime: bitsService.runtime });
    await expect(bits.createJob({ displayName: 'x', deliveryOptimization: { costPolicy: 'always' } })).rejects.toBeInstanceOf(NotSupportedByBackendError);
    await bits.release();
    await bitsService.close();
    expect(new InvalidArgumentError('a', 'b')).toBeInstanceOf(Error);
  });

  test('what DO has no counterpart for is refused before any call', async () => {
    const job = await h.bits.createJob({ displayName: 'app: lacks' });
    const refusals = [
      () => job.setMinimumRetryDelay(60),
      () => job.getMinimumRetryDelay(),
      () => job.setCustomHeaders({ 'X-A': 'b' }),
      () => h.bits.createJob({ displayName: 'up', type: 'upload' }),
      () => h.bits.createJob({ displayName: 'delay', minimumRetryDelay: 5 }),
      () => h.bits.jobs({ allUsers: true }).next(),
    ];
    for (const refuse of refusals) await expect(refuse()).rejects.toBeInstanceOf(NotSupportedByBackendError);
    expect(await names(h.bits)).toEqual(['app: lacks']);
    expect(await h.bits.describe(0x80d03801)).toBe('The download is blocked by the cost policy (a metered network).');
    await job.cancel();
    await job.release();
  });

  test('a cost-policy block is a TRANSIENT_ERROR with its DO name; DO retries by itself and the job transfers', async () => {
    h.service.faults.block = DO_E_BLOCKED_BY_COST_TRANSFER_POLICY;
    const job = await h.bits.createJob({ displayName: 'app: metered', files: [file('m.bin', '/files/m?size=4000')] });
    const blocked = firstValueFrom(error$(job, POLL));
    await whenHubsIdle();
    await job.resume();
    expect(await blocked).toMatchObject({ transient: true, error: { code: 'DO_E_BLOCKED_BY_COST_TRANSFER_POLICY', hresult: DO_E_BLOCKED_BY_COST_TRANSFER_POLICY } });
    // DO retries by itself (every retrySeconds): a read may find it connecting again, and the next
    // retry, still blocked, brings it back to TRANSIENT_ERROR.
    await until(async () => (await job.getState()) === 'transientError');
    const done = firstValueFrom(transferred$(job));
    h.service.faults.block = undefined;
    await done;
    await job.complete();
    expect(await readFile(h.local('m.bin'))).toEqual(content(4000));
    await job.release();
  });

  test('noProgressTimeout 0 makes a transient error final: ERROR at once, and DO is told to stop retrying (Pause)', async () => {
    const job = await h.bits.createJob({ displayName: 'app: no retries', noProgressTimeout: 0, files: [file('z.bin', '/flaky/z?fail=5&status=503&size=10')] });
    const failed = firstValueFrom(error$(job, POLL));
    await whenHubsIdle();
    await job.resume();
    expect(await failed).toMatchObject({ transient: false, error: { code: 'BG_E_HTTP_ERROR_503' } });
    await until(() => h.service.calls('IDODownload::Pause') === 1);
    await h.service.settled();
    expect(h.service.downloads[0]!.state).toBe('paused');
    // Whatever DO says after the Pause, the error stays the job's until a resume.
    expect(await job.getState()).toBe('error');
    expect(await job.getError()).toMatchObject({ code: 'BG_E_HTTP_ERROR_503', file: { localPath: h.local('z.bin') } });
    await job.cancel();
    await job.release();
  });

  test('DO refusing downloads: Start refused with DO_E_NO_DOWNLOAD_PARTICIPATION is a final error, and the callback hears it', async () => {
    h.service.faults.refuseStart = DO_E_NO_DOWNLOAD_PARTICIPATION;
    const job = await h.bits.createJob({ displayName: 'app: policy', files: [file('p.bin', '/files/p?size=10')] });
    const failed = firstValueFrom(error$(job));
    await whenHubsIdle();
    await job.resume();
    expect(await failed).toMatchObject({ transient: false, source: 'callback', error: { code: 'DO_E_NO_DOWNLOAD_PARTICIPATION' } });
    expect(await job.getState()).toBe('error');
    // Once DO takes downloads again, a resume retries at once.
    h.service.faults.refuseStart = undefined;
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await job.resume();
    await done;
    await job.complete();
    await job.release();
  });

  test('a mandatory integrity check DO cannot make is a final error', async () => {
    h.service.faults.integrityUnavailable = true;
    const job = await h.bits.createJob({
      displayName: 'app: integrity',
      files: [file('i.bin', '/files/i?size=10')],
      deliveryOptimization: { integrityCheck: { mandatory: true, info: '{}' } },
    });
    const failed = firstValueFrom(error$(job, POLL));
    await whenHubsIdle();
    await job.resume();
    expect(await failed).toMatchObject({ transient: false, error: { code: 'DO_E_INTEGRITYCHECKINFO_UNAVAILABLE', hresult: DO_E_INTEGRITYCHECKINFO_UNAVAILABLE } });
    await job.cancel();
    await job.release();
  });

  test('DO never overwrites: a file that appeared at the local path makes complete() fail, and the job stays in ERROR until it is gone', async () => {
    const job = await h.bits.createJob({ displayName: 'app: clash', files: [file('c.bin', '/files/c?size=300')] });
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await job.resume();
    await done;
    await writeFile(h.local('c.bin'), 'mine');
    const failure = await job.complete().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ComError);
    expect(failure).toMatchObject({ hresult: ERROR_FILE_EXISTS_HR, method: 'Finalize' });
    expect(await job.getState()).toBe('error');
    expect(await job.getError()).toMatchObject({ hresult: ERROR_FILE_EXISTS_HR, context: 'localFile', file: { localPath: h.local('c.bin') } });
    expect(await readFile(h.local('c.bin'), 'utf8')).toBe('mine');
    await unlink(h.local('c.bin'));
    await job.resume();
    await until(async () => (await job.getState()) === 'transferred');
    expect(await job.complete()).toMatchObject({ code: 'S_OK' });
    expect(await readFile(h.local('c.bin'))).toEqual(content(300));
    await job.release();
  });

  test('non-volatile jobs outlive the app and a DO restart: resumePending finds and finishes them; a volatile one is gone', async () => {
    const keep = await h.bits.createJob({ displayName: 'app: keep.bin', files: [file('k.bin', '/gate/k?size=8000&head=2000')] });
    const lose = await h.bits.createJob({ displayName: 'app: lose.bin', files: [file('l.bin', '/files/l?size=10')], deliveryOptimization: { nonVolatile: false } });
    await keep.resume();
    await until(async () => (await keep.getProgress()).bytesTransferred === 2000);
    await Promise.all([keep.release(), lose.release(), h.bits.release()]);
    await whenHubsIdle();
    await whenBridgeClosed(h.service.runtime);
    // The machine restarts: DO keeps only what it saved, paused.
    await h.service.restart();
    h.bits = await connect({ backend: 'delivery-optimization', runtime: h.service.runtime });
    const pending = await resumePending({ appName: 'app', manager: h.bits, pollInterval: 10 });
    expect(pending.map((found) => [found.displayName, found.jobId])).toEqual([['app: keep.bin', keep.id]]);
    h.server.open('k');
    const end = await lastValueFrom(pending[0]!.download$);
    expect(end.done?.code).toBe('S_OK');
    expect(await readFile(h.local('k.bin'))).toEqual(content(8000));
    expect(h.service.calls('IDODownload::Start(NULL)')).toBe(1);
    for (const found of pending) await found.release();
  });

  test('DO restarting under a running bridge: the next call finds the downloads again, registers our callback again, and the job carries on', async () => {
    const job = await h.bits.createJob({ displayName: 'app: survive', files: [file('r.bin', '/gate/r?size=6000&head=1500')] });
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred === 1500);
    expect(h.service.calls('IDOManager::EnumDownloads')).toBe(1);
    // NonVolatile (the default) keeps the download, Paused; every pointer DO gave, and our callback, are gone with it.
    await h.service.restart();
    await job.suspend();
    await until(() => h.service.calls('IDOManager::EnumDownloads') === 2 && h.service.downloads[0]?.callback !== undefined);
    expect(await job.getState()).toBe('suspended');
    h.server.open('r');
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await job.resume();
    await done;
    expect(await job.complete()).toMatchObject({ code: 'S_OK' });
    expect(await readFile(h.local('r.bin'))).toEqual(content(6000));
    await job.release();
  });

  test('a status that arrives late (Transferring after Paused or Transferred) neither stalls a resume nor takes a transferred job back', async () => {
    h.service.faults.lateStatus = true;
    const job = await h.bits.createJob({ displayName: 'app: late', files: [file('t.bin', '/gate/t?size=2000&head=500')] });
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred === 500);
    await job.suspend();
    await until(() => h.service.downloads[0]!.state === 'paused');
    await h.service.settled();
    h.server.open('t');
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await job.resume();
    await done;
    await h.service.settled();
    expect(await job.getState()).toBe('transferred');
    expect(await job.getProgress()).toMatchObject({ bytesTransferred: 2000, filesTransferred: 1 });
    await job.complete();
    await job.release();
  });

  test('DO\'s callbacks lost: while a BITS callback is registered, the bridge reads GetStatus itself (every 3 s) and the job still ends', async () => {
    h.service.faults.silent = true;
    const job = await h.bits.createJob({ displayName: 'app: silent', files: [file('q.bin', '/gate/q?size=1000&head=100')] });
    const done = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    const before = h.service.calls('IDODownload::GetStatus');
    await job.resume();
    // A read follows the Start while the gate holds the transfer; its end can come from the backstop's
    // reads alone (transferred$ does not poll, and nothing calls back).
    await until(() => h.service.calls('IDODownload::GetStatus') > before);
    h.server.open('q');
    await done;
    await job.complete();
    await job.release();
  });

  test('state$ on DO: suspended, queued or connecting, transferring, transferred, in order', async () => {
    const job = await h.bits.createJob({ displayName: 'app: states', files: [file('s.bin', '/gate/s?size=3000&head=1000')] });
    const transferring = firstValueFrom(state$(job, POLL).pipe(filter((state) => state === 'transferring')));
    await whenHubsIdle();
    await job.resume();
    await transferring;
    expect(h.service.downloads[0]!.state).toBe('transferring');
    h.server.open('s');
    await until(async () => (await job.getState()) === 'transferred');
    await job.complete();
    await job.release();
  });
});

describe('on an older Windows build (19041)', () => {
  const h = useDoBackend({ secondMs: 10, build: 19041 });

  test('an option the build lacks is a PropertyNotSupportedError and leaves nothing behind; NonVolatile by default is skipped', async () => {
    const refused = await h.bits
      .createJob({ displayName: 'app: new', files: [{ url: h.server.url('/files/n?size=10'), localPath: h.local('n.bin') }], deliveryOptimization: { nonVolatile: true } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PropertyNotSupportedError);
    expect(refused).toBeInstanceOf(NotSupportedByBackendError);
    expect(refused).toMatchObject({ option: 'deliveryOptimization.nonVolatile', property: 'NonVolatile', introducedIn: 22621, backend: 'delivery-optimization' });
    expect(h.service.downloads).toEqual([]);
    expect(await names(h.bits)).toEqual([]);

    const job = await h.bits.createJob({ displayName: 'app: plain', files: [{ url: h.server.url('/files/p?size=10'), localPath: h.local('p.bin') }] });
    expect(h.service.downloads.map((d) => d.flag('NonVolatile'))).toEqual([false]);
    await job.cancel();
    await job.release();
  });
});

describe('when Delivery Optimization refuses this caller', () => {
  test("connect() names DO's code; with fallback it takes the portable engine and says why", async () => {
    const service = new LoopbackDoService({ refusal: DO_E_NO_SERVICE });
    await expect(connect({ backend: 'delivery-optimization', runtime: service.runtime })).rejects.toMatchObject({ code: 'DO_E_NO_SERVICE' });
    const stateDir = await mkdtemp(path.join(tmpdir(), 'rx-bits-do-fallback-'));
    const bits = await connect({ backend: 'delivery-optimization', runtime: service.runtime, fallback: true, stateDir });
    expect(bits.choice).toMatchObject({
      backend: 'portable',
      refusal: { hresult: DO_E_NO_SERVICE, code: 'DO_E_NO_SERVICE' },
      reason: expect.stringMatching(/^Delivery Optimization refused this process with DO_E_NO_SERVICE \(0x80D01001\)/),
    });
    await bits.release();
    await (await portableEngine(stateDir)).close();
    await rm(stateDir, { recursive: true, force: true });
    await service.close();
    service.assertNoLeaks();
  });
});

describe("what the README lists under Delivery Optimization's 'Not on this backend'", () => {
  const h = useDoBackend({ secondMs: 10, retrySeconds: 2 });
  const FLAGS = NotifyFlags.JobTransferred | NotifyFlags.JobError;

  test('each is a NotSupportedByBackendError naming it, raised before any call reaches the bridge', async () => {
    const job = await h.bits.createJob({ displayName: 'app: not on DO' });
    await job.setNotifyFlags(FLAGS);
    const refusals: readonly Refusal[] = [
      ['SetMinimumRetryDelay', () => job.setMinimumRetryDelay(60)],
      ['GetMinimumRetryDelay', () => job.getMinimumRetryDelay()],
      ['upload jobs', () => h.bits.createJob({ displayName: 'up', type: 'upload' })],
      ['all users', () => h.bits.jobs({ allUsers: true }).next()],
      ['custom headers', () => job.setCustomHeaders({ 'X-A': 'b' })],
      ['proxy settings', () => job.setProxySettings({ usage: 'override', proxyList: 'http://proxy:8080' })],
      ['proxy settings', () => job.setProxySettings({ usage: 'noProxy' })],
      ['proxy settings', () => job.getProxySettings()],
      ['credentials', () => job.setCredentials({ target: 'server', scheme: 'basic', userName: 'u', password: 'p' })],
      ['credentials', () => job.removeCredentials('server', 'basic')],
      // backend.ts lists the flag as missing: the bridge's E_NOTIMPL is not what the caller gets.
      ['FileRangesTransferred', () => job.setNotifyFlags(NotifyFlags.FileRangesTransferred)],
      ['FileRangesTransferred', () => job.setNotifyFlags(FLAGS | NotifyFlags.FileRangesTransferred)],
    ];
    const calls = countBitsCalls();
    try {
      const outcomes = await outcomesOf(refusals);
      expect(outcomes).toEqual(refusals.map(([operation]) => ({ operation, error: `NotSupportedByBackendError(delivery-optimization, ${operation})` })));
      expect(calls.count(), 'calls that reached the bridge').toBe(0);
      // The counter sees a call that does reach the bridge.
      expect(await job.getNotifyFlags()).toBe(FLAGS);
      expect(calls.count()).toBeGreaterThan(0);
      expect(await names(h.bits)).toEqual(['app: not on DO']);
    } finally {
      calls.restore();
      await job.cancel();
      await job.release();
    }
  });

  test('notify flags beyond 32 bits are an InvalidArgumentError, not the low bits the bridge would keep', async () => {
    const job = await h.bits.createJob({ displayName: 'app: flags' });
    await job.setNotifyFlags(FLAGS);
    const calls = countBitsCalls();
    try {
      for (const flags of [2 ** 32, 2 ** 32 + FLAGS, 2 ** 40 + 1]) {
        await expect(job.setNotifyFlags(flags)).rejects.toMatchObject({ name: 'InvalidArgumentError', field: 'notifyFlags' });
      }
      expect(calls.count(), 'calls that reached the bridge').toBe(0);
      expect(await job.getNotifyFlags()).toBe(FLAGS);
      expect(calls.count()).toBeGreaterThan(0);
    } finally {
      calls.restore();
      await job.cancel();
      await job.release();
    }
  });
});
