import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { ComError, NotifyFlags, type BitsJob } from '../src/index.js';
import { closedPort, content } from './support/http-server.js';
import { Recorder, until, useLoopback } from './support/harness.js';

const h = useLoopback();

async function transferred(job: BitsJob): Promise<void> {
  await until(async () => (await job.getState()) === 'transferred');
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('manager', () => {
  test('createJob applies every option and answers a SUSPENDED job with the id CreateJob gave', async () => {
    const job = await h.bits.createJob({
      displayName: 'app-update',
      description: 'the 2.0 installer',
      priority: 'high',
      minimumRetryDelay: 60,
      noProgressTimeout: 3600,
      files: [{ url: h.server.url('/files/a'), localPath: h.local('a.bin') }],
    });
    expect(job.id).toMatch(/^[0-9A-F]{8}-/);
    expect(h.service.job(job.id)?.displayName).toBe('app-update');
    expect(await job.getState()).toBe('suspended');
    expect(await job.getType()).toBe('download');
    expect(await job.getDisplayName()).toBe('app-update');
    expect(await job.getDescription()).toBe('the 2.0 installer');
    expect(await job.getPriority()).toBe('high');
    expect(await job.getMinimumRetryDelay()).toBe(60);
    expect(await job.getNoProgressTimeout()).toBe(3600);
    expect(await job.getProgress()).toEqual({ bytesTotal: undefined, bytesTransferred: 0, filesTotal: 1, filesTransferred: 0 });
    await job.cancel();
    await job.release();
  });

  test('a bad file is refused before CreateJob: no job is made, not even a cancelled one', async () => {
    await expect(
      h.bits.createJob({ displayName: 'half-made', files: [{ url: h.server.url('/files/a'), localPath: 'relative.bin' }] }),
    ).rejects.toThrow(/files\[0\]\.localPath/);
    expect(h.service.calls('IBackgroundCopyManager::CreateJob')).toBe(0);
    expect(h.service.totalCalls()).toBe(0);
  });

  test('getJob opens the same job through a second reference; an unknown id is BG_E_NOT_FOUND', async () => {
    const job = await h.bits.createJob({ displayName: 'find-me' });
    const again = await h.bits.getJob(job.id.toLowerCase());
    expect(again.id).toBe(job.id);
    expect(await again.getDisplayName()).toBe('find-me');
    const missing = h.bits.getJob('00000000-0000-0000-0000-000000000001');
    await expect(missing).rejects.toBeInstanceOf(ComError);
    await expect(missing).rejects.toMatchObject({ code: 'BG_E_NOT_FOUND', interfaceName: 'IBackgroundCopyManager', method: 'GetJob' });
    await job.cancel();
    await Promise.all([job.release(), again.release()]);
  });

  test('jobs() enumerates, filters by display-name prefix and by id, and releases what it skips', async () => {
    const a = await h.bits.createJob({ displayName: 'myapp: a' });
    const b = await h.bits.createJob({ displayName: 'myapp: b' });
    const other = await h.bits.createJob({ displayName: 'other' });
    const all: string[] = [];
    for await (const job of h.bits.jobs()) {
      all.push(job.id);
      await job.release();
    }
    expect(all.sort()).toEqual([a.id, b.id, other.id].sort());
    const mine: string[] = [];
    for await (const job of h.bits.jobs({ displayNamePrefix: 'myapp:' })) {
      mine.push(await job.getDisplayName());
      await job.release();
    }
    expect(mine.sort()).toEqual(['myapp: a', 'myapp: b']);
    const byId: string[] = [];
    for await (const job of h.bits.jobs({ ids: [b.id] })) {
      byId.push(job.id);
      await job.release();
    }
    expect(byId).toEqual([b.id]);
    // Leaving the loop early releases the enumerator (the harness checks that nothing is left).
    for await (const job of h.bits.jobs()) {
      await job.release();
      break;
    }
    expect(h.service.calls('IBackgroundCopyManager::EnumJobs')).toBe(4);
    for (const job of [a, b, other]) {
      await job.cancel();
      await job.release();
    }
  });

  test('describe asks the service, and falls back to our table when it cannot answer', async () => {
    expect(await h.bits.describe(0x80200001)).toBe('The requested job was not found.');
    expect(await h.bits.describe(-2145386495)).toBe('The requested job was not found.');
    expect(await h.bits.describe(0x8badf00d)).toBe('Unknown error 0x8BADF00D');
    expect(h.service.calls('IBackgroundCopyManager::GetErrorDescription')).toBe(3);
  });
});

describe('job lifecycle', () => {
  test('HTTP download: resume, progress, files, times, complete puts the file in place', async () => {
    const job = await h.bits.createJob({ displayName: 'http', files: [{ url: h.server.url('/files/big?size=300000'), localPath: h.local('big.bin') }] });
    await job.resume();
    await transferred(job);
    expect(existsSync(h.local('big.bin'))).toBe(false); // files exist at their local names only after Complete
    expect(await job.getProgress()).toEqual({ bytesTotal: 300000, bytesTransferred: 300000, filesTotal: 1, filesTransferred: 1 });
    expect(await job.getFiles()).toEqual([
      { url: h.server.url('/files/big?size=300000'), localPath: h.local('big.bin'), bytesTotal: 300000, bytesTransferred: 300000, completed: true },
    ]);
    const times = await job.getTimes();
    expect(times.created).toBeInstanceOf(Date);
    expect(times.transferCompleted!.getTime()).toBeGreaterThanOrEqual(times.created!.getTime());
    expect(await job.getError()).toBeUndefined();
    expect(await job.complete()).toEqual({ hresult: 0, code: 'S_OK', partial: false, unableToDeleteFiles: false });
    expect(sha256(await readFile(h.local('big.bin')))).toBe(sha256(content(300000)));
    expect(await job.getState()).toBe('acknowledged');
    await job.release();
  });

  test('several files are added as one set (AddFileSet) and each arrives', async () => {
    await writeFile(h.local('source.txt'), 'local bytes');
    const job = await h.bits.createJob({ displayName: 'set' });
    await job.addFiles([
      { url: h.server.url('/files/one?size=10'), localPath: h.local('one.bin') },
      { url: `file://${h.local('source.txt')}`, localPath: h.local('copy.txt') },
      { url: h.local('source.txt'), localPath: h.local('copy2.txt') },
    ]);
    expect(h.service.calls('IBackgroundCopyJob::AddFileSet')).toBe(1);
    await job.addFile({ url: h.server.url('/files/two?size=20'), localPath: h.local('two.bin') });
    expect(h.service.calls('IBackgroundCopyJob::AddFile')).toBe(1);
    await job.resume();
    await transferred(job);
    await job.complete();
    expect(await readFile(h.local('copy.txt'), 'utf8')).toBe('local bytes');
    expect(await readFile(h.local('copy2.txt'), 'utf8')).toBe('local bytes');
    expect((await readFile(h.local('two.bin'))).length).toBe(20);
    await job.release();
  });

  test('resume with no files is BG_E_EMPTY; suspend parks the job; a cancelled job refuses Resume', async () => {
    const job = await h.bits.createJob({ displayName: 'states' });
    await expect(job.resume()).rejects.toMatchObject({ code: 'BG_E_EMPTY', method: 'Resume' });
    await job.addFile({ url: h.server.url('/slow/s?size=200000&chunk=1000&delay=10'), localPath: h.local('s.bin') });
    await job.resume();
    await until(async () => (await job.getProgress()).bytesTransferred > 0);
    await job.suspend();
    expect(await job.getState()).toBe('suspended');
    expect(await job.cancel()).toEqual({ hresult: 0, code: 'S_OK' });
    expect(await job.getState()).toBe('cancelled');
    await expect(job.resume()).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await h.service.settled();
    expect((await readdir(h.dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await job.release();
  });

  test('complete before everything arrived keeps what did: BG_S_PARTIAL_COMPLETE is a result', async () => {
    const job = await h.bits.createJob({
      displayName: 'partial',
      files: [
        { url: h.server.url('/files/fast?size=100'), localPath: h.local('fast.bin') },
        { url: h.server.url('/slow/slow?size=500000&chunk=1000&delay=20'), localPath: h.local('slow.bin') },
      ],
    });
    await job.resume();
    await until(async () => (await job.getProgress()).filesTransferred === 1);
    const result = await job.complete();
    expect(result).toMatchObject({ code: 'BG_S_PARTIAL_COMPLETE', partial: true });
    expect(existsSync(h.local('fast.bin'))).toBe(true);
    expect(existsSync(h.local('slow.bin'))).toBe(false);
    await job.release();
  });

  test('HTTP 404 is a fatal error with context, code, name, description and file', async () => {
    const job = await h.bits.createJob({ displayName: '404', files: [{ url: h.server.url('/status/404'), localPath: h.local('x.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    const error = await job.getError();
    expect(error).toMatchObject({
      context: 'remoteFile',
      hresult: 0x80190194,
      code: 'BG_E_HTTP_ERROR_404',
      description: 'The server answered HTTP 404.',
      protocol: 'http',
      file: { url: h.server.url('/status/404'), localPath: h.local('x.bin'), completed: false },
    });
    expect(error?.contextDescription).toMatch(/Remote file/);
    expect(await job.getErrorCount()).toBe(1);
    await job.cancel();
    await job.release();
  });

  test('HTTP 503 is transient: TRANSIENT_ERROR, then BITS retries after MinimumRetryDelay and succeeds', async () => {
    const job = await h.bits.createJob({
      displayName: 'flaky',
      minimumRetryDelay: 30, // 30 ms at the loopback's 1 ms per second
      files: [{ url: h.server.url('/flaky/f1?fail=2&status=503&size=1000'), localPath: h.local('f.bin') }],
    });
    await job.resume();
    await transferred(job);
    expect(await job.getErrorCount()).toBe(2);
    expect(h.server.requests('/flaky/f1')).toBe(3);
    await job.complete();
    await job.release();
  });

  test('a transient error is visible in state and GetError while BITS waits to retry', async () => {
    const job = await h.bits.createJob({
      displayName: 'waiting',
      minimumRetryDelay: 600_000,
      files: [{ url: h.server.url('/flaky/f2?fail=1&status=503&size=10'), localPath: h.local('f.bin') }],
    });
    await job.resume();
    await until(async () => (await job.getState()) === 'transientError');
    expect(await job.getError()).toMatchObject({ code: 'BG_E_HTTP_ERROR_503', context: 'remoteFile' });
    await job.resume(); // Resume() retries at once
    await transferred(job);
    await job.cancel();
    await job.release();
  });

  test('network disconnect is transient; NoProgressTimeout 0 makes every error fatal', async () => {
    h.service.faults.disconnects = 1;
    const job = await h.bits.createJob({ displayName: 'fatal', noProgressTimeout: 0, files: [{ url: h.server.url('/files/a'), localPath: h.local('a.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect(await job.getError()).toMatchObject({ code: 'BG_E_NETWORK_DISCONNECTED', context: 'generalTransport' });
    await job.resume(); // from ERROR, Resume retries
    await transferred(job);
    await job.cancel();
    await job.release();
  });

  test('a refused connection is a transient WinINet error', async () => {
    const job = await h.bits.createJob({
      displayName: 'refused',
      noProgressTimeout: 0,
      files: [{ url: `http://127.0.0.1:${await closedPort()}/nothing`, localPath: h.local('r.bin') }],
    });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect(await job.getError()).toMatchObject({ code: 'WININET_E_CANNOT_CONNECT', context: 'generalTransport' });
    await job.cancel();
    await job.release();
  });

  test('a missing local source and a missing target folder are fatal file errors', async () => {
    const job = await h.bits.createJob({ displayName: 'nofile', files: [{ url: h.local('absent.txt'), localPath: h.local('x.txt') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect(await job.getError()).toMatchObject({ code: 'ERROR_FILE_NOT_FOUND', context: 'remoteFile' });
    await job.cancel();
    await job.release();
    const nodir = await h.bits.createJob({ displayName: 'nodir', files: [{ url: h.server.url('/files/a'), localPath: h.local('no/such/dir/a.bin') }] });
    await nodir.resume();
    await until(async () => (await nodir.getState()) === 'error');
    expect(await nodir.getError()).toMatchObject({ code: 'ERROR_PATH_NOT_FOUND', context: 'localFile' });
    await nodir.cancel();
    await nodir.release();
  });

  test('properties round-trip through the service', async () => {
    const job = await h.bits.createJob({ displayName: 'props' });
    await job.setDisplayName('renamed');
    await job.setDescription('');
    await job.setPriority('foreground');
    await job.setMinimumRetryDelay(5);
    await job.setNoProgressTimeout(0);
    await job.setProxySettings({ usage: 'override', proxyList: 'http://proxy:8080', bypassList: '<local>' });
    expect(await job.getDisplayName()).toBe('renamed');
    expect(await job.getDescription()).toBe('');
    expect(await job.getPriority()).toBe('foreground');
    expect(await job.getMinimumRetryDelay()).toBe(5);
    expect(await job.getNoProgressTimeout()).toBe(0);
    expect(await job.getProxySettings()).toEqual({ usage: 'override', proxyList: 'http://proxy:8080', bypassList: '<local>' });
    await job.setProxySettings({ usage: 'preconfig' });
    expect(await job.getProxySettings()).toEqual({ usage: 'preconfig', proxyList: undefined, bypassList: undefined });
    expect(await job.getOwner()).toMatch(/^S-1-5-/);
    await job.takeOwnership();
    expect(h.service.calls('IBackgroundCopyJob::TakeOwnership')).toBe(1);
    await job.cancel();
    await job.release();
  });

  test('custom headers go with every request (IBackgroundCopyJobHttpOptions), and read back', async () => {
    const job = await h.bits.createJob({
      displayName: 'headers',
      headers: { Authorization: 'Bearer t0ken', 'X-Client': 'rx-bits' },
      files: [{ url: h.server.url('/files/h?size=10'), localPath: h.local('h.bin') }],
    });
    expect(await job.getCustomHeaders()).toEqual({ Authorization: 'Bearer t0ken', 'X-Client': 'rx-bits' });
    await job.resume();
    await transferred(job);
    expect(h.server.lastHeaders('/files/h')).toMatchObject({ authorization: 'Bearer t0ken', 'x-client': 'rx-bits' });
    await job.complete();
    await job.release();
  });

  test('notify flags and interface: defaults, set, clear', async () => {
    const job = await h.bits.createJob({ displayName: 'notify' });
    expect(await job.getNotifyFlags()).toBe(NotifyFlags.JobTransferred | NotifyFlags.JobError);
    await job.setNotifyFlags(NotifyFlags.JobModification | NotifyFlags.FileTransferred);
    expect(await job.getNotifyFlags()).toBe(0x18);
    expect(await job.hasNotifyInterface()).toBe(false);
    const recorder = new Recorder();
    await job.setNotifyInterface(recorder.callback);
    expect(await job.hasNotifyInterface()).toBe(true);
    await job.setNotifyInterface(null);
    expect(await job.hasNotifyInterface()).toBe(false);
    await job.cancel();
    await job.release();
    await recorder.dispose();
  });

  test('duplicate gives an independent reference; a released job says so by name', async () => {
    const job = await h.bits.createJob({ displayName: 'dup' });
    const copy = await job.duplicate();
    await job.release();
    await job.release(); // idempotent
    expect(job.released).toBe(true);
    await expect(job.getState()).rejects.toThrow(/GetState: this IBackgroundCopyJob reference was already released/);
    expect(await copy.getDisplayName()).toBe('dup');
    await copy.cancel();
    await copy.release();
  });

  test('cancel reports BG_S_UNABLE_TO_DELETE_FILES as a result', async () => {
    const job = await h.bits.createJob({ displayName: 'undeletable' });
    h.service.faults.unableToDeleteFiles = true;
    expect(await job.cancel()).toEqual({ hresult: 0x0020001a, code: 'BG_S_UNABLE_TO_DELETE_FILES' });
    await job.release();
  });
});
