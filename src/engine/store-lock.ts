import { createHash, randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { link, open, readdir, unlink, writeFile } from 'node:fs/promises';
import { hostname as osHostname, uptime } from 'node:os';
import path from 'node:path';
import { StateDirectoryError, StateDirectoryInUseError } from './state-dir.js';

/**
 * The state directory's lock: `<directory>/lock`, a JSON file {pid, hostname, startedAt, nonce}.
 *
 * Creating it: the record is written to a private temporary file, then hard-linked to `lock`.
 * link() fails with EEXIST when `lock` exists, exactly as an O_EXCL create does, and in addition
 * the name never appears without its content: an O_EXCL create followed by a write leaves an empty
 * lock behind if the process dies in between, and a reader cannot tell "being written" from "dead".
 *
 * Taking over a stale lock (its process is gone): deleting the file is not enough, because deletion
 * is by name. Two processes that both judged the same lock stale could each unlink `lock` and create
 * their own, the second unlinking the first one's brand-new lock: both would win. So the right to
 * delete one particular lock file is itself taken with an exclusive create: `lock.takeover.<key>`,
 * where the key hashes that file's identity (inode and content, which holds a random nonce), so it
 * names that one instance and no later one. Only the process that created the claim deletes, and it
 * deletes only after re-reading `lock` and finding the same instance. While that instance exists no
 * one else can replace it (creating `lock` fails while it exists, and its owner is dead), so the
 * re-read and the unlink cannot be separated by a change. Afterwards every contender competes with
 * link() again, which exactly one wins. A claim whose holder is the one left behind by a crash is
 * itself stale; it is taken over the same way, one level down (`lock.takeover.<key>.takeover.<key2>`).
 * A claim on an instance that no longer exists is inert: its holder re-reads and finds another
 * instance, so leftover claims can be deleted freely once the lock is held.
 *
 * Liveness: same host and process.kill(pid, 0) succeeds or fails with EPERM (the process exists but
 * belongs to another user). A lock from another host is taken as live because it cannot be probed.
 * A lock naming this very process is live only if this process wrote it (its nonce is one of ours):
 * a restarted container often runs with the pid its previous incarnation had. A lock written before
 * the machine last booted is dead whatever its pid, which a new process may have been given.
 */

/** What a lock or claim file holds. */
export interface LockRecord {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly nonce: string;
}

/** One file as read at one moment: its record (undefined when unreadable) and an identity key. */
interface Instance {
  readonly record: LockRecord | undefined;
  readonly key: string;
}

/**
 * A test seam: called after a contender judged a lock stale and before it acts on that judgement,
 * so that a test can let another contender run through the whole takeover in between.
 */
export const lockTestHooks: { judgedStale?: (file: string) => Promise<void> } = {};

/** Nonces of the lock and claim files this process holds now. */
const ownNonces = new Set<string>();

const LOCK_NAME = 'lock';
const MAX_CLAIM_DEPTH = 3;
/** Waits for a live claimant to finish its takeover: a handful of file operations, so this is ample. */
const MAX_ATTEMPTS = 200;

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The lock file's record, or undefined for one that is not (empty, garbage, a pid kill() must never see). */
export function parseLockRecord(text: string): LockRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, hostname, startedAt, nonce } = value as Record<string, unknown>;
  // pid 0 and negative pids address process groups in kill(): never probe with them.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof hostname !== 'string' || typeof startedAt !== 'string') return undefined;
  return { pid, hostname, startedAt, nonce: typeof nonce === 'string' ? nonce : '' };
}

function newRecord(): LockRecord {
  return { pid: process.pid, hostname: osHostname(), startedAt: new Date().toISOString(), nonce: randomUUID() };
}

/** Reads the file through one descriptor, so that the inode and the content belong to the same file. */
async function readInstance(file: string): Promise<Instance | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    // On Windows a name whose deletion is pending (another handle still open) answers EPERM.
    if (errorCode(error) === 'ENOENT' || (process.platform === 'win32' && errorCode(error) === 'EPERM')) return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat();
    const text = await handle.readFile('utf8');
    const key = createHash('sha256').update(`${stats.ino}:${stats.size}:${text}`).digest('hex').slice(0, 20);
    return { record: parseLockRecord(text), key };
  } finally {
    await handle.close();
  }
}

/**
 * The name of the claim that whoever takes over `file` as it is now must create: lets a test leave
 * one behind as a process dying in mid-takeover would.
 */
export async function takeoverClaimFile(file: string): Promise<string | undefined> {
  const instance = await readInstance(file);
  return instance === undefined ? undefined : `${file}.takeover.${instance.key}`;
}

