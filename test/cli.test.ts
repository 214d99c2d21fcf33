import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, onTestFinished, test } from 'vitest';
import { EXIT, main } from '../src/cli/main.js';
import { whenHubsIdle } from '../src/observables/hub.js';
import { content, startTestServer } from './support/http-server.js';
import { refusingRuntime, until, useLoopback } from './support/harness.js';
import { connect } from '../src/com/manager.js';
import { portableEngine } from '../src/engine/engine.js';
import { captureIo } from './support/cli-io.js';

const root = path.resolve(import.meta.dirname, '..');
const loopbackCli = path.join(root, 'test', 'support', 'cli-loopback.ts');

/** Runs a command, resolving with its exit code and output whatever the code. */
function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', loopbackCli, ...args]);

describe('the rx-bits CLI as a child process', () => {
  afterAll(async () => {
    for (const name of ['tty', 'json', '404', 'int']) await rm(`/tmp/rx-bits-cli-${process.pid}-${name}.bin`, { force: true });
  });

  test('on a pseudo-terminal, get draws a progress bar and saves the file', async () => {
    const file = `/tmp/rx-bits-cli-${process.pid}-tty.bin`;
    const command = `${process.execPath} --import tsx ${loopbackCli} get '{gate:t}?size=100000&head=40000' ${file}`;
    const { code, stdout } = await run('script', ['-qec', command, '/dev/null']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\r\[#{30}\] 100% 0\.1 MiB of 0\.1 MiB/);
    expect(stdout).toMatch(/\[#*\.+\] +\d+%/); // drawn in place while it ran
    expect(stdout).toContain(`saved ${file}`);
    expect(await readFile(file)).toEqual(content(100000));
  });

  test('--json prints one snapshot per line, the last with the completed job', async () => {
    const { code, stdout } = await cli('get', '{server}/files/j?size=5000', `/tmp/rx-bits-cli-${process.pid}-json.bin`, '--json');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { jobId: string; done?: { code: string } });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)?.done?.code).toBe('S_OK');
  });

  test('a failed job exits 1 with the named error (also as JSON)', async () => {
    const plain = await cli('get', '{server}/status/404', `/tmp/rx-bits-cli-${process.pid}-404.bin`);
    expect(plain.code).toBe(EXIT.jobFailed);
    expect(plain.stderr).toMatch(/^rx-bits: job .* failed with BG_E_HTTP_ERROR_404 \(0x80190194\)/);
    const json = await cli('get', '{server}/status/404', `/tmp/rx-bits-cli-${process.pid}-404.bin`, '--json');
    expect(JSON.parse(json.stderr)).toMatchObject({ exitCode: 1, error: expect.stringMatching(/BG_E_HTTP_ERROR_404/) });
  });

  test('a wrong command line exits 2 with a usage line on every system, before looking for BITS', async () => {
    const bare = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'bin.ts'), ...args]);
    const unknown = await bare('frob');
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toBe("rx-bits: unknown command 'frob'; commands: get, list, top, doctor, watch, cancel, complete\nUsage: rx-bits <command> [options]  (rx-bits --help lists them)\n");
    const missing = await bare('watch');
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toMatch(/^rx-bits: watch takes <id>; got none\nUsage: rx-bits watch <id> \[--backend <name>\] \[--state-dir <dir>\] \[--json\]\n$/);
    const option = await bare('list', '--frob');
    expect(option.code).toBe(EXIT.usage);
    expect(option.stderr).toMatch(/Unknown option '--frob'[\s\S]*Usage: rx-bits list \[--state/);
  });

  test('usage errors exit 2; asked for BITS where there is none (not Windows, nothing injected) the CLI exits 4 and says why', async () => {
    expect((await cli('frobnicate')).code).toBe(EXIT.usage);
    expect((await cli('get', 'only-one-argument')).code).toBe(EXIT.usage);
    expect((await cli('list', '--backend', 'carrier-pigeon')).code).toBe(EXIT.usage);
    expect((await cli('get', 'ftp://example.com/x', '/tmp/x')).stderr).toMatch(/^rx-bits: <url>: scheme 'ftp' is not supported.*\nUsage: rx-bits get <url> <file> /);
    const bare = await run(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'bin.ts'), 'list', '--backend', 'bits']);
    expect(bare.code).toBe(EXIT.unsupported);
    expect(bare.stderr).toMatch(/Windows services; this process runs on 'linux'/);
  });

  test('on Linux, get and list run the portable engine: a real download, and the job listed until completed', async () => {
    const server = await startTestServer();
    const stateDir = await mkdtemp(path.join(tmpdir(), 'rx-bits-cli-state-'));
    try {
      const bare = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'bin.ts'), ...args, '--state-dir', stateDir]);
      const file = path.join(stateDir, 'got.bin');
      const got = await bare('get', server.url('/files/cli?size=70000'), file);
      expect(got.stderr).toBe('');
      expect(got.code).toBe(EXIT.ok);
      expect(got.stdout).toContain(`saved ${file}`);
      expect(await readFile(file)).toEqual(content(70000));
      // get completed its job: nothing is left to list.
      const listed = await bare('list', '--json');
      expect(listed.code).toBe(EXIT.ok);
      expect(listed.stdout).toBe('');
    } finally {
      await server.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  test('on the portable engine, watch, complete and cancel work on jobs an application left in the state folder', async () => {
    const server = await startTestServer();
    const stateDir = await mkdtemp(path.join(tmpdir(), 'rx-bits-cli-state-'));
    try {
      // An application made two jobs and went away (its engine closed, the folder free again).
      const app = await connect({ backend: 'portable', stateDir });
      const kept = await app.createJob({ displayName: 'app: kept', files: [{ url: server.url('/files/kept?size=30000'), localPath: path.join(stateDir, 'kept.bin') }] });
      const dropped = await app.createJob({ displayName: 'app: dropped' });
      const [keptId, droppedId] = [kept.id, dropped.id];
      await kept.resume();
      await Promise.all([kept.release(), dropped.release(), app.release()]);
      await whenHubsIdle();
      await (await portableEngine(stateDir)).close();

      const bare = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'bin.ts'), ...args, '--state-dir', stateDir]);
      const watched = await bare('watch', keptId);
      expect(watched.stderr).toBe('');
      expect(watched.code).toBe(EXIT.ok);
      expect(watched.stdout).toMatch(/transferred\n/);
      expect((await bare('complete', keptId)).stdout).toBe(`completed ${keptId} (S_OK)\n`);
      expect(await readFile(path.join(stateDir, 'kept.bin'))).toEqual(content(30000));
      expect(JSON.parse((await bare('cancel', droppedId, '--json')).stdout)).toEqual({ id: droppedId, hresult: 0, code: 'S_OK' });
      expect((await bare('list')).stdout).toBe('');
    } finally {
      await server.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  test('Ctrl-C leaves the job in the service and says how to pick it up', async () => {
    // The child's service keeps the job's temporary file: in a folder of the test's own, removed after.
    const folder = await mkdtemp(path.join(tmpdir(), 'rx-bits-cli-int-'));
    onTestFinished(() => rm(folder, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', 'tsx', loopbackCli, 'get', '{server}/slow/i?size=2000000&chunk=1000&delay=10', path.join(folder, 'int.bin')], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await until(() => stdout.includes('%'));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(EXIT.interrupted);
    expect(stderr).toMatch(/interrupted; the job goes on in the service\. Pick it up with: rx-bits watch [0-9A-F-]{36}, then rx-bits complete [0-9A-F-]{36}/);
  });
});

describe('the command line is checked before anything connects', () => {
  const { runtime, connects } = refusingRuntime();
  const io = () => captureIo(runtime);

  test.each([
    [['frob'], /unknown command 'frob'/],
    [[], /no command given/],
    [['get', 'https://example.com/x'], /get takes <url> <file>; got 'https:\/\/example\.com\/x'/],
    [['list', 'extra'], /list takes no arguments; got 'extra'/],
    [['cancel', 'a', 'b'], /cancel takes <id>; got 'a' 'b'/],
    [['list', '--state', 'finished'], /--state: unknown state 'finished'; expected one of queued, connecting/],
    [['list', '--state'], /Option '--state <value>' argument missing/],
    [['watch', 'x', '--all-users'], /watch takes no option '--all-users'/],
    [['complete', 'x', '--name-prefix', 'a'], /complete takes no option '--name-prefix'/],
    [['list', '--backend', 'carrier-pigeon'], /--backend: unknown backend 'carrier-pigeon'/],
    [['get', '--json'], /get takes <url> <file>/],
  ])('%j is a usage error', async (argv, message) => {
    const { io: streams, err } = io();
    connects.count = 0;
    expect(await main(argv, streams)).toBe(EXIT.usage);
    expect(err()).toMatch(message);
    expect(connects.count).toBe(0);
  });

  test('with --json a usage error is JSON too', async () => {
    const { io: streams, err } = io();
    expect(await main(['frob', '--json'], streams)).toBe(EXIT.usage);
    expect(JSON.parse(err())).toEqual({ error: "unknown command 'frob'; commands: get, list, top, doctor, watch, cancel, complete", exitCode: EXIT.usage });
  });

  test('--help lists every command and option and exits 0', async () => {
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    expect(await main(['--help'], { ...io().io, stdout })).toBe(EXIT.ok);
    for (const word of ['get <url> <file>', 'list', 'watch <id>', 'cancel <id>', 'complete <id>', '--state', '--name-prefix', '--all-users', '--backend', '--json']) {
      expect(text).toContain(word);
    }
    expect(connects.count).toBe(0);
  });
});

describe('list, watch, cancel, complete', () => {
  const h = useLoopback();
  const capture = () => captureIo(h.service.runtime);

  test('list shows the jobs; watch follows one to TRANSFERRED; complete and cancel report their results', async () => {
    const job = await h.bits.createJob({ displayName: 'rx-bits: w.bin', files: [{ url: h.server.url('/slow/w?size=20000&chunk=2000&delay=5'), localPath: h.local('w.bin') }] });
    const other = await h.bits.createJob({ displayName: 'other' });
    const list = capture();
    expect(await main(['list', '--json'], list.io)).toBe(EXIT.ok);
    const listed = list.out().trim().split('\n').map((line) => JSON.parse(line) as { id: string; name: string; state: string });
    expect(listed.map((j) => [j.name, j.state]).sort()).toEqual([['other', 'suspended'], ['rx-bits: w.bin', 'suspended']]);

    await job.resume();
    const watch = capture();
    expect(await main(['watch', job.id], watch.io)).toBe(EXIT.ok);
    expect(watch.out()).toMatch(/transferred\n/);

    const complete = capture();
    expect(await main(['complete', job.id], complete.io)).toBe(EXIT.ok);
    expect(complete.out()).toBe(`completed ${job.id} (S_OK)\n`);
    expect(await readFile(h.local('w.bin'))).toEqual(content(20000));

    const cancel = capture();
    expect(await main(['cancel', other.id, '--json'], cancel.io)).toBe(EXIT.ok);
    expect(JSON.parse(cancel.out())).toEqual({ id: other.id, hresult: 0, code: 'S_OK' });

    const missing = capture();
    expect(await main(['complete', '00000000-0000-0000-0000-000000000000'], missing.io)).toBe(EXIT.service);
    expect(missing.err()).toMatch(/BG_E_NOT_FOUND/);
    await whenHubsIdle();
    await Promise.all([job.release(), other.release()]);
  });

  test('list --state and --name-prefix show only the jobs asked for', async () => {
    const a = await h.bits.createJob({ displayName: 'myapp: a' });
    const b = await h.bits.createJob({ displayName: 'myapp: b', files: [{ url: h.server.url('/status/404'), localPath: h.local('b.bin') }] });
    const c = await h.bits.createJob({ displayName: 'other: c' });
    await b.resume();
    await until(async () => (await b.getState()) === 'error');
    const listed = async (...argv: string[]) => {
      const list = capture();
      expect(await main(['list', '--json', ...argv], list.io)).toBe(EXIT.ok);
      return list.out().trim().split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { name: string }).name).sort();
    };
    expect(await listed('--name-prefix', 'myapp: ')).toEqual(['myapp: a', 'myapp: b']);
    expect(await listed('--state', 'error')).toEqual(['myapp: b']);
    expect(await listed('--state', 'suspended,error')).toEqual(['myapp: a', 'myapp: b', 'other: c']);
    expect(await listed('--state', 'suspended', '--state', 'transferred', '--name-prefix', 'other')).toEqual(['other: c']);
    expect(await listed('--state', 'transferring')).toEqual([]);
    for (const job of [a, b, c]) await job.cancel();
    await Promise.all([a.release(), b.release(), c.release()]);
  });

  test("list shows only this user's jobs; --all-users needs an elevated process and then shows every owner", async () => {
    const mine = await h.bits.createJob({ displayName: 'mine' });
    const colleague = { user: 'S-1-5-21-1004336348-1177238915-682003330-1001', elevated: false };
    const theirs = await connect({ runtime: h.service.process('colleague', colleague).runtime });
    const their = await theirs.createJob({ displayName: 'theirs' });

    const plain = capture();
    expect(await main(['list'], plain.io)).toBe(EXIT.ok);
    expect(plain.out()).toContain('mine');
    expect(plain.out()).not.toContain('theirs');

    const denied = capture();
    expect(await main(['list', '--all-users'], denied.io)).toBe(EXIT.service);
    expect(denied.err()).toMatch(/^rx-bits: --all-users needs an elevated process \(run it from an administrator prompt\); the service answered .*E_ACCESSDENIED \(0x80070005\)/);

    const admin = { user: 'S-1-5-21-1004336348-1177238915-682003330-500', elevated: true };
    const elevated = capture();
    const adminRuntime = h.service.process('admin', admin).runtime;
    expect(await main(['list', '--all-users', '--json'], { ...elevated.io, runtime: adminRuntime })).toBe(EXIT.ok);
    const rows = elevated.out().trim().split('\n').map((line) => JSON.parse(line) as { name: string; owner: string });
    expect(rows.map(({ name, owner }) => [name, owner]).sort()).toEqual([
      ['mine', 'S-1-5-21-1004336348-1177238915-682003330-1000'],
      ['theirs', colleague.user],
    ]);
    await their.cancel();
    await mine.cancel();
    await Promise.all([mine.release(), their.release()]);
    await theirs.release();
  });
});
