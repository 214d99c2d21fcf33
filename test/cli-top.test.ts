import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { EXIT, main } from '../src/cli/main.js';
import { BROWSE, onKey, type Key, type KeyMode, type SelectedJob } from '../src/cli/top-keys.js';
import {
  fit,
  formatBytes,
  formatEta,
  progressBar,
  renderTopScreen,
  snapshotTable,
  textWidth,
  type TopRow,
  type TopView,
} from '../src/cli/top-screen.js';
import { LEAVE_SCREEN } from '../src/cli/top.js';
import { connect } from '../src/com/manager.js';
import { PortableEngine } from '../src/engine/engine.js';
import { whenHubsIdle } from '../src/observables/hub.js';
import { FAST, useEngine } from './support/engine-harness.js';
import { until, useLoopback } from './support/harness.js';
import { content, startTestServer, type TestServer } from './support/http-server.js';

const root = path.resolve(import.meta.dirname, '..');
const loopbackCli = path.join(root, 'test', 'support', 'cli-loopback.ts');
const bin = path.join(root, 'src', 'cli', 'bin.ts');
const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

// ---------------------------------------------------------------------------------------------
// The screen, as text

const row = (overrides: Partial<TopRow> = {}): TopRow => ({
  id: '0123ABCD-0000-0000-0000-000000000000',
  name: 'myapp: setup.exe',
  state: 'transferring',
  progress: { bytesTotal: 4 * 2 ** 20, bytesTransferred: 2 ** 20, filesTotal: 1, filesTransferred: 0 },
  rate: 512 * 1024,
  eta: 6,
  error: undefined,
  ...overrides,
});
const view = (rows: TopRow[], overrides: Partial<TopView> = {}): TopView => ({
  backend: 'portable engine',
  allUsers: false,
  rows,
  selected: 0,
  offset: 0,
  status: undefined,
  ...overrides,
});
const many = (n: number) => Array.from({ length: n }, (_, i) => row({ id: `${String(i).padStart(8, '0')}-0000-0000-0000-000000000000`, name: `job ${i}` }));

