import type { Guid } from '../com/guid.js';

/**
 * The bridge's calls into DO, one queue per job: each job's commands run one after another (DO's
 * state table assumes it, and a Finalize must follow the Start it ends), different jobs' side by side.
 * A command whose caller waits for it (addFile's CreateDownload, complete's Finalize) can leave its
 * failure for that caller, which {@link settle} hands over.
 */
export class JobCommands {
  readonly #queues = new Map<Guid, Promise<void>>();
  /** The first failure each job's commands left for the caller that waits for them. */
  readonly #surfaced = new Map<Guid, Error>();

  /** Runs `command` after the job's earlier ones; a failure goes to `failed`, never unhandled. */
  enqueue(id: Guid, command: () => Promise<void>, failed: (error: unknown) => void): void {
    const next = (this.#queues.get(id) ?? Promise.resolve()).then(command).catch(failed);
    this.#queues.set(id, next);
    void next.then(() => {
      if (this.#queues.get(id) === next) this.#queues.delete(id);
    });
  }

  /** Keeps a command's failure for the caller that waits on {@link settle} (the first one only). */
  surface(id: Guid, error: unknown): void {
    if (!this.#surfaced.has(id) && error instanceof Error) this.#surfaced.set(id, error);
  }

  /** Resolves once the job's commands queued so far (and any they queued) are done; rejects with a surfaced failure. */
  async settle(id: Guid): Promise<void> {
    for (let queue = this.#queues.get(id); queue !== undefined; queue = this.#queues.get(id)) {
      await queue;
      if (this.#queues.get(id) === queue) break;
    }
    const failure = this.#surfaced.get(id);
    this.#surfaced.delete(id);
    if (failure !== undefined) throw failure;
  }

  /** Every job's commands in flight, done. */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values()]);
  }
}
