import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closedPort, content, startTestServer, type TestServer } from '../support/http-server.js';

/**
 * The end-to-end suite: the packed library, in a Windows build of Node.js under Wine, against Wine's
 * own BITS service (qmgr, in svchost.exe: a separate process, so every call is really marshalled).
 * Each scenario is a Windows process of its own (scenarios.ts) that writes its result to a file;
 * this side serves HTTP from 127.0.0.1 and checks what came back.
 */

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const toWindows = (linuxPath: string): string => `Z:${linuxPath.replaceAll('/', '\\')}`;
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Wine {
  /** `wine --version` without the prefix, e.g. `8.0`: Debian 12 has 8.0, Debian 13 a newer one. */
  WINE_VERSION: string;
  WINE: string;
  WINESERVER: string;
  WINEPREFIX: string;
  NODE_EXE: string;
}

interface ScenarioResult {
  ok: boolean;
  error?: string;
  details?: Record<string, unknown>;
  references: { live: number; leaked: number };
  callbackObjects: number;
  hubs: number;
}

let wine: Wine;
let env: NodeJS.ProcessEnv;
let app: string;
let work: string;
let server: TestServer;

beforeAll(async () => {
  const { stdout } = await run('bash', [path.join(root, 'scripts', 'wine-setup.sh')], { cwd: root, maxBuffer: 1 << 20 });
  wine = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string])) as unknown as Wine;
  env = { ...process.env, WINEPREFIX: wine.WINEPREFIX, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', DISPLAY: '' };

  // The library as it is published, with koffi's Windows build: what an app on Windows would install.
  app = path.join(root, '.cache', 'wine', 'app');
  await rm(app, { recursive: true, force: true });
  await mkdir(app, { recursive: true });
  const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', app], { cwd: root, maxBuffer: 1 << 24 });
  const [{ filename }] = JSON.parse(packed) as [{ filename: string }];
  // The koffi this checkout was tested with (its package.json is not in koffi's exports map).
  const koffi = (JSON.parse(await readFile(path.join(root, 'node_modules', 'koffi', 'package.json'), 'utf8')) as { version: string }).version;
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'rx-bits-e2e', private: true, type: 'module' }));
  await run(
    'npm',
    ['install', '--os=win32', '--cpu=x64', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(app, filename), `koffi@${koffi}`, 'rxjs@^7.8.0'],
    { cwd: app, maxBuffer: 1 << 24 },
  );
  await copyFile(path.join(import.meta.dirname, 'scenarios.ts'), path.join(app, 'scenarios.ts'));

  work = await mkdtemp(path.join(tmpdir(), 'rx-bits-wine-'));
  await writeFile(path.join(work, 'source.bin'), content(123_456));
  server = await startTestServer();
  // Keep Wine's service (and its jobs) alive between the scenarios' processes, for re-attaching.
  // (wineserver daemonizes: given our pipes it would hold them open, so it gets none.)
  await restartWine();
}, 600_000);

afterAll(async () => {
  await server?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  if (wine === undefined) return;
  await run('timeout', ['30', wine.WINESERVER, '-k'], { env }).catch(() => undefined); // exit 1: none running
  // No Wine process may outlive the suite; -k signals them, they take a moment to go.
  const leftBehind = () =>
    run('pgrep', ['-f', `${wine.WINEPREFIX}|wineserver|\\.exe`]).then(
      ({ stdout }) => stdout.trim(),
      () => '', // pgrep exits 1 when nothing matches
    );
  for (let i = 0; i < 100 && (await leftBehind()) !== ''; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await leftBehind(), 'Wine processes left behind').toBe('');
}, 60_000);