describe('renderTopScreen', () => {
  test('one line per job: id, state, bar, percent, bytes, rate, ETA, error code, name; the selected one marked', () => {
    const failed = row({
      id: 'FEEDBEEF-0000-0000-0000-000000000000',
      name: 'other',
      state: 'error',
      rate: undefined,
      eta: undefined,
      error: { hresult: 0x80190194, code: 'BG_E_HTTP_ERROR_404', description: 'Not found.', transient: false },
    });
    const { lines, highlight } = renderTopScreen(view([row(), failed], { selected: 1 }), 120, 10);
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('rx-bits top - portable engine - this user - 2 jobs: 1 transferring, 1 error');
    expect(lines[1]).toMatch(/^ {2}ID +STATE +PROGRESS +% BYTES +RATE +ETA +ERROR +NAME$/);
    expect(lines[2]).toMatch(/^ {2}0123ABCD transferring +\[#+\.+\] +25% 1\.0M\/4\.0M +512K\/s +6s +myapp: setup\.exe$/);
    expect(lines[3]).toMatch(/^> FEEDBEEF error +\[#+\.+\] +25% .* - +- +BG_E_HTTP_ERROR_404 other$/);
    expect(highlight).toBe(3);
    // The selected job in full, the status line, the keys.
    expect(lines[7]).toBe('FEEDBEEF-0000-0000-0000-000000000000  "other"  error BG_E_HTTP_ERROR_404 (0x80190194): Not found.');
    expect(lines[9]).toMatch(/^Up\/Down j\/k move +s suspend +r resume +c cancel +x complete +q quit$/);
  });

  test('no line is wider than the terminal or more than its height, whatever the size', () => {
    const rows = [...many(30), row({ name: '名前の長いジョブ 🚀 '.repeat(10), owner: 'DOMAIN\\someone' })];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 250 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 29 }), (width, height, selected) => {
        const { lines, highlight } = renderTopScreen(view(rows, { selected, status: 'x'.repeat(300) }), width, height);
        expect(lines.length).toBeLessThanOrEqual(height);
        for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(width);
        // Whenever a row fits at all, the selected one is among those shown.
        if (height >= 6) {
          expect(lines.length).toBe(height);
          expect(renderTopScreen(view(rows, { selected }), 250, height).lines[highlight!]).toContain(`job ${selected}`);
        }
      }),
    );
  });

  test('cut text ends with ~; wide characters count two cells; control characters never reach the terminal', () => {
    expect(fit('abcdef', 4)).toBe('abc~');
    expect(fit('abc', 3)).toBe('abc');
    expect(textWidth('日本')).toBe(4);
    expect(fit('日本語', 5)).toBe('日本~');
    const { lines } = renderTopScreen(view([row({ name: 'evil\x1b[2Jname\x07' })]), 120, 8);
    expect(lines.join('\n')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(lines[2]).toContain('evil?[2Jname?');
  });

  test('scrolls only as far as keeps the selected row in view, and says which rows are shown', () => {
    const rows = many(20);
    const height = 10; // 5 rows
    let frame = renderTopScreen(view(rows, { selected: 2 }), 100, height);
    expect(frame.offset).toBe(0);
    expect(frame.lines[0]).toContain('[rows 1-5 of 20]');
    frame = renderTopScreen(view(rows, { selected: 7, offset: frame.offset }), 100, height);
    expect(frame.offset).toBe(3);
    expect(frame.lines[2]).toContain('job 3');
    expect(frame.lines[frame.highlight!]).toContain('job 7');
    // Moving back up inside the window does not scroll.
    frame = renderTopScreen(view(rows, { selected: 4, offset: frame.offset }), 100, height);
    expect(frame.offset).toBe(3);
    frame = renderTopScreen(view(rows, { selected: 19, offset: frame.offset }), 100, height);
    expect(frame.offset).toBe(15);
    expect(frame.lines[0]).toContain('[rows 16-20 of 20]');
    // Rows that went away: the window does not hang past the end.
    frame = renderTopScreen(view(many(6), { selected: 5, offset: 15 }), 100, height);
    expect(frame.offset).toBe(1);
  });

  test('no jobs, and an unknown total', () => {
    const empty = renderTopScreen(view([]), 80, 8);
    expect(empty.lines[0]).toContain('0 jobs');
    expect(empty.lines[2]).toContain('no jobs');
    expect(empty.highlight).toBeUndefined();
    const unknown = renderTopScreen(view([row({ state: 'connecting', progress: { bytesTotal: undefined, bytesTransferred: 0, filesTotal: 1, filesTransferred: 0 } })]), 100, 8);
    expect(unknown.lines[2]).toMatch(/connecting +\[\.+\] +\?% 0B\/\? +- +- /);
  });

  test('bars, sizes and times', () => {
    expect(progressBar(0, 10)).toBe('[..........]');
    expect(progressBar(0.45, 10)).toBe('[####......]');
    expect(progressBar(1, 10)).toBe('[##########]');
    expect(progressBar(undefined, 4)).toBe('[....]');
    expect(progressBar(7, 4)).toBe('[####]');
    expect([0, 1023, 1024, 10 * 1024 + 512, 99.96 * 1024, 1023.9 * 1024, 5 * 2 ** 30].map(formatBytes)).toEqual(['0B', '1023B', '1.0K', '10.5K', '100K', '1023K', '5.0G']);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(formatBytes(n).length).toBeLessThanOrEqual(5);
      }),
    );
    expect([undefined, Number.NaN, -1, 0, 44.2, 60, 723, 3600 * 2 + 300, 86_400 * 3 + 3600 * 4, 86_400 * 200].map(formatEta)).toEqual([
      '-', '-', '-', '0s', '45s', '1m00s', '12m03s', '2h05m', '3d04h', '>99d',
    ]);
  });

  test('the snapshot table is cut nowhere', () => {
    const lines = snapshotTable([row({ name: 'n'.repeat(300) })]);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('n'.repeat(300));
    expect(lines[1]).toContain(`[${'#'.repeat(5)}${'.'.repeat(15)}]`);
  });
});