/** Whether the process that wrote `record` may still be running; see the comment at the top. */
export function isLive(record: LockRecord): boolean {
  if (record.hostname !== osHostname()) return true;
  const started = Date.parse(record.startedAt);
  const bootedAt = Date.now() - uptime() * 1000;
  // A minute of slack: uptime and the wall clock are not read at the same instant or precision.
  if (Number.isFinite(started) && started < bootedAt - 60_000) return false;
  if (record.pid === process.pid) return ownNonces.has(record.nonce);
  try {
    process.kill(record.pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/**
 * Creates `file` holding a fresh record, unless it exists. Returns the record, or undefined when
 * the name was taken.
 */
async function createExclusive(file: string): Promise<LockRecord | undefined> {
  const record = newRecord();
  const tmp = path.join(path.dirname(file), `lock.${process.pid}.${record.nonce.slice(0, 8)}.tmp`);
  await writeFile(tmp, `${JSON.stringify(record)}\n`, { flag: 'wx', mode: 0o600 });
  ownNonces.add(record.nonce);
  try {
    await link(tmp, file);
    return record;
  } catch (error) {
    ownNonces.delete(record.nonce);
    // Windows reports a name whose deletion is still pending (another handle open) as EPERM.
    if (errorCode(error) === 'EEXIST' || (process.platform === 'win32' && errorCode(error) === 'EPERM')) return undefined;
    throw error;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

type Outcome = { readonly held: LockRecord } | { readonly holder: LockRecord };

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Takes `file` as an exclusive lock, taking over stale instances. Resolves with the record written
 * (held), or with the live holder's record.
 */
async function acquire(file: string, depth: number, problems: string[]): Promise<Outcome> {
  let waits = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await createExclusive(file);
    if (record !== undefined) return { held: record };
    const seen = await readInstance(file);
    if (seen === undefined) continue; // Released or taken over since: compete again.
    if (seen.record !== undefined && isLive(seen.record)) return { holder: seen.record };
    if (depth >= MAX_CLAIM_DEPTH) {
      throw new Error(`${file}: too many stale takeover claims, left by processes that died while taking the lock over`);
    }
    await lockTestHooks.judgedStale?.(file);
    const claimFile = `${file}.takeover.${seen.key}`;
    const claim = await acquire(claimFile, depth + 1, problems);
    if ('holder' in claim) {
      // Someone alive is taking this instance over: give them a moment, then look again.
      await delay(Math.min(5 * ++waits, 100));
      continue;
    }
    try {
      const again = await readInstance(file);
      if (again?.key === seen.key) {
        await unlink(file);
        if (depth === 0) {
          problems.push(
            seen.record === undefined
              ? `took over a lock file that could not be read`
              : `took over the lock left by process ${seen.record.pid} on ${seen.record.hostname} (started ${seen.record.startedAt}), which is gone`,
          );
        }
      }
    } finally {
      await releaseFile(claimFile, claim.held);
    }
  }
  const last = await readInstance(file);
  if (last?.record !== undefined) return { holder: last.record };
  throw new Error(`${file}: gave up after ${MAX_ATTEMPTS} attempts to take the lock`);
}

/** Deletes `file` if it is still the one holding `record`. */
async function releaseFile(file: string, record: LockRecord): Promise<void> {
  try {
    const current = await readInstance(file);
    if (current?.record?.nonce === record.nonce && current.record.pid === record.pid) await unlink(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  } finally {
    ownNonces.delete(record.nonce);
  }
}

/** Claims and temporary files left by processes that died while taking the lock. */
async function sweep(directory: string): Promise<void> {
  const names = await readdir(directory);
  await Promise.all(
    names.map(async (name) => {
      const file = path.join(directory, name);
      if (name.startsWith(`${LOCK_NAME}.takeover.`)) {
        // Inert now that the lock is ours (see the comment at the top), unless this process holds it.
        const claim = await readInstance(file).catch(() => undefined);
        if (claim?.record !== undefined && claim.record.pid === process.pid && ownNonces.has(claim.record.nonce)) return;
        await unlink(file).catch(() => undefined);
        return;
      }
      const tmp = /^lock\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
      if (tmp !== null) {
        const pid = Number(tmp[1]);
        if (pid === process.pid) return;
        const live = isLive({ pid, hostname: osHostname(), startedAt: '', nonce: '' });
        if (!live) await unlink(file).catch(() => undefined);
      }
    }),
  );
}

/** A held lock on a state directory. */
export class DirectoryLock {
  #released = false;

  private constructor(
    readonly directory: string,
    readonly file: string,
    readonly record: LockRecord,
  ) {}

  /**
   * Takes the lock of `directory` (which must exist). A live holder is a {@link StateDirectoryInUseError};
   * what was taken over is described in `problems`.
   */
  static async take(directory: string, problems: string[]): Promise<DirectoryLock> {
    const file = path.join(directory, LOCK_NAME);
    let outcome: Outcome;
    try {
      outcome = await acquire(file, 0, problems);
    } catch (error) {
      throw new StateDirectoryError(directory, `cannot take the lock: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if ('holder' in outcome) throw new StateDirectoryInUseError(directory, outcome.holder.pid, outcome.holder.hostname);
    await sweep(directory).catch(() => undefined);
    return new DirectoryLock(directory, file, outcome.held);
  }

  get released(): boolean {
    return this.#released;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await releaseFile(this.file, this.record);
  }

  /** For the 'exit' event: deletes the lock file if it is still ours. Never throws. */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    ownNonces.delete(this.record.nonce);
    try {
      const fd = openSync(this.file, 'r');
      let ours: boolean;
      try {
        ours = parseLockRecord(readFileSync(fd, 'utf8'))?.nonce === this.record.nonce;
      } finally {
        closeSync(fd);
      }
      if (ours) unlinkSync(this.file);
    } catch {
      // Best effort at exit: a lock left behind is stale once this process is gone, and taken over.
    }
  }
}
