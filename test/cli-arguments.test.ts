import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { parseCommandLine } from '../src/cli/command-line.js';
import { EXIT, main } from '../src/cli/main.js';
import { connect } from '../src/com/manager.js';
import { portableEngine } from '../src/engine/engine.js';
import { whenHubsIdle } from '../src/observables/hub.js';
import { startTestServer } from './support/http-server.js';
import { captureIo as capture } from './support/cli-io.js';
import { refusingRuntime, until } from './support/harness.js';

/**
 * The CLI's positional arguments (ids, URLs, local names) are checked with the library's own rules
 * before anything connects, and `get` leaves no job behind unless it completed it or was told to
 * leave it running (Ctrl-C, in cli.test.ts).
 */

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'src', 'cli', 'bin.ts');
const GUID = '4991D34B-80A1-4291-83B6-3328366B9097';

/** Runs bin.ts in a child process, resolving with its exit code and output whatever the code. */
function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** A folder of the test's own, removed after it. */
async function folder(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The jobs the portable engine in `stateDir` holds, as [display name, state]. */
async function portableJobs(stateDir: string): Promise<Array<[string, string]>> {
  const bits = await connect({ backend: 'portable', stateDir });
  const jobs: Array<[string, string]> = [];
  try {
    for await (const job of bits.jobs()) {
      try {
        jobs.push([await job.getDisplayName(), await job.getState()]);
      } finally {
        await job.release();
      }
    }
  } finally {
    await bits.release();
  }
  return jobs;
}

const usage = {
  get: 'Usage: rx-bits get <url> <file> [--backend <name>] [--state-dir <dir>] [--json]\n',
  watch: 'Usage: rx-bits watch <id> [--backend <name>] [--state-dir <dir>] [--json]\n',
  cancel: 'Usage: rx-bits cancel <id> [--backend <name>] [--state-dir <dir>] [--json]\n',
  complete: 'Usage: rx-bits complete <id> [--backend <name>] [--state-dir <dir>] [--json]\n',
} as const;

describe('ids, URLs and local names are checked before anything connects', () => {
  const url = 'https://example.com/x.bin';
  test.each([
    [['watch', 'not-a-guid'], /^rx-bits: <id>: 'not-a-guid' is not a GUID/],
    [['cancel', 'not-a-guid'], /^rx-bits: <id>: 'not-a-guid' is not a GUID/],
    [['complete', '123'], /^rx-bits: <id>: '123' is not a GUID/],
    [['watch', `{${GUID}`], /is not a GUID/],
    [['get', 'notaurl', '/tmp/x.bin'], /^rx-bits: <url>: 'notaurl' is neither a URL nor an absolute path/],
    [['get', 'ftp://example.com/x', '/tmp/x.bin'], /^rx-bits: <url>: scheme 'ftp' is not supported; use http, https or file/],
    [['get', 'https://user:secret@example.com/x', '/tmp/x.bin'], /^rx-bits: <url>: credentials in the URL/],
    [['get', url, ''], /^rx-bits: <file>: must not be empty/],
    [['get', url, '/tmp/downloads/'], /^rx-bits: <file>: '\/tmp\/downloads\/' names a directory; give the file name/],
    // Relative names are resolved against the working folder; one that names a folder stays one.
    [['get', url, 'downloads/'], /^rx-bits: <file>: '.*\/downloads\/' names a directory/],
    [['get', url, '.'], /^rx-bits: <file>: '.*\/' names a directory/],
    [['get', url, 'downloads/..'], /^rx-bits: <file>: '.*\/' names a directory/],
    [['get', url, `/tmp/${'x'.repeat(300)}`], /^rx-bits: <file>: is 305 characters long; the service allows at most 259/],
  ] as const)('%j exits 2 with the command\'s usage line and never connects', async (argv, message) => {
    const { runtime, connects } = refusingRuntime();
    const run = capture(runtime);
    const code = await main(argv, run.io);
    expect(run.err()).toMatch(message);
    expect(run.err().endsWith(usage[argv[0]])).toBe(true);
    expect(code).toBe(EXIT.usage);
    expect(connects.count).toBe(0);
  });

  test('with --json the refused argument is reported as JSON', async () => {
    const { runtime, connects } = refusingRuntime();
    const run = capture(runtime);
    expect(await main(['cancel', 'nope', '--json'], run.io)).toBe(EXIT.usage);
    expect(JSON.parse(run.err())).toEqual({ error: "<id>: 'nope' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", exitCode: EXIT.usage });
    expect(connects.count).toBe(0);
  });

  test('what the library takes passes: braced or lower-case ids, file: URLs and absolute source paths, relative file names', () => {
    expect(parseCommandLine(['watch', `{${GUID.toLowerCase()}}`])).toMatchObject({ command: 'watch', id: GUID });
    expect(parseCommandLine(['complete', GUID])).toMatchObject({ command: 'complete', id: GUID });
    expect(parseCommandLine(['get', 'http://example.com/a', 'a.bin'])).toMatchObject({ url: 'http://example.com/a', file: path.resolve('a.bin') });
    expect(parseCommandLine(['get', 'file:///srv/a', 'sub/a.bin'])).toMatchObject({ file: path.resolve('sub', 'a.bin') });
    expect(parseCommandLine(['get', '/srv/a', '/tmp/a..bin'])).toMatchObject({ url: '/srv/a', file: '/tmp/a..bin' });
  });

  test('a well-formed command line still connects (and reports what connecting answered)', async () => {
    const { runtime, connects } = refusingRuntime();
    const run = capture(runtime);
    expect(await main(['watch', GUID], run.io)).toBe(EXIT.service);
    expect(run.err()).toBe('rx-bits: the CLI connected\n');
    expect(connects.count).toBe(1);
  });

  test('while another process holds the state folder, or with --backend bits on Linux, a bad argument still exits 2', async () => {
    const stateDir = await folder('rx-bits-cli-held-');
    // This process holds the folder, as an application running beside the CLI would.
    const holder = await connect({ backend: 'portable', stateDir });
    onTestFinished(async () => {
      await holder.release();
      await whenHubsIdle();
      await (await portableEngine(stateDir)).close();
    });
    const held = ['--state-dir', stateDir];
    // The control: the folder is really held, a well-formed command cannot have it.
    const control = await runBin(['watch', GUID, ...held]);
    expect(control.stderr).toMatch(/is in use by process/);
    expect(control.code).toBe(EXIT.service);

    for (const [argv, message] of [
      [['watch', 'not-a-guid', ...held], "rx-bits: <id>: 'not-a-guid' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"],
      [['cancel', 'not-a-guid', ...held], "rx-bits: <id>: 'not-a-guid' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"],
      [['complete', '123', ...held], "rx-bits: <id>: '123' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"],
      [['get', 'notaurl', path.join(stateDir, 'x.bin'), ...held], "rx-bits: <url>: 'notaurl' is neither a URL nor an absolute path\n"],
      [['complete', '123', '--backend', 'bits'], "rx-bits: <id>: '123' is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n"],
    ] as const) {
      const got = await runBin([...argv]);
      expect({ argv, stderr: got.stderr, code: got.code }).toEqual({ argv, stderr: `${message}${usage[argv[0]]}`, code: EXIT.usage });
    }
  });
});

describe('get on the portable engine leaves nothing behind unless it completed', () => {
  /** A state folder and a downloads folder beside it, in a folder of the test's own; the engine closed after. */
  async function place() {
    const dir = await folder('rx-bits-cli-get-');
    const stateDir = path.join(dir, 'state');
    const downloads = path.join(dir, 'downloads');
    await mkdir(downloads);
    onTestFinished(async () => {
      await whenHubsIdle();
      await (await portableEngine(stateDir)).close();
    });
    return { dir, stateDir, downloads };
  }
  const temporaries = async (dir: string) => (await readdir(dir)).filter((name) => /^BIT.*\.tmp$/.test(name));

  test('get <url> <folder>/ is a usage error: no job is made, no temporary file written', async () => {
    const server = await startTestServer();
    onTestFinished(() => server.close());
    const { dir, stateDir, downloads } = await place();
    const run = capture();
    const code = await main(['get', server.url('/files/d?size=1000'), `${downloads}/`, '--backend', 'portable', '--state-dir', stateDir], run.io);
    expect(run.err()).toBe(`rx-bits: <file>: '${downloads}/' names a directory; give the file name\n${usage.get}`);
    expect(code).toBe(EXIT.usage);
    expect(await readdir(dir)).toEqual(['downloads']); // not even the state folder: nothing connected
    expect(await readdir(downloads)).toEqual([]);
  });

  test('a Complete the service refuses (the destination is a folder) exits 3 and cancels the job: no job, no BIT*.tmp', async () => {
    const server = await startTestServer();
    onTestFinished(() => server.close());
    const { dir, stateDir, downloads } = await place();
    const run = capture();
    // Without a trailing separator the name could be a file: only Complete finds the folder there.
    const code = await main(['get', server.url('/files/c?size=5000'), downloads, '--backend', 'portable', '--state-dir', stateDir], run.io);
    expect(run.err()).toMatch(/^rx-bits: IBackgroundCopyJob::Complete failed with E_ACCESSDENIED \(0x80070005\)/);
    expect(code).toBe(EXIT.service);
    expect(await portableJobs(stateDir)).toEqual([]);
    // The engine deletes a cancelled job's temporary files once its transfer has let go of them.
    await until(async () => (await temporaries(dir)).length === 0);
    expect(await readdir(downloads)).toEqual([]);
  });

  test('a failed job (HTTP 404) exits 1 and is cancelled too', async () => {
    const server = await startTestServer();
    onTestFinished(() => server.close());
    const { dir, stateDir } = await place();
    const run = capture();
    const code = await main(['get', server.url('/status/404'), path.join(dir, 'missing.bin'), '--backend', 'portable', '--state-dir', stateDir], run.io);
    expect(run.err()).toMatch(/^rx-bits: job .* failed with BG_E_HTTP_ERROR_404/);
    expect(code).toBe(EXIT.jobFailed);
    expect(await portableJobs(stateDir)).toEqual([]);
    await until(async () => (await temporaries(dir)).length === 0);
  });

  test('a completed get leaves its file and no job', async () => {
    const server = await startTestServer();
    onTestFinished(() => server.close());
    const { stateDir, downloads } = await place();
    const run = capture();
    const file = path.join(downloads, 'ok.bin');
    expect(await main(['get', server.url('/files/ok?size=3000'), file, '--backend', 'portable', '--state-dir', stateDir], run.io)).toBe(EXIT.ok);
    expect(run.out()).toMatch(new RegExp(`saved ${file}\\n$`));
    expect(await readdir(downloads)).toEqual(['ok.bin']);
    expect(await portableJobs(stateDir)).toEqual([]);
  });
});