describe('the keys', () => {
  const job: SelectedJob = { id: 'AAAAAAAA-0000-0000-0000-000000000000', name: 'big.iso', state: 'transferring' };
  const press = (mode: KeyMode, key: Key, selected: SelectedJob | undefined = job) => onKey(mode, key, selected, 10);
  const k = (sequence: string, extra: Partial<Key> = {}): Key => ({ name: sequence.toLowerCase(), sequence, ...extra });

  test('move, page, first and last', () => {
    expect(press(BROWSE, k('j')).command).toEqual({ kind: 'move', by: 1 });
    expect(press(BROWSE, { name: 'down', sequence: '\x1b[B' }).command).toEqual({ kind: 'move', by: 1 });
    expect(press(BROWSE, k('k')).command).toEqual({ kind: 'move', by: -1 });
    expect(press(BROWSE, { name: 'up', sequence: '\x1b[A' }).command).toEqual({ kind: 'move', by: -1 });
    expect(press(BROWSE, { name: 'pagedown' }).command).toEqual({ kind: 'move', by: 10 });
    expect(press(BROWSE, { name: 'pageup' }).command).toEqual({ kind: 'move', by: -10 });
    expect(press(BROWSE, k('g')).command).toEqual({ kind: 'moveTo', to: 'first' });
    expect(press(BROWSE, k('G', { shift: true })).command).toEqual({ kind: 'moveTo', to: 'last' });
    expect(press(BROWSE, { name: 'end' }).command).toEqual({ kind: 'moveTo', to: 'last' });
  });

  test('suspend and resume act at once; q and Ctrl-C quit; other keys do nothing', () => {
    expect(press(BROWSE, k('s'))).toMatchObject({ mode: BROWSE, command: { kind: 'act', action: 'suspend', job } });
    expect(press(BROWSE, k('r'))).toMatchObject({ mode: BROWSE, command: { kind: 'act', action: 'resume', job } });
    expect(press(BROWSE, k('q')).command).toEqual({ kind: 'quit' });
    expect(press(BROWSE, { name: 'c', sequence: '\x03', ctrl: true }).command).toEqual({ kind: 'quit' });
    expect(press(BROWSE, { name: 'l', sequence: '\x0c', ctrl: true }).command).toEqual({ kind: 'redraw' });
    expect(press(BROWSE, k('S', { shift: true }))).toEqual({ mode: BROWSE });
    expect(press(BROWSE, k('z'))).toEqual({ mode: BROWSE });
    expect(onKey(BROWSE, k('s'), undefined, 10)).toEqual({ mode: BROWSE, status: 'no job selected' });
  });

  test('cancel asks first, about the job selected when asked; only y goes on', () => {
    const asked = press(BROWSE, k('c'));
    expect(asked.command).toBeUndefined();
    expect(asked.mode).toEqual({ kind: 'confirm', action: 'cancel', job });
    expect(asked.status).toBe('Cancel "big.iso" (AAAAAAAA)? Its downloaded data is deleted. y/n');
    // Another row selected meanwhile: the answer still goes to the job asked about.
    const other = { ...job, id: 'BBBBBBBB-0000-0000-0000-000000000000' };
    expect(press(asked.mode, k('y'), other)).toMatchObject({ mode: BROWSE, command: { kind: 'act', action: 'cancel', job } });
    expect(press(asked.mode, k('Y', { shift: true }))).toMatchObject({ command: { kind: 'act', action: 'cancel' } });
    for (const no of [k('n'), k('c'), k('q'), { name: 'escape', sequence: '\x1b' }, { name: 'return', sequence: '\r' }]) {
      const answer = press(asked.mode, no);
      expect(answer.command).toBeUndefined();
      expect(answer.mode).toEqual(BROWSE);
      expect(answer.status).toBe('not cancelled: "big.iso" (AAAAAAAA)');
    }
    expect(press(asked.mode, { name: 'c', sequence: '\x03', ctrl: true }).command).toEqual({ kind: 'quit' });
  });

  test('complete: at once when transferred, else asks (completing early keeps only what arrived)', () => {
    expect(press(BROWSE, k('x'), { ...job, state: 'transferred' })).toMatchObject({ mode: BROWSE, command: { kind: 'act', action: 'complete' } });
    const asked = press(BROWSE, k('x'));
    expect(asked.mode).toEqual({ kind: 'confirm', action: 'complete', job });
    expect(asked.status).toMatch(/^Complete "big\.iso" \(AAAAAAAA\) now\? It is transferring: only the files that arrived are kept\. y\/n$/);
    expect(press(asked.mode, k('y')).command).toEqual({ kind: 'act', action: 'complete', job });
    expect(press(asked.mode, k('n')).status).toBe('not completed: "big.iso" (AAAAAAAA)');
  });
});

// ---------------------------------------------------------------------------------------------
// In this process, with fake terminal streams: the library's leak checks run after each test

