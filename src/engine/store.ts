import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, ReleasedError } from '../com/errors.js';
import { parseGuid } from '../com/guid.js';
import { StateDirectoryError } from './state-dir.js';
import { DirectoryLock } from './store-lock.js';

export { defaultStateDir, StateDirectoryError, StateDirectoryInUseError } from './state-dir.js';

/** Records are plain JSON objects with a string id (a GUID); the store does not interpret them otherwise. */
export interface StoredRecord {
  readonly id: string;
}

export interface JobStoreOptions {
  /**
   * Called with each write or removal that failed twice (it is retried once, shortly). Every failure
   * is also described in {@link JobStore.problems}, and makes the flush() that covers it reject.
   */
  readonly onError?: (error: StateDirectoryError) => void;
}

type Operation<T> = { readonly kind: 'save'; readonly id: string; readonly record: T } | { readonly kind: 'remove'; readonly id: string };

/** The operations that are written together; `done` settles when every one of them was tried. */
interface Batch<T> {
  readonly operations: Map<string, Operation<T>>;
  readonly failures: StateDirectoryError[];
  readonly done: Promise<void>;
  settle(): void;
}

function newBatch<T>(): Batch<T> {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { operations: new Map(), failures: [], done, settle };
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Errors a directory fsync answers where the platform or file system does not support it. */
const UNSUPPORTED_DIRECTORY_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EACCES', 'EBADF']);

/** Writes in flight at once within a batch: enough for fsyncs to overlap, few enough not to starve the thread pool. */
const CONCURRENCY = 16;

const RETRY_DELAY_MS = 20;

/** Names of temporary files this process is writing, which load() must not sweep away. */
const ownTemporaries = new Set<string>();
let temporaryCounter = 0;

/**
 * A directory of job records, one JSON file each (`jobs/<id>.json`), held by one process at a time.
 *
 * Every file is replaced atomically (written to a temporary file, fsync'd, renamed over the old
 * one), so a crash at any moment leaves each record either as it was or as it became. Saves are
 * write-behind: save() and remove() only queue, and whatever is queued when the writer is free is
 * written as one batch (the latest value of each id, writes overlapping, one directory fsync for the
 * batch). A batch in flight is never joined by a later change of one of its ids; that change waits
 * for the next batch, so an id never has two writes in flight.
 *
 * While open, the store writes what is pending and releases its lock when the process exits
 * normally (the 'exit' event).
 */
export class JobStore<T extends StoredRecord> {
  /** Stores still open, for the 'exit' handler. */
  static readonly #open = new Set<JobStore<StoredRecord>>();
  static readonly #onExit = (): void => {
    for (const store of JobStore.#open) store.#closeSync();
  };

  readonly #jobs: string;
  readonly #lock: DirectoryLock;
  readonly #onError: ((error: StateDirectoryError) => void) | undefined;
  readonly #problems: string[];
  #next: Batch<T> | undefined;
  #current: Batch<T> | undefined;
  #scheduled = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly directory: string,
    lock: DirectoryLock,
    problems: string[],
    options: JobStoreOptions,
  ) {
    this.#jobs = path.join(directory, 'jobs');
    this.#lock = lock;
    this.#problems = problems;
    this.#onError = options.onError;
  }

  /**
   * Creates the directory if needed and takes its lock. Another live process holding it, or another
   * store of this process: {@link StateDirectoryInUseError} naming its pid. A lock left by a dead
   * process is taken over (and said so in `problems`).
   */
  static async open<T extends StoredRecord>(directory: string, options: JobStoreOptions = {}): Promise<JobStore<T>> {
    if (typeof directory !== 'string' || directory === '') throw new InvalidArgumentError('directory', 'expected a directory path');
    const resolved = path.resolve(directory);
    try {
      // Private: the records name the user's files and URLs.
      await mkdir(path.join(resolved, 'jobs'), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StateDirectoryError(resolved, `cannot create the state directory: ${describe(error)}`, { cause: error });
    }
    const problems: string[] = [];
    const lock = await DirectoryLock.take(resolved, problems);
    const store = new JobStore<T>(resolved, lock, problems, options);
    if (JobStore.#open.size === 0) process.on('exit', JobStore.#onExit);
    JobStore.#open.add(store as unknown as JobStore<StoredRecord>);
    return store;
  }

  /** What went wrong without being thrown: records moved aside, writes that failed, a lock taken over. */
  get problems(): readonly string[] {
    return this.#problems;
  }

  /**
   * Every record on disk, once the writes queued so far have settled. A record file that cannot be
   * parsed, or whose name or id is not a GUID in canonical form or does not match, is renamed to
   * `<name>.corrupt` and described in `problems`. Temporary files left by a crash are deleted.
   */
  async load(): Promise<T[]> {
    this.#checkOpen('load');
    await this.#settled();
    let names: string[];
    try {
      names = await readdir(this.#jobs);
    } catch (error) {
      throw new StateDirectoryError(this.directory, `cannot list ${this.#jobs}: ${describe(error)}`, { cause: error });
    }
    const records: T[] = [];
    for (const name of names.sort()) {
      const file = path.join(this.#jobs, name);
      if (name.endsWith('.tmp')) {
        if (!ownTemporaries.has(file)) await unlink(file).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'EISDIR') continue;
        throw new StateDirectoryError(this.directory, `cannot read ${file}: ${describe(error)}`, { cause: error });
      }
      const problem = this.#check(name, text);
      if (typeof problem === 'string') {
        await this.#moveAside(file, problem);
        continue;
      }
      records.push(problem);
    }
    return records;
  }

  /** The record in `text`, or what is wrong with it. */
  #check(name: string, text: string): T | string {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return `not JSON (${describe(error)})`;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
    const id: unknown = (value as { id?: unknown }).id;
    if (typeof id !== 'string') return 'no string id';
    const stem = name.slice(0, -'.json'.length);
    let canonical: string;
    try {
      canonical = parseGuid(id, 'id');
    } catch {
      return `its id '${id}' is not a GUID`;
    }
    if (canonical !== stem) return `its id '${id}' does not match its file name`;
    return value as T;
  }

  async #moveAside(file: string, problem: string): Promise<void> {
    const aside = `${file}.corrupt`;
    try {
      await rename(file, aside);
      this.#problems.push(`${file}: ${problem}; moved aside to ${aside}`);
    } catch (error) {
      this.#problems.push(`${file}: ${problem}; could not move it aside (${describe(error)})`);
    }
  }

  /**
   * Writes the record soon: write-behind, coalesced per id, the latest value wins. The record is
   * serialised when its write starts, so later changes to the same object may be included; a change
   * made after that needs another save(). Throws only for a bad id or a closed store.
   */
  save(record: T): void {
    this.#checkOpen('save');
    if (typeof record !== 'object' || record === null) throw new InvalidArgumentError('record', 'expected an object');
    const id = this.#fileId(record.id, 'record.id');
    this.#queue({ kind: 'save', id, record });
  }

  /** Removes the record soon, after any save of the same id queued before. */
  remove(id: string): void {
    this.#checkOpen('remove');
    this.#queue({ kind: 'remove', id: this.#fileId(id, 'id') });
  }

  /**
   * Resolves when everything saved and removed so far is on disk (the files fsync'd, and their
   * directory where the platform allows). Rejects with the first {@link StateDirectoryError} of a
   * write it covered that failed even when retried.
   */
  async flush(): Promise<void> {
    const [first, ...others] = await this.#settled();
    if (first === undefined) return;
    if (others.length === 0) throw first;
    throw new StateDirectoryError(this.directory, `${others.length + 1} writes failed, the first: ${first.message}`, { cause: first });
  }

  /**
   * Writes what is pending with the synchronous file API, for the 'exit' event, when no callback
   * runs any more. Throws the first failure after trying everything.
   */
  flushSync(): void {
    const latest = new Map<string, Operation<T>>();
    // What the batch in flight has not confirmed is written again: after exit it never will be.
    for (const [id, operation] of this.#current?.operations ?? []) latest.set(id, operation);
    for (const [id, operation] of this.#next?.operations ?? []) latest.set(id, operation);
    const inFlight = this.#current?.operations;
    if (this.#next !== undefined) this.#next.operations.clear();
    const failures: StateDirectoryError[] = [];
    let wrote = false;
    for (const operation of latest.values()) {
      const failure = this.#attemptSync(operation) ?? this.#attemptSync(operation);
      if (failure === undefined) wrote = true;
      else failures.push(this.#failed(operation, failure));
      // The batch in flight may still land its older value after this one, if the loop goes on;
      // queue the latest again so it is the last word.
      if (inFlight?.has(operation.id) === true) this.#queue(operation);
    }
    if (wrote) syncDirectorySync(this.#jobs);
    if (failures.length > 0) throw failures[0];
  }

  /** Flushes and releases the lock. Idempotent; rejects as flush() does, after releasing the lock. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      let failure: unknown;
      try {
        await this.flush();
      } catch (error) {
        failure = error;
      }
      JobStore.#open.delete(this as unknown as JobStore<StoredRecord>);
      if (JobStore.#open.size === 0) process.off('exit', JobStore.#onExit);
      await this.#lock.release().catch((error: unknown) => {
        failure ??= new StateDirectoryError(this.directory, `cannot release the lock: ${describe(error)}`, { cause: error });
      });
      if (failure !== undefined) throw failure;
    })();
    return this.#closing;
  }

  /** The 'exit' path of close(): synchronous, never throws. */
  #closeSync(): void {
    this.#closed = true;
    try {
      this.flushSync();
    } catch {
      // Described in `problems`; at exit there is no one left to tell.
    }
    JobStore.#open.delete(this as unknown as JobStore<StoredRecord>);
    this.#lock.releaseSync();
  }

  #checkOpen(operation: string): void {
    if (this.#closed) throw new ReleasedError('JobStore', operation);
  }

  /** The canonical GUID a file is named by; never anything that could leave the directory. */
  #fileId(id: unknown, field: string): string {
    return parseGuid(id, field);
  }

  #queue(operation: Operation<T>): void {
    this.#next ??= newBatch();
    this.#next.operations.set(operation.id, operation);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#current !== undefined) return;
    this.#scheduled = true;
    // An immediate rather than a microtask: the saves of one whole turn of the event loop share a batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  /** Runs batches one after another until nothing is queued. Never rejects. */
  async #drain(): Promise<void> {
    while (this.#current === undefined && this.#next !== undefined) {
      const batch = this.#next;
      this.#next = undefined;
      this.#current = batch;
      try {
        await this.#write(batch);
      } catch (error) {
        // #write reports its own failures; anything else is a bug, but must not be an unhandled rejection.
        batch.failures.push(new StateDirectoryError(this.directory, `write-behind failed: ${describe(error)}`, { cause: error }));
      } finally {
        this.#current = undefined;
        batch.settle();
      }
    }
  }

  /** The failures of the batches in flight or queued now, once they settled. */
  async #settled(): Promise<StateDirectoryError[]> {
    const batches = [this.#current, this.#next].filter((batch) => batch !== undefined);
    if (this.#next !== undefined) this.#schedule();
    await Promise.all(batches.map((batch) => batch.done));
    return batches.flatMap((batch) => batch.failures);
  }

  async #write(batch: Batch<T>): Promise<void> {
    const operations = [...batch.operations.values()];
    let wrote = false;
    let index = 0;
    const worker = async () => {
      while (index < operations.length) {
        const operation = operations[index++];
        if (operation === undefined) break;
        let failure = await this.#attempt(operation);
        if (failure !== undefined) {
          // A moment before the retry: on Windows a scanner or indexer holding the file is the usual cause.
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
          failure = await this.#attempt(operation);
        }
        if (failure === undefined) wrote = true;
        else batch.failures.push(this.#failed(operation, failure));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, operations.length) }, worker));
    if (!wrote) return;
    try {
      await syncDirectory(this.#jobs);
    } catch (error) {
      const failure = new StateDirectoryError(this.directory, `cannot fsync ${this.#jobs}: ${describe(error)}`, { cause: error });
      this.#report(failure);
      batch.failures.push(failure);
    }
  }

  /** One try at an operation: undefined when it worked, else the error. */
  async #attempt(operation: Operation<T>): Promise<unknown> {
    const file = path.join(this.#jobs, `${operation.id}.json`);
    if (operation.kind === 'remove') {
      try {
        await unlink(file);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') return error;
      }
      return undefined;
    }
    let text: string;
    try {
      text = this.#serialise(operation);
    } catch (error) {
      return error;
    }
    const temporary = `${file}.${process.pid}.${++temporaryCounter}.tmp`;
    ownTemporaries.add(temporary);
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      return undefined;
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      return error;
    } finally {
      ownTemporaries.delete(temporary);
    }
  }

  #attemptSync(operation: Operation<T>): unknown {
    const file = path.join(this.#jobs, `${operation.id}.json`);
    if (operation.kind === 'remove') {
      try {
        unlinkSync(file);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') return error;
      }
      return undefined;
    }
    const temporary = `${file}.${process.pid}.${++temporaryCounter}.tmp`;
    try {
      const text = this.#serialise(operation);
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        writeSync(fd, text, null, 'utf8');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, file);
      return undefined;
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // Never created, or already renamed.
      }
      return error;
    }
  }

  #serialise(operation: Extract<Operation<T>, { kind: 'save' }>): string {
    const { record } = operation;
    // The id is read again at write time: the object may have changed since save().
    if (parseGuid(record.id, 'record.id') !== operation.id) throw new Error(`the record's id changed from ${operation.id} to ${String(record.id)} after save()`);
    const text = JSON.stringify(record, null, 2);
    if (typeof text !== 'string') throw new Error('the record does not serialise to JSON');
    return `${text}\n`;
  }

  #failed(operation: Operation<T>, error: unknown): StateDirectoryError {
    const verb = operation.kind === 'save' ? 'write' : 'remove';
    const failure = new StateDirectoryError(this.directory, `cannot ${verb} record ${operation.id} (tried twice): ${describe(error)}`, { cause: error });
    this.#report(failure);
    return failure;
  }

  #report(failure: StateDirectoryError): void {
    this.#problems.push(failure.message);
    if (this.#onError === undefined) return;
    try {
      this.#onError(failure);
    } catch {
      // A throwing listener must not break the writer; the failure is in `problems` already.
    }
  }
}

async function syncDirectory(directory: string): Promise<void> {
  // Windows cannot open a directory for fsync; NTFS makes the rename durable through its journal.
  if (process.platform === 'win32') return;
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!UNSUPPORTED_DIRECTORY_SYNC.has(errorCode(error) ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

function syncDirectorySync(directory: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Durability of the names only; the files themselves were fsync'd.
  }
}
