import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, ReleasedError } from '../src/com/errors.js';
import { defaultStateDir, JobStore, StateDirectoryError, StateDirectoryInUseError, type StoredRecord } from '../src/engine/store.js';
import { lockTestHooks, takeoverClaimFile } from '../src/engine/store-lock.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const childScript = path.join(root, 'test', 'support', 'store-child.ts');

interface Job extends StoredRecord {
  readonly round: number;
  readonly payload: string;
}

const newId = () => randomUUID().toUpperCase();
const job = (id: string, round = 1, payload = 'p'): Job => ({ id, round, payload });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openStore(dir: string, options?: Parameters<typeof JobStore.open>[1]): Promise<JobStore<Job>> {
  const store = await JobStore.open<Job>(dir, options);
  cleanups.push(() => store.close().catch(() => undefined));
  return store;
}

const jobsDir = (dir: string) => path.join(dir, 'jobs');
const recordFile = (dir: string, id: string) => path.join(jobsDir(dir), `${id}.json`);
const readRecord = async (dir: string, id: string) => JSON.parse(await readFile(recordFile(dir, id), 'utf8')) as Job;

/** A child process whose stdout lines can be waited for; killed at the end of the test. */
class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: (() => void)[] = [];

  constructor(mode: string, dir: string, ...args: string[]) {
    this.process = spawn(process.execPath, ['--import', 'tsx', childScript, mode, dir, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.process.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    void this.exited.then(() => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
    cleanups.push(async () => {
      if (this.process.exitCode === null && this.process.signalCode === null) {
        this.process.kill('SIGKILL');
        await this.exited;
      }
    });
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** The first line matching `pattern`, waiting for it; fails if the child exits without printing it. */
  async waitFor(pattern: RegExp): Promise<string> {
    for (;;) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`child exited (${this.process.exitCode ?? this.process.signalCode}) without printing ${pattern}; stdout ${JSON.stringify(this.lines)}, stderr ${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }
}

/** The pid of a process that has exited (and been reaped), for stale locks. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

async function writeLock(dir: string, lock: Record<string, unknown>): Promise<void> {
  await mkdir(jobsDir(dir), { recursive: true });
  await writeFile(path.join(dir, 'lock'), JSON.stringify(lock));
}

const staleLock = async (dir: string) => writeLock(dir, { pid: await deadPid(), hostname: hostname(), startedAt: new Date().toISOString(), nonce: randomUUID() });

async function expectInUse(attempt: Promise<unknown>, pid: number, host = hostname()): Promise<StateDirectoryInUseError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StateDirectoryInUseError);
  const inUse = error as StateDirectoryInUseError;
  expect(inUse.pid).toBe(pid);
  expect(inUse.hostname).toBe(host);
  return inUse;
}

describe('defaultStateDir', () => {
  test('Windows: %LOCALAPPDATA%, else %USERPROFILE%\\AppData\\Local, else the home directory', () => {
    expect(defaultStateDir('win32', { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local', USERPROFILE: 'C:\\Users\\ann' }, 'C:\\home')).toBe(
      'C:\\Users\\ann\\AppData\\Local\\rx-bits',
    );
    expect(defaultStateDir('win32', { USERPROFILE: 'C:\\Users\\ann' }, 'C:\\home')).toBe('C:\\Users\\ann\\AppData\\Local\\rx-bits');
    expect(defaultStateDir('win32', { LOCALAPPDATA: '' }, 'C:\\home')).toBe('C:\\home\\AppData\\Local\\rx-bits');
  });

  test('macOS: ~/Library/Application Support, whatever XDG says', () => {
    expect(defaultStateDir('darwin', {}, '/Users/ann')).toBe('/Users/ann/Library/Application Support/rx-bits');
    expect(defaultStateDir('darwin', { XDG_STATE_HOME: '/x' }, '/Users/ann')).toBe('/Users/ann/Library/Application Support/rx-bits');
  });

  test('Linux and others: $XDG_STATE_HOME if absolute, else ~/.local/state', () => {
    expect(defaultStateDir('linux', { XDG_STATE_HOME: '/var/state/ann' }, '/home/ann')).toBe('/var/state/ann/rx-bits');
    expect(defaultStateDir('linux', {}, '/home/ann')).toBe('/home/ann/.local/state/rx-bits');
    expect(defaultStateDir('freebsd', { XDG_STATE_HOME: '' }, '/home/ann')).toBe('/home/ann/.local/state/rx-bits');
    expect(defaultStateDir('linux', { XDG_STATE_HOME: 'relative/state' }, '/home/ann')).toBe('/home/ann/.local/state/rx-bits');
  });

  test('defaults to this process', () => {
    expect(path.basename(defaultStateDir())).toBe('rx-bits');
  });
});

describe('JobStore records', () => {
  test('save then load round trip, in the same store and after reopening', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const records = [job(newId(), 1, 'a'), job(newId(), 2, 'b'), job(newId(), 3, 'ü ✓')];
    for (const record of records) store.save(record);
    await store.flush();
    const byId = (a: Job, b: Job) => a.id.localeCompare(b.id);
    expect((await store.load()).sort(byId)).toEqual([...records].sort(byId));
    await store.close();
    const again = await openStore(dir);
    expect((await again.load()).sort(byId)).toEqual([...records].sort(byId));
    expect(again.problems).toEqual([]);
  });

  test('a lower-case or braced id is stored under its canonical name', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const id = newId();
    store.save(job(`{${id.toLowerCase()}}`));
    await store.flush();
    expect(existsSync(recordFile(dir, id))).toBe(true);
    expect(await store.load()).toHaveLength(1);
    store.remove(id.toLowerCase());
    await store.flush();
    expect(await store.load()).toEqual([]);
  });

  test('latest value wins under rapid saves, within a turn and across batches in flight', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const id = newId();
    for (let round = 1; round <= 200; round++) {
      store.save(job(id, round));
      // Every few saves, let a batch start so later saves queue behind one in flight.
      if (round % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await store.flush();
    expect((await readRecord(dir, id)).round).toBe(200);
    expect(await store.load()).toEqual([job(id, 200)]);
  });

  test('load() sees saves queued before it', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const id = newId();
    store.save(job(id));
    expect(await store.load()).toEqual([job(id)]);
  });

  test('remove after save, in the same turn and after the save landed; save after remove', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const [a, b, c] = [newId(), newId(), newId()];
    store.save(job(a));
    store.remove(a);
    store.save(job(b));
    await store.flush();
    expect(await store.load()).toEqual([job(b)]);
    store.remove(b);
    store.remove(c); // Never saved: nothing to do, no error.
    await store.flush();
    expect(await store.load()).toEqual([]);
    store.remove(a);
    store.save(job(a, 2));
    await store.flush();
    expect(await store.load()).toEqual([job(a, 2)]);
    expect(store.problems).toEqual([]);
  });

  test('flushSync writes pending records before returning', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const ids = [newId(), newId(), newId()];
    for (const id of ids) store.save(job(id, 1));
    store.flushSync();
    for (const id of ids) expect(JSON.parse(readFileSync(recordFile(dir, id), 'utf8'))).toEqual(job(id, 1));
    await store.flush();
    expect(await store.load()).toHaveLength(3);
  });

  test('flushSync while a batch is in flight still leaves the latest value last', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const id = newId();
    store.save(job(id, 1));
    await new Promise((resolve) => setImmediate(resolve)); // The batch with round 1 starts.
    store.save(job(id, 2));
    store.flushSync();
    await store.flush();
    expect((await readRecord(dir, id)).round).toBe(2);
  });

  test('1,000 distinct records save and load', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const records = Array.from({ length: 1000 }, (_, i) => job(newId(), i));
    for (const record of records) store.save(record);
    await store.flush();
    expect(await store.load()).toHaveLength(1000);
    expect(await readdir(jobsDir(dir))).toHaveLength(1000);
  });

  test('bad ids are refused with an InvalidArgumentError naming the field, and nothing is written', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const refused = (attempt: () => void, field: string) => {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
    };
    refused(() => store.save(job('../../escape')), 'record.id');
    refused(() => store.save(job(`${newId()}/../x`)), 'record.id');
    refused(() => store.save(job('C:\\Windows\\x')), 'record.id');
    refused(() => store.save(job('')), 'record.id');
    refused(() => store.save({ id: 42 } as unknown as Job), 'record.id');
    refused(() => store.save(null as unknown as Job), 'record');
    refused(() => store.remove('../lock'), 'id');
    refused(() => store.remove(`${newId()}\0`), 'id');
    await store.flush();
    expect(await readdir(jobsDir(dir))).toEqual([]);
    expect(existsSync(path.join(dir, 'lock'))).toBe(true);
  });

  test('save and remove after close throw ReleasedError; close is idempotent', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const id = newId();
    store.save(job(id));
    await Promise.all([store.close(), store.close()]);
    await store.close();
    expect(() => store.save(job(id))).toThrow(ReleasedError);
    expect(() => store.remove(id)).toThrow(ReleasedError);
    expect(existsSync(recordFile(dir, id))).toBe(true);
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
  });

  test('a write that fails twice is reported to onError and in problems, and flush rejects; the others land', async () => {
    const dir = await tempDir();
    const errors: StateDirectoryError[] = [];
    const store = await openStore(dir, { onError: (error) => errors.push(error) });
    const [blocked, fine] = [newId(), newId()];
    // A directory where the record file belongs: the rename of the temporary file onto it fails.
    await mkdir(recordFile(dir, blocked));
    store.save(job(blocked));
    store.save(job(fine));
    const failure = await store.flush().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(StateDirectoryError);
    expect((failure as StateDirectoryError).message).toContain(blocked);
    expect((failure as StateDirectoryError).cause).toBeInstanceOf(Error);
    expect(errors).toHaveLength(1);
    expect(store.problems.some((p) => p.includes(blocked))).toBe(true);
    expect((await readRecord(dir, fine)).id).toBe(fine);
    expect((await readdir(jobsDir(dir))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    // Once reported, the failure does not haunt later flushes.
    store.save(job(fine, 2));
    await store.flush();
  });
});

describe('JobStore after a crash', () => {
  test('temporary files from a write cut short are deleted and the previous record is intact', async () => {
    const dir = await tempDir();
    const [kept, neverSaved] = [newId(), newId()];
    const first = await openStore(dir);
    first.save(job(kept, 1, 'before'));
    await first.close();
    const whole = JSON.stringify(job(kept, 2, 'after'));
    await writeFile(path.join(jobsDir(dir), `${kept}.json.99999.1.tmp`), whole);
    await writeFile(path.join(jobsDir(dir), `${kept}.json.99999.2.tmp`), whole.slice(0, 12));
    await writeFile(path.join(jobsDir(dir), `${neverSaved}.json.99999.3.tmp`), whole.slice(0, 5));
    const store = await openStore(dir);
    expect(await store.load()).toEqual([job(kept, 1, 'before')]);
    expect(await readdir(jobsDir(dir))).toEqual([`${kept}.json`]);
    expect(store.problems).toEqual([]);
  });

  test('a record file that cannot be parsed is moved aside and reported; the others load', async () => {
    const dir = await tempDir();
    const [good, broken, notObject, mismatched] = [newId(), newId(), newId(), newId()];
    await mkdir(jobsDir(dir), { recursive: true });
    await writeFile(recordFile(dir, good), JSON.stringify(job(good)));
    await writeFile(recordFile(dir, broken), '{"id": "half');
    await writeFile(recordFile(dir, notObject), '[1, 2]');
    await writeFile(recordFile(dir, mismatched), JSON.stringify(job(newId())));
    await writeFile(path.join(jobsDir(dir), 'notes.json'), JSON.stringify(job(newId())));
    const store = await openStore(dir);
    expect(await store.load()).toEqual([job(good)]);
    for (const name of [broken, notObject, mismatched, 'notes']) {
      expect(existsSync(path.join(jobsDir(dir), `${name}.json.corrupt`))).toBe(true);
      expect(store.problems.some((p) => p.includes(`${name}.json`))).toBe(true);
    }
    expect(store.problems).toHaveLength(4);
    // Moved aside once: the next load is quiet.
    expect(await store.load()).toEqual([job(good)]);
    expect(store.problems).toHaveLength(4);
  });

  test('a child killed (SIGKILL) in the middle of many saves leaves every record file whole', async () => {
    const dir = await tempDir();
    const child = new Child('save-loop', dir, '40');
    await child.waitFor(/^round 3$/);
    // Kill it while a write is observably under way (temporary files present), not between batches.
    const writing = async () => (await readdir(jobsDir(dir))).some((name) => name.endsWith('.tmp'));
    while (!(await writing())) if (child.process.exitCode !== null) throw new Error(`child exited: ${child.stderr}`);
    await child.kill();
    const store = await openStore(dir);
    const records = await store.load();
    expect(store.problems.filter((p) => !p.startsWith('took over'))).toEqual([]);
    expect(records).toHaveLength(40);
    for (const record of records) expect(record.round).toBeGreaterThanOrEqual(3);
    expect((await readdir(jobsDir(dir))).filter((name) => !name.endsWith('.json'))).toEqual([]);
  });

  test('pending saves are written when the process calls process.exit(), and the lock is released', async () => {
    const dir = await tempDir();
    const child = new Child('exit-pending', dir, '25');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
    const store = await openStore(dir);
    expect(await store.load()).toHaveLength(25);
    expect(store.problems).toEqual([]);
  });

  test('an open store with writes behind does not keep the process alive, and the writes land', async () => {
    const dir = await tempDir();
    const child = new Child('natural-end', dir, '25');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
    const store = await openStore(dir);
    expect(await store.load()).toHaveLength(25);
  });
});

describe('JobStore lock', () => {
  test('a second store on the same directory in the same process is refused, naming this process', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const lock = JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')) as Record<string, unknown>;
    expect(lock).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(typeof lock['startedAt']).toBe('string');
    await expectInUse(JobStore.open(dir), process.pid);
    await expectInUse(JobStore.open(path.join(dir, '.', 'jobs', '..')), process.pid);
    await store.close();
    await (await openStore(dir)).close();
  });

  test('another process holding the lock: StateDirectoryInUseError with its pid; after a SIGKILL it is taken over', async () => {
    const dir = await tempDir();
    const child = new Child('hold', dir);
    await child.waitFor(/^locked /);
    const error = await expectInUse(JobStore.open(dir), child.pid);
    expect(error.directory).toBe(path.resolve(dir));
    await child.kill();
    const store = await openStore(dir);
    expect(store.problems.some((p) => p.includes(`process ${child.pid}`))).toBe(true);
    const lock = JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
  });

  test('a child that closes its store releases the lock', async () => {
    const dir = await tempDir();
    const child = new Child('hold', dir);
    await child.waitFor(/^locked /);
    child.process.stdin!.end();
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
    await openStore(dir);
  });

  test('processes racing for a stale lock: exactly one wins, the others name it', async () => {
    for (let round = 0; round < 2; round++) {
      const dir = await tempDir();
      await staleLock(dir);
      const children = [new Child('race', dir), new Child('race', dir), new Child('race', dir)];
      await Promise.all(children.map((child) => child.waitFor(/^ready$/)));
      for (const child of children) child.process.stdin!.write('go\n');
      const results = await Promise.all(children.map((child) => child.waitFor(/^(won|in-use \d+|error .*)$/)));
      const winners = children.filter((_, i) => results[i] === 'won');
      expect(winners, JSON.stringify(results)).toHaveLength(1);
      const winner = winners[0]!;
      for (const [i, result] of results.entries()) if (children[i] !== winner) expect(result).toBe(`in-use ${winner.pid}`);
      const lock = JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')) as { pid: number };
      expect(lock.pid).toBe(winner.pid);
    }
  });

  test('stores of one process racing for a stale lock: exactly one wins', async () => {
    const dir = await tempDir();
    await staleLock(dir);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => JobStore.open<Job>(dir)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    cleanups.push(() => won[0]!.value.close());
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toBeInstanceOf(StateDirectoryInUseError);
        expect((outcome.reason as StateDirectoryInUseError).pid).toBe(process.pid);
      }
    }
    expect((await readdir(dir)).sort()).toEqual(['jobs', 'lock']);
  });

  test('a contender that judged the lock stale just before another took it over does not delete the new lock', async () => {
    const dir = await tempDir();
    await staleLock(dir);
    const lockFile = path.join(dir, 'lock');
    let paused!: () => void;
    const pausedNow = new Promise<void>((resolve) => (paused = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let calls = 0;
    lockTestHooks.judgedStale = async (file) => {
      if (file !== lockFile || calls++ > 0) return;
      paused();
      await resumed;
    };
    cleanups.push(() => void delete lockTestHooks.judgedStale);
    // The slow contender has read the stale lock and decided to replace it...
    const slow = JobStore.open<Job>(dir);
    await pausedNow;
    // ...when a fast one replaces it first.
    const fast = await openStore(dir);
    resume();
    await expectInUse(slow, process.pid);
    const lock = JSON.parse(await readFile(lockFile, 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    // The fast store still holds the lock: a third open is refused, and closing releases the file.
    await expectInUse(JobStore.open(dir), process.pid);
    await fast.close();
    expect(existsSync(lockFile)).toBe(false);
  });

  test('a takeover claim left by a process that died taking the lock over is itself taken over', async () => {
    const dir = await tempDir();
    await staleLock(dir);
    const claim = (await takeoverClaimFile(path.join(dir, 'lock')))!;
    await writeFile(claim, JSON.stringify({ pid: await deadPid(), hostname: hostname(), startedAt: new Date().toISOString(), nonce: randomUUID() }));
    await openStore(dir);
    expect((await readdir(dir)).sort()).toEqual(['jobs', 'lock']);
  });

  test('open() neither fails nor takes over while the holder of a takeover claim lives, and succeeds once it is gone', async () => {
    const dir = await tempDir();
    const holder = new Child('hold', await tempDir());
    await holder.waitFor(/^locked /);
    await staleLock(dir);
    const claim = (await takeoverClaimFile(path.join(dir, 'lock')))!;
    await writeFile(claim, JSON.stringify({ pid: holder.pid, hostname: hostname(), startedAt: new Date().toISOString(), nonce: randomUUID() }));
    let settled = false;
    const opening = JobStore.open<Job>(dir).finally(() => (settled = true));
    // While the claim stands open() cannot finish; once its holder is gone, the claim is stale.
    const staleContent = await readFile(path.join(dir, 'lock'), 'utf8');
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(await readFile(path.join(dir, 'lock'), 'utf8')).toBe(staleContent);
    await holder.kill();
    const store = await opening;
    cleanups.push(() => store.close());
  });

  test('a lock from another host is in use; one written by this pid in an earlier life, before boot, or unreadable is stale', async () => {
    const foreign = await tempDir();
    await writeLock(foreign, { pid: 1, hostname: 'elsewhere.example', startedAt: new Date().toISOString() });
    await expectInUse(JobStore.open(foreign), 1, 'elsewhere.example');

    for (const lock of [
      JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), nonce: randomUUID() }),
      JSON.stringify({ pid: 1, hostname: hostname(), startedAt: '1970-01-02T00:00:00.000Z' }),
      JSON.stringify({ pid: 0, hostname: hostname(), startedAt: new Date().toISOString() }),
      '',
      'not json',
    ]) {
      const dir = await tempDir();
      await mkdir(jobsDir(dir), { recursive: true });
      await writeFile(path.join(dir, 'lock'), lock);
      const store = await openStore(dir);
      expect(store.problems.some((p) => p.startsWith('took over')), lock).toBe(true);
      await store.close();
    }
  });

  test('a directory that cannot be created is a StateDirectoryError carrying the OS error', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'file'), '');
    const error = await JobStore.open(path.join(dir, 'file', 'state')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StateDirectoryError);
    expect((error as StateDirectoryError).directory).toBe(path.join(dir, 'file', 'state'));
    expect(((error as StateDirectoryError).cause as NodeJS.ErrnoException).code).toMatch(/^(ENOTDIR|EEXIST)$/);
  });
});