/** A terminal's two ends as streams: keys go in through `press`, the frames come out in `text()`. */
function fakeTerminal(columns = 120, rows = 16) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[], setRawMode(mode: boolean) {
    stdin.raw.push(mode);
    return stdin;
  } });
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns, rows });
  let text = '';
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const stderr = new PassThrough();
  let errors = '';
  stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  return { stdin, stdout, stderr, text: () => text, errors: () => errors, press: (keys: string) => stdin.write(keys) };
}

/** The last whole frame drawn, as lines of text (escape sequences taken out). */
function screen(output: string): string[] {
  const frames = [...output.matchAll(/\x1b\[\?2026h([\s\S]*?)\x1b\[\?2026l/g)];
  const frame = frames.at(-1)?.[1] ?? '';
  const lines: string[] = [];
  for (const [, row, text] of frame.matchAll(/\x1b\[(\d+);1H((?:(?!\x1b\[\d+;1H)[\s\S])*)/g)) {
    lines[Number(row) - 1] = text!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trimEnd();
  }
  return Array.from(lines, (line) => line ?? '');
}
const rowOf = (lines: string[], name: string) => lines.find((line) => line.endsWith(name) && /^[> ] [0-9A-F]{8} /.test(line));
const selectedOf = (lines: string[]) => lines.find((line) => line.startsWith('> '));

/** Moves the selection to the row named `name`, one key at a time, each time waiting for the screen. */
async function select(output: () => string, press: (keys: string) => unknown, name: string): Promise<void> {
  for (;;) {
    const lines = screen(output());
    const selected = selectedOf(lines);
    if (selected?.endsWith(name)) return;
    const target = lines.findIndex((line) => line === rowOf(lines, name));
    const here = lines.findIndex((line) => line === selected);
    expect(target, `no row for ${name}`).toBeGreaterThanOrEqual(0);
    press(target > here ? 'j' : 'k');
    await until(() => selectedOf(screen(output())) !== selected);
  }
}

describe('top in this process (portable engine), with the engine harness checking for leaks', () => {
  const h = useEngine();

  test('rows follow the jobs; s, r, c+y and x act through the job; q quits, restoring the terminal and releasing everything', async () => {
    const held = await h.bits.createJob({ displayName: 'held', files: [{ url: h.server.url('/gate/held?size=100000&head=30000'), localPath: h.local('held.bin') }] });
    const idle = await h.bits.createJob({ displayName: 'idle', files: [{ url: h.server.url('/files/idle?size=1000'), localPath: h.local('idle.bin') }] });
    const done = await h.bits.createJob({ displayName: 'done', files: [{ url: h.server.url('/files/done?size=3000'), localPath: h.local('done.bin') }] });
    await held.resume();
    await done.resume();
    await until(async () => (await done.getState()) === 'transferred');
    const term = fakeTerminal();
    const exit = main(['top', '--backend', 'portable'], { stdin: term.stdin, stdout: term.stdout, stderr: term.stderr, interrupted: new Promise(() => undefined), runtime: h.engine.runtime });
    await until(() => {
      const lines = screen(term.text());
      return /transferring +\[#+\.+\] +30%/.test(rowOf(lines, 'held') ?? '') && /suspended/.test(rowOf(lines, 'idle') ?? '') && /transferred .*100%/.test(rowOf(lines, 'done') ?? '');
    });
    expect(term.stdin.raw).toEqual([true]);
    expect(term.text().startsWith('\x1b[?1049h\x1b[?25l')).toBe(true);

    await select(term.text, term.press, 'held');
    term.press('s');
    await until(() => /suspended/.test(rowOf(screen(term.text()), 'held') ?? ''));
    expect(await held.getState()).toBe('suspended');
    term.press('r');
    await until(async () => (await held.getState()) !== 'suspended' && /transferring|connecting|queued/.test(rowOf(screen(term.text()), 'held') ?? ''));

    await select(term.text, term.press, 'idle');
    term.press('c');
    await until(() => screen(term.text()).includes(`Cancel "idle" (${idle.id.slice(0, 8)})? Its downloaded data is deleted. y/n`));
    term.press('y');
    await until(() => screen(term.text()).some((line) => line.startsWith(`cancelled "idle" (${idle.id.slice(0, 8)})`)));
    expect(await idle.getState()).toBe('cancelled');

    await select(term.text, term.press, 'done');
    term.press('x');
    await until(() => screen(term.text()).some((line) => line.startsWith(`completed "done"`)));
    expect(await readFile(h.local('done.bin'))).toEqual(content(3000));

    // Cancelled and completed jobs leave the queue, and the screen at the next walk of the list.
    await until(() => rowOf(screen(term.text()), 'idle') === undefined && rowOf(screen(term.text()), 'done') === undefined);
    // A job created meanwhile shows up at a walk of the list.
    const late = await h.bits.createJob({ displayName: 'late' });
    await until(() => /suspended/.test(rowOf(screen(term.text()), 'late') ?? ''));

    term.press('q');
    expect(await exit).toBe(EXIT.ok);
    expect(term.stdin.raw).toEqual([true, false]);
    expect(term.text().endsWith(LEAVE_SCREEN)).toBe(true);
    expect(term.errors()).toBe('');
    h.server.open('held');
    await held.cancel();
    await late.cancel();
    await Promise.all([held.release(), idle.release(), done.release(), late.release()]);
  });

  test('an action the service refuses shows on the status line with its HRESULT; top goes on', async () => {
    const job = await h.bits.createJob({ displayName: 'refused' });
    const term = fakeTerminal();
    const exit = main(['top', '--backend', 'portable'], { stdin: term.stdin, stdout: term.stdout, stderr: term.stderr, interrupted: new Promise(() => undefined), runtime: h.engine.runtime });
    await until(() => /suspended/.test(rowOf(screen(term.text()), 'refused') ?? ''));
    // A job with no files cannot be resumed.
    term.press('r');
    await until(() => screen(term.text()).some((line) => /^could not resume "refused" \(\w{8}\): .*BG_E_EMPTY \(0x8020/.test(line)));
    expect(rowOf(screen(term.text()), 'refused')).toMatch(/suspended/);
    term.press('\x03');
    expect(await exit).toBe(EXIT.ok);
    expect(term.text().endsWith(LEAVE_SCREEN)).toBe(true);
    await job.cancel();
    await job.release();
  });

  test('resized, it draws again to the new size; interrupted from outside (SIGINT), it restores the terminal and exits 130', async () => {
    const jobs = await Promise.all(Array.from({ length: 12 }, (_, i) => h.bits.createJob({ displayName: `job ${String(i).padStart(2, '0')}` })));
    const term = fakeTerminal(120, 30);
    let interrupt!: () => void;
    const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
    const exit = main(['top', '--backend', 'portable'], { stdin: term.stdin, stdout: term.stdout, stderr: term.stderr, interrupted, runtime: h.engine.runtime });
    await until(() => screen(term.text()).filter((line) => /^[> ] [0-9A-F]{8} suspended/.test(line)).length === 12);
    Object.assign(term.stdout, { columns: 50, rows: 10 });
    term.stdout.emit('resize');
    await until(() => screen(term.text()).length === 10);
    const lines = screen(term.text());
    expect(lines[0]).toMatch(/\[rows 1-5 of 12\]|~$/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(50);
    interrupt();
    expect(await exit).toBe(EXIT.interrupted);
    expect(term.text().endsWith(LEAVE_SCREEN)).toBe(true);
    for (const job of jobs) await job.cancel();
    await Promise.all(jobs.map((job) => job.release()));
  });

  test('not on a terminal it prints one snapshot; --json one object per job; --all-users is not for this backend (exit 4)', async () => {
    const job = await h.bits.createJob({ displayName: 'snap', files: [{ url: h.server.url('/status/404'), localPath: h.local('snap.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    const run = async (...argv: string[]) => {
      const term = fakeTerminal();
      term.stdout.isTTY = false;
      const code = await main(['top', '--backend', 'portable', ...argv], { stdout: term.stdout, stderr: term.stderr, interrupted: new Promise(() => undefined), runtime: h.engine.runtime });
      return { code, out: term.text(), err: term.errors() };
    };
    const table = await run();
    expect(table.code).toBe(EXIT.ok);
    expect(table.out).toMatch(new RegExp(`^ {2}ID +STATE .*NAME\\n {2}${job.id.slice(0, 8)} error +\\[\\.{20}\\] +\\?% 0B/\\? +- +- +BG_E_HTTP_ERROR_404 snap\\n$`));
    expect(table.out).not.toContain('\x1b');
    const json = await run('--json');
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.out)).toEqual({
      id: job.id,
      name: 'snap',
      state: 'error',
      bytesTransferred: 0,
      filesTotal: 1,
      filesTransferred: 0,
      error: { hresult: 0x80190194, code: 'BG_E_HTTP_ERROR_404', description: expect.any(String), transient: false },
    });
    const all = await run('--all-users');
    expect(all.code).toBe(EXIT.unsupported);
    expect(all.err).toMatch(/^rx-bits: all users is not supported by the 'portable' backend/);
    await job.cancel();
    await job.release();
  });
});

describe('top --all-users on the loopback service', () => {
  const h = useLoopback();
  const streams = () => {
    const term = fakeTerminal();
    term.stdout.isTTY = false;
    return term;
  };

  test('not elevated: the service answers E_ACCESSDENIED and top says it needs an elevated process, before drawing anything', async () => {
    const term = fakeTerminal();
    const code = await main(['top', '--all-users'], { stdin: term.stdin, stdout: term.stdout, stderr: term.stderr, interrupted: new Promise(() => undefined), runtime: h.service.runtime });
    expect(code).toBe(EXIT.service);
    expect(term.errors()).toMatch(/^rx-bits: --all-users needs an elevated process \(run it from an administrator prompt\); the service answered .*E_ACCESSDENIED \(0x80070005\)/);
    expect(term.text()).toBe('');
    expect(term.stdin.raw).toEqual([]);
  });

  test('elevated: every user\'s jobs, with their owners', async () => {
    const mine = await h.bits.createJob({ displayName: 'mine' });
    const colleague = await connect({ runtime: h.service.process('colleague', { user: 'S-1-5-21-1-2-3-1001', elevated: false }).runtime });
    const theirs = await colleague.createJob({ displayName: 'theirs' });
    const admin = h.service.process('admin', { user: 'S-1-5-21-1-2-3-500', elevated: true }).runtime;
    const term = streams();
    expect(await main(['top', '--all-users', '--json'], { stdout: term.stdout, stderr: term.stderr, interrupted: new Promise(() => undefined), runtime: admin })).toBe(EXIT.ok);
    const rows = term.text().trim().split('\n').map((line) => JSON.parse(line) as { name: string; owner: string; state: string });
    expect(rows.map(({ name, owner, state }) => [name, owner, state]).sort()).toEqual([
      ['mine', 'S-1-5-21-1004336348-1177238915-682003330-1000', 'suspended'],
      ['theirs', 'S-1-5-21-1-2-3-1001', 'suspended'],
    ]);
    const live = fakeTerminal();
    const exit = main(['top', '--all-users'], { stdin: live.stdin, stdout: live.stdout, stderr: live.stderr, interrupted: new Promise(() => undefined), runtime: admin });
    await until(() => rowOf(screen(live.text()), 'theirs (S-1-5-21-1-2-3-1001)') !== undefined);
    expect(screen(live.text())[0]).toContain(' - all users - 2 jobs');
    live.press('q');
    expect(await exit).toBe(EXIT.ok);
    await whenHubsIdle();
    await theirs.cancel();
    await mine.cancel();
    await Promise.all([mine.release(), theirs.release()]);
    await colleague.release();
  });
});

// ---------------------------------------------------------------------------------------------
// The real thing: the CLI in a child process on a pseudo-terminal (util-linux `script`), keys in, screen out

/** The CLI on a pseudo-terminal of `columns` x `rows`. Keys written to `script`'s stdin reach the child's terminal. */
class Pty {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(command: string, options: { env?: NodeJS.ProcessEnv; ttyFile?: string; columns?: number; rows?: number } = {}) {
    const size = `stty cols ${options.columns ?? 120} rows ${options.rows ?? 16}`;
    const tty = options.ttyFile === undefined ? '' : `tty > ${quote(options.ttyFile)}; `;
    this.child = spawn('script', ['-qfec', `${size}; ${tty}exec ${command}`, '/dev/null'], { cwd: root, env: { ...process.env, ...options.env } });
    this.child.stdout.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  screen(): string[] {
    return screen(this.output);
  }

  press(keys: string): void {
    this.child.stdin.write(keys);
  }

  /** Waits for the screen to satisfy `condition`; the test's timeout is the only clock. */
  async waitFor(condition: (lines: string[]) => boolean): Promise<string[]> {
    await until(() => condition(this.screen()), 10);
    return this.screen();
  }

  select(name: string): Promise<void> {
    return select(() => this.output, (keys) => this.press(keys), name);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const rowMatches = (name: string, pattern: RegExp) => (lines: string[]) => pattern.test(rowOf(lines, name) ?? '');
/** What leaving must write last: default colours, the cursor shown, the main screen back. */
const restored = (output: string) => output.endsWith(LEAVE_SCREEN);

describe('rx-bits top on a pseudo-terminal', () => {
  test('against the loopback service: rows with states and progress; s suspends, c then y cancels, x completes, q exits 0 with the terminal restored', async () => {
    const jobs = [
      { name: 'top: held', url: '{gate:held}?size=200000&head=50000', resume: true },
      { name: 'top: idle', url: '{server}/files/idle?size=1000' },
      { name: 'top: failing', url: '{server}/status/404', resume: true },
      { name: 'top: done', url: '{server}/files/done?size=1000', resume: true },
    ];
    const pty = new Pty(`${quote(process.execPath)} --import tsx ${quote(loopbackCli)} top`, { env: { RX_BITS_TEST_JOBS: JSON.stringify(jobs) } });
    try {
      const first = await pty.waitFor(
        (lines) =>
          rowMatches('top: held', /transferring +\[#+\.+\] +25% 48\.8K\/195K/)(lines) &&
          rowMatches('top: idle', /suspended/)(lines) &&
          rowMatches('top: failing', /error .*BG_E_HTTP_ERROR_404/)(lines) &&
          rowMatches('top: done', /transferred +\[#+\] 100%/)(lines),
      );
      expect(first[0]).toMatch(/^rx-bits top - BITS - this user - 4 jobs: /);
      expect(first.at(-1)).toMatch(/^Up\/Down j\/k move/);
      expect(pty.output).toContain('\x1b[?1049h\x1b[?25l');

      await pty.select('top: held');
      pty.press('s');
      await pty.waitFor((lines) => rowMatches('top: held', /suspended +\[#+\.+\] +25%/)(lines) && lines.some((line) => line.startsWith('suspended "top: held"')));

      await pty.select('top: idle');
      pty.press('c');
      await pty.waitFor((lines) => lines.some((line) => /^Cancel "top: idle" \(\w{8}\)\? Its downloaded data is deleted\. y\/n$/.test(line)));
      pty.press('n');
      await pty.waitFor((lines) => lines.some((line) => line.startsWith('not cancelled: "top: idle"')));
      expect(pty.screen().some((line) => rowMatches('top: idle', /suspended/)([line]))).toBe(true);
      pty.press('c');
      await pty.waitFor((lines) => lines.some((line) => line.startsWith('Cancel "top: idle"')));
      pty.press('y');
      await pty.waitFor((lines) => lines.some((line) => /^cancelled "top: idle" \(\w{8}\) \(S_OK\)$/.test(line)));

      await pty.select('top: done');
      pty.press('x');
      await pty.waitFor((lines) => lines.some((line) => /^completed "top: done" \(\w{8}\) \(S_OK\)$/.test(line)));
      // Both have left the queue: gone from the screen at the next walk of the list.
      await pty.waitFor((lines) => rowOf(lines, 'top: idle') === undefined && rowOf(lines, 'top: done') === undefined && rowOf(lines, 'top: held') !== undefined);

      pty.press('q');
      // cli-loopback.ts exits 70 if the CLI left a reference behind in the service.
      expect(await pty.exited).toBe(EXIT.ok);
      expect(restored(pty.output)).toBe(true);
    } finally {
      pty.kill();
    }
  });

  describe('against the portable engine (bin.ts, the real command)', () => {
    let server: TestServer;
    let dir: string;
    let stateDir: string;
    const ids: Record<string, string> = {};
    beforeEach(async () => {
      server = await startTestServer();
      dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-top-'));
      stateDir = path.join(dir, 'state');
      // The jobs are made here, and the state folder let go: the CLI's engine takes it over.
      const engine = await PortableEngine.open(stateDir, FAST);
      const bits = await connect({ backend: 'portable', runtime: engine.runtime });
      const make = async (name: string, url: string, resume: boolean) => {
        const job = await bits.createJob({ displayName: name, files: [{ url: server.url(url), localPath: path.join(dir, `${name}.bin`) }] });
        if (resume) await job.resume();
        ids[name] = job.id;
        return job;
      };
      const jobs = [await make('held', '/gate/held?size=400000&head=100000', true), await make('idle', '/files/idle?size=1000', false)];
      const failing = await make('failing', '/status/404', true);
      const done = await make('done', '/files/done?size=5000', true);
      await until(async () => (await failing.getState()) === 'error' && (await done.getState()) === 'transferred');
      for (const job of [...jobs, failing, done]) await job.release();
      await bits.release();
      await engine.settled();
      await engine.close();
    });
    afterEach(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });
    const command = () => `${quote(process.execPath)} --import tsx ${quote(bin)} top --backend portable --state-dir ${quote(stateDir)}`;

    test('rows with states, progress and errors; s suspends, c then y cancels, x completes, q exits 0; the service agrees afterwards', async () => {
      const pty = new Pty(command());
      try {
        await pty.waitFor(
          (lines) =>
            rowMatches('held', /transferring +\[#+\.+\] +25% 97\.7K\/391K/)(lines) &&
            rowMatches('idle', /suspended/)(lines) &&
            rowMatches('failing', /error .*BG_E_HTTP_ERROR_404/)(lines) &&
            rowMatches('done', /transferred +\[#+\] 100% 4\.9K\/4\.9K/)(lines),
        );
        expect(pty.screen()[0]).toMatch(/^rx-bits top - portable engine - this user - 4 jobs/);
        await pty.select('held');
        pty.press('s');
        await pty.waitFor(rowMatches('held', /suspended +\[#+\.+\] +25%/));
        await pty.select('idle');
        pty.press('c');
        await pty.waitFor((lines) => lines.some((line) => line.startsWith('Cancel "idle"')));
        pty.press('y');
        await pty.waitFor((lines) => lines.some((line) => line.startsWith('cancelled "idle"')));
        await pty.select('done');
        pty.press('x');
        await pty.waitFor((lines) => lines.some((line) => line.startsWith('completed "done"')));
        pty.press('q');
        expect(await pty.exited).toBe(EXIT.ok);
        expect(restored(pty.output)).toBe(true);
      } finally {
        pty.kill();
      }
      // What the screen said, the service says too.
      const engine = await PortableEngine.open(stateDir, FAST);
      const bits = await connect({ backend: 'portable', runtime: engine.runtime });
      try {
        const states: Record<string, string> = {};
        for await (const job of bits.jobs()) {
          states[await job.getDisplayName()] = await job.getState();
          await job.release();
        }
        expect(states).toEqual({ held: 'suspended', failing: 'error' });
        expect(await readFile(path.join(dir, 'done.bin'))).toEqual(content(5000));
      } finally {
        await bits.release();
        await engine.close();
      }
    });

    test('Ctrl-C quits and restores the terminal; a resized terminal gets a frame of its size', async () => {
      const ttyFile = path.join(dir, 'tty');
      const pty = new Pty(command(), { ttyFile });
      try {
        await pty.waitFor((lines) => lines.length === 16 && rowMatches('failing', /error/)(lines));
        const tty = (await readFile(ttyFile, 'utf8')).trim();
        // The size of the child's terminal changes, and the kernel sends it SIGWINCH.
        await new Promise<void>((resolve, reject) => execFile('stty', ['-F', tty, 'cols', '60', 'rows', '9'], (error) => (error === null ? resolve() : reject(error))));
        const small = await pty.waitFor((lines) => lines.length === 9 && lines.at(-1)!.startsWith('Up/Down'));
        for (const line of small) expect(line.length).toBeLessThanOrEqual(60);
        expect(small[0]).toMatch(/\[rows 1-4 of 4\]|~$/);
        pty.press('\x03');
        expect(await pty.exited).toBe(EXIT.ok);
        expect(restored(pty.output)).toBe(true);
      } finally {
        pty.kill();
      }
    });

    test('not on a terminal: one snapshot, exit 0', async () => {
      const result = await new Promise<{ code: number | null; stdout: string }>((resolve) =>
        execFile(process.execPath, ['--import', 'tsx', bin, 'top', '--backend', 'portable', '--state-dir', stateDir], { cwd: root }, (error, stdout) =>
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout }),
        ),
      );
      expect(result.code).toBe(EXIT.ok);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ {2}ID +STATE/);
      expect(lines.slice(1).map((line) => line.split(/\s+/).at(-1)).sort()).toEqual(['done', 'failing', 'held', 'idle']);
      expect(result.stdout).not.toContain('\x1b');
    });
  });
});