/** Ends every Wine process of the prefix and starts a persistent server again. */
async function restartWine(): Promise<void> {
  await run('timeout', ['30', wine.WINESERVER, '-k'], { env }).catch(() => undefined);
  await exited(spawn('timeout', ['10', wine.WINESERVER, '-p'], { env, stdio: 'ignore' }));
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Waits for a scenario's process to write a file; answers its content. */
async function waitForFile(file: string): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${path.basename(file)} never appeared`);
}

/** Runs one scenario in its own Windows process; the process must end by itself. */
async function scenario(name: string, arg = ''): Promise<ScenarioResult> {
  const resultFile = path.join(work, `${name}.json`);
  const logFile = path.join(work, `${name}.log`);
  const log = await open(logFile, 'w');
  const { code, signal } = await exited(
    spawn('timeout', ['120', wine.WINE, wine.NODE_EXE, 'scenarios.ts', name], {
      cwd: app,
      env: { ...env, RXB_RESULT: toWindows(resultFile), RXB_ORIGIN: server.origin, RXB_DIR: toWindows(work), RXB_ARG: arg },
      // Windows Node cannot write to a pipe under Wine (EBADF): its output goes to a file.
      stdio: ['ignore', log.fd, log.fd],
    }),
  );
  await log.close();
  const result = JSON.parse(await readFile(resultFile, 'utf8').catch(() => '{"ok":false,"error":"no result written"}')) as ScenarioResult;
  const output = await readFile(logFile, 'utf8');
  expect(result.error ?? '', `${name} failed\n${output}`).toBe('');
  expect(result.ok).toBe(true);
  expect({ code, signal }, `${name} did not exit by itself (124 is the hang guard's)`).toEqual({ code: 0, signal: null });
  expect(result.references, 'references owned or finalizer-released at the end').toEqual({ live: 0, leaked: 0 });
  expect(result.callbackObjects, 'callback objects still allocated').toBe(0);
  expect(result.hubs).toBe(0);
  return result;
}

describe('rx-bits against Wine’s BITS', () => {
  test('IBackgroundCopyJob3-5: Job3 and Job4 are stubs on Wine, Job5 an InterfaceNotSupportedError', async () => {
    const { details } = await scenario('job345');
    const done = { value: null };
    expect(details?.answers).toEqual({
      // S_OK without effect: rx-bits reports what the service said (a match; flags it never wrote read as none).
      replaceRemotePrefix: { value: true },
      addFilesWithRanges: done,
      setFileAclFlags: done,
      getFileAclFlags: { value: [] },
      setPeerCachingFlags: done,
      getPeerCachingFlags: 'E_NOTIMPL',
      getOwnerIntegrityLevel: 'E_NOTIMPL',
      isOwnerElevated: 'E_NOTIMPL',
      setMaximumDownloadTime: done,
      getMaximumDownloadTime: 'E_NOTIMPL',
      setProperty: { name: 'InterfaceNotSupportedError', interfaceName: 'IBackgroundCopyJob5', introducedIn: '5.0' },
      getProperty: { name: 'InterfaceNotSupportedError', interfaceName: 'IBackgroundCopyJob5', introducedIn: '5.0' },
    });
    // AddFileWithRanges answered S_OK and added nothing.
    expect(details?.files).toBe(0);
  });

  test('IBackgroundCopyFile2 is E_NOTIMPL on Wine, File3-6 an InterfaceNotSupportedError each', async () => {
    const { details } = await scenario('files');
    const refused = (interfaceName: string, introducedIn: string) => ({ name: 'InterfaceNotSupportedError', interfaceName, introducedIn });
    expect(details?.answers).toEqual({
      getFileRanges: 'E_NOTIMPL',
      setRemoteName: 'E_NOTIMPL',
      getTemporaryName: refused('IBackgroundCopyFile3', '3.0'),
      getPeerDownloadStats: refused('IBackgroundCopyFile4', '4.0'),
      getProperty: refused('IBackgroundCopyFile5', '5.0'),
      getFilledFileRanges: refused('IBackgroundCopyFile6', '10.1'),
    });
    // One file, and SetRemoteName moved nothing.
    expect(details?.others).toBe(0);
    expect(details?.url).toMatch(/\/files\/wine-file\?size=100$/);
  });

  test('IBackgroundCopyJobHttpOptions: custom headers reach the server, security flags round-trip, client certificates are refused; no HttpOptions2-3', async () => {
    const { details } = await scenario('http-options');
    expect(details?.headers).toEqual({ 'X-Rx-Bits': 'wine' });
    expect(details?.initial).toEqual({ checkRevocation: false, ignoreCertificateErrors: [], redirects: 'allowSilent', allowHttpsToHttp: false });
    expect(details?.security).toEqual({ checkRevocation: true, ignoreCertificateErrors: ['dateInvalid', 'unknownCa'], redirects: 'disallow', allowHttpsToHttp: true });
    const notImplemented = (method: string) => ({ name: 'NotSupportedByBackendError', operation: `IBackgroundCopyJobHttpOptions::${method}` });
    const noHttpOptions2 = { name: 'InterfaceNotSupportedError', interfaceName: 'IBackgroundCopyJobHttpOptions2', introducedIn: '10.2' };
    const noHttpOptions3 = { name: 'InterfaceNotSupportedError', interfaceName: 'IBackgroundCopyJobHttpOptions3', introducedIn: '10.3' };
    expect(details?.answers).toEqual({
      setClientCertificate: notImplemented('SetClientCertificateByName'),
      // Its E_NOTIMPL leaves the out-parameters NULL, and what reaches us is the marshaller's answer.
      getClientCertificate: { name: 'ComError', code: 'RPC_X_NULL_REF_POINTER' },
      removeClientCertificate: notImplemented('RemoveClientCertificate'),
      setHttpMethod: noHttpOptions2,
      getHttpMethod: noHttpOptions2,
      setServerCertificateValidation: noHttpOptions3,
      makeCustomHeadersWriteOnly: noHttpOptions3,
    });
    expect(details?.sha256).toBe(sha256(content(2000)));
    expect(server.lastHeaders('/files/options')?.['x-rx-bits']).toBe('wine');
  });

  test('an HTTP download, completed by completeWhenTransferred, has the served bytes', async () => {
    const { details } = await scenario('http-download');
    expect(details?.sha256).toBe(sha256(content(300_000)));
    expect(details?.result).toMatchObject({ code: 'S_OK', partial: false, files: [{ completed: true }] });
  });

  test('IBackgroundCopyJob2: Basic credentials reach the server; the notify command line and replies are E_NOTIMPL', async () => {
    const { details } = await scenario('job2');
    expect(details?.sha256).toBe(sha256(content(5000)));
    expect(details?.result).toMatchObject({ code: 'S_OK' });
    const stubs = ['setNotifyCommandLine', 'getNotifyCommandLine', 'getReplyProgress', 'getReplyData', 'setReplyFileName', 'getReplyFileName'];
    expect(details?.answers).toEqual(Object.fromEntries(stubs.map((name) => [name, 'E_NOTIMPL'])));
  });

  test('a local-file job copies the file', async () => {
    const { details } = await scenario('local-file');
    expect(details?.sha256).toBe(sha256(content(123_456)));
  });

  test('a 404 surfaces through the backstop as a typed error with its HRESULT and context', async () => {
    const { details } = await scenario('http-404');
    expect(details).toMatchObject({ source: 'backstop', transient: false, code: 'BG_E_HTTP_ERROR_404', hresult: 0x80190194, context: 'remoteFile' });
    expect(details?.replayedAsBitsJobError).toBe(true);
  });

  test('a refused connection surfaces as an error even though Wine gives no error information', async () => {
    const { details } = await scenario('refused-connection', String(await closedPort()));
    expect(details).toMatchObject({ source: 'backstop', code: 'BG_E_ERROR_INFORMATION_UNAVAILABLE' });
  });

  test('notify flags follow subscriptions, and unsubscribing detaches', async () => {
    const { details } = await scenario('flags-follow-subscriptions');
    // Detaching gives the job back the flags it had before we came.
    expect(details).toEqual({ initial: 0x3, both: 0x3, attached: true, transferredOnly: 0x1, afterDetach: 0x3, attachedAfterDetach: false });
  });

  test('cancel while transferring', async () => {
    const { details } = await scenario('cancel-while-transferring');
    expect(details?.state).toBe('cancelled');
    // Wine 8's qmgr fails every call (RPC_S_SERVER_UNAVAILABLE) soon after an HTTP transfer is
    // cancelled mid-way, with or without rx-bits' callbacks (a bare Cancel does it): start it anew.
    await restartWine();
  });

  test('complete and cancel from inside a transferred handler do not deadlock', async () => {
    const { details } = await scenario('complete-and-cancel-inside-handler');
    expect(details).toMatchObject({ complete: 'S_OK', states: ['acknowledged', 'cancelled'] });
  });

  test('a job that left the queue: its Observables end at once, and waiting for its transfer is a JobLeftQueueError', async () => {
    const { details } = await scenario('left-the-queue');
    expect(details).toEqual({ states: ['cancelled'], transferred: 0, error: { name: 'JobLeftQueueError', state: 'cancelled' } });
  });

  test('another process cancels a job we watch: state$ ends with cancelled, and transferred$ completes too', async () => {
    const ready = path.join(work, 'watch.ready');
    await rm(ready, { force: true });
    const watching = scenario('watch-until-gone');
    let id = '';
    for (let i = 0; i < 600 && id === ''; i++) {
      id = await readFile(ready, 'utf8').catch(() => '');
      if (id === '') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(id, 'the watching process never said it was ready').not.toBe('');
    await scenario('cancel-by-id', id);
    const { details } = await watching;
    expect(details?.states).toEqual(['suspended', 'cancelled']);
    expect(details?.transferredEnded).toBe(true);
  });

  test('complete() while a file is still coming: Wine 8 ends the job, as BITS does, and the subscription with it', async () => {
    const { details } = await scenario('partial-complete');
    expect(details).toMatchObject({ first: 'BG_S_PARTIAL_COMPLETE', a: sha256(content(1000)), heard: [] });
    if (wine.WINE_VERSION.startsWith('8.')) {
      expect(details).toMatchObject({ stateAfter: 'acknowledged', endedAtOnce: true });
    } else {
      // Wine's current dlls/qmgr/job.c keeps such a job until the rest arrive (the loopback's
      // keepsPartlyCompletedJobs); the subscription then stays. Either way the library follows it.
      expect([
        { stateAfter: 'acknowledged', endedAtOnce: true },
        { stateAfter: 'transferring', endedAtOnce: false },
        { stateAfter: 'transferred', endedAtOnce: false },
      ]).toContainEqual({ stateAfter: details?.stateAfter, endedAtOnce: details?.endedAtOnce });
    }
  });

  test('a transferred$ joining a hub attached for fileTransferred$ is told the transfer that already happened', async () => {
    const { details } = await scenario('late-transferred');
    expect(details).toEqual({ flags: 0x10, late: 'replay', complete: 'S_OK' });
  });

  test('a process that stops watching leaves alone the registration another process took since', async () => {
    for (const name of ['a.ready', 'b.ready', 'a.left']) await rm(path.join(work, name), { force: true });
    const a = scenario('watch-then-leave');
    const id = await waitForFile(path.join(work, 'a.ready'));
    const [first, second] = await Promise.all([a, scenario('take-over', id)]);
    // B asked for JobTransferred; A, leaving, neither disabled nor cleared it.
    expect(first.details).toEqual({ flagsAfterLeaving: 0x1 });
    expect(second.details).toEqual({ source: 'callback', complete: 'S_OK' });
  });

  test('another process takes the notify interface of a job watched with transferred$ alone: the first still hears the transfer', async () => {
    for (const name of ['displaced.ready', 'displaced.noticed', 'displaced.heard']) await rm(path.join(work, name), { force: true });
    const a = scenario('displaced-watcher');
    const id = await waitForFile(path.join(work, 'displaced.ready'));
    const [first, second] = await Promise.all([a, scenario('take-over-and-transfer', id)]);
    expect(first.details).toMatchObject({ source: 'backstop' });
    expect(first.details?.states).toContain('displaced');
    expect(second.details).toEqual({ source: 'callback', complete: 'S_OK' });
  });

  test("Wine's service process is killed while a job is watched with transferred$ alone: the stream ends instead of hanging", async () => {
    await rm(path.join(work, 'dies.ready'), { force: true });
    try {
      const watching = scenario('service-dies');
      await waitForFile(path.join(work, 'dies.ready'));
      const { stdout } = await run('pgrep', ['-f', 'svchost.exe']);
      const pids = stdout.trim().split('\n').filter(Boolean);
      expect(pids.length, 'no svchost.exe of Wine to kill').toBeGreaterThan(0);
      await run('kill', ['-9', ...pids]);
      const { details } = await watching;
      // Ended (the job gone) or errored (the service stayed away), never waiting: either way nothing was heard.
      if (details?.completed === true) expect(details).toMatchObject({ events: 0 });
      else expect(details).toMatchObject({ completed: false, error: 'ServiceUnavailableError' });
      expect(details?.states).toContain('reconnecting');
    } finally {
      await restartWine();
    }
  });

  test('a bad file spec makes no job: nothing is created, and nothing is left cancelled in the queue', async () => {
    const { details } = await scenario('bad-spec-makes-no-job');
    expect(details).toEqual({ created: 'files[1].localPath', downloaded: 'files[0].url', jobsMade: 0 });
  });

  test('fifty jobs at once', async () => {
    const { details } = await scenario('fifty-jobs');
    expect(details).toEqual({ completed: 50, distinctHashes: 1 });
  });

  test('the rx-bits CLI downloads a file (get --json) and exits by itself', async () => {
    const logFile = path.join(work, 'cli.log');
    const log = await open(logFile, 'w');
    const { code, signal } = await exited(
      spawn('timeout', ['120', wine.WINE, wine.NODE_EXE, path.join('node_modules', 'rx-bits', 'dist', 'cjs', 'cli', 'bin.js'), 'get', `${server.origin}/files/cli?size=77777`, toWindows(path.join(work, 'cli.bin')), '--json'], {
        cwd: app,
        env,
        stdio: ['ignore', log.fd, log.fd],
      }),
    );
    await log.close();
    const output = await readFile(logFile, 'utf8');
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    const last = JSON.parse(output.trim().split('\n').filter((line) => line.startsWith('{')).at(-1) ?? '{}') as { done?: { code: string } };
    expect(last.done?.code).toBe('S_OK');
    expect(sha256(await readFile(path.join(work, 'cli.bin')))).toBe(sha256(content(77777)));
  });

  test('a second process picks up (resumePending) the download a first one left, and completes it', async () => {
    const nonce = `${Date.now()}`;
    const first = await scenario('reattach-create', nonce);
    const second = await scenario('reattach-resume', nonce);
    expect(second.details).toMatchObject({ id: first.details?.id, name: 'e2e-' + nonce + ': reattach.bin', complete: 'S_OK' });
    expect(second.details?.sha256).toBe(sha256(content(20_000)));
  });

  test('the portable engine runs in Windows Node: a retried failure, the file in place, its state folder on Windows paths', async () => {
    const { details } = await scenario('portable-download');
    expect(details).toMatchObject({ backend: 'portable', reason: 'asked for', attempt: 2, complete: 'S_OK' });
    expect(details?.sha256).toBe(sha256(content(250_000)));
    const records = await readdir(path.join(work, 'portable-state', 'jobs'));
    expect(records, 'a completed job leaves no record').toEqual([]);
  });

  test('a job of the portable engine outlives its process: the next one brings it back and finishes it', async () => {
    const nonce = `${Date.now()}`;
    const first = await scenario('portable-leave', nonce);
    const second = await scenario('portable-resume', nonce);
    expect(second.details).toMatchObject({ id: first.details?.id, complete: 'S_OK' });
    expect(second.details?.sha256).toBe(sha256(content(20_000)));
  });
});
