import type { EngineJob } from './engine-job.js';

/** BG_JOB_PRIORITY_FOREGROUND: "transfers in the foreground", at once, whatever else runs. */
const FOREGROUND = 0;

/** Runs one job's transfer until it ends or `signal` aborts it. */
export type RunJob = (job: EngineJob, signal: AbortSignal) => Promise<void>;

/**
 * Which queued jobs transfer now: foreground jobs at once; high, normal and low ones in that order,
 * first come first served within a priority, at most `maxConcurrent` of them at a time.
 */
export class Scheduler {
  readonly #waiting = new Map<string, { job: EngineJob; since: number }>();
  readonly #running = new Map<string, { job: EngineJob; controller: AbortController; done: Promise<void> }>();
  /** Runs stopped but not yet returned, by job: what their leftovers' removal waits for. */
  readonly #stopping = new Map<string, Promise<void>>();
  #sequence = 0;
  #paused = true;

  constructor(
    private readonly run: RunJob,
    private readonly maxConcurrent: number,
    /** A run that throws is an engine bug: it is reported, and the job gives its slot back. */
    private readonly report: (error: unknown) => void,
  ) {}

  get running(): number {
    return this.#running.size;
  }

  /** The job's state changed: give it a slot, keep it waiting, or take its slot back. */
  update(job: EngineJob): void {
    if (job.state === 'queued') {
      this.#stop(job.id);
      if (!this.#waiting.has(job.id)) this.#waiting.set(job.id, { job, since: this.#sequence++ });
    } else if (job.state !== 'connecting' && job.state !== 'transferring') {
      this.#waiting.delete(job.id);
      this.#stop(job.id);
    }
    this.#pump();
  }

  /** Starts transfers (again) after {@link pause}. */
  start(): void {
    this.#paused = false;
    this.#pump();
  }

  /** Stops every transfer; the jobs stay where they are until {@link start}. */
  pause(): void {
    this.#paused = true;
    for (const id of [...this.#running.keys()]) this.#stop(id);
  }

  /** Resolves once no transfer of the job is running any more (a stopped one has closed its file). */
  settled(id: string): Promise<void> {
    return this.#running.get(id)?.done ?? this.#stopping.get(id) ?? Promise.resolve();
  }

  #stop(id: string): void {
    const running = this.#running.get(id);
    if (running === undefined) return;
    this.#running.delete(id);
    this.#stopping.set(id, running.done);
    void running.done.then(() => {
      if (this.#stopping.get(id) === running.done) this.#stopping.delete(id);
    });
    running.controller.abort(new Error('the job left the transferring states'));
  }

  #pump(): void {
    if (this.#paused) return;
    for (const next of this.#byPriority()) {
      // A job started by a nested update while this loop ran is no longer waiting.
      if (!this.#waiting.has(next.id)) continue;
      const foreground = next.record.priority === FOREGROUND;
      if (!foreground && this.#nonForegroundRunning() >= this.maxConcurrent) continue;
      this.#waiting.delete(next.id);
      this.#start(next);
    }
  }

  #nonForegroundRunning(): number {
    let count = 0;
    for (const { job } of this.#running.values()) if (job.record.priority !== FOREGROUND) count++;
    return count;
  }

  #start(job: EngineJob): void {
    const controller = new AbortController();
    // A run stopped a moment ago may still be closing the job's temporary file: the new one measures
    // that file only after it is closed, or a late write would land after the new run's first bytes.
    const done = Promise.resolve(this.#stopping.get(job.id))
      .then(() => (controller.signal.aborted ? undefined : this.run(job, controller.signal)))
      .catch((error: unknown) => this.report(error))
      .finally(() => {
        if (this.#running.get(job.id)?.controller === controller) this.#running.delete(job.id);
        this.#pump();
      });
    this.#running.set(job.id, { job, controller, done });
    job.connecting();
  }

  #byPriority(): EngineJob[] {
    return [...this.#waiting.values()].sort((a, b) => a.job.record.priority - b.job.record.priority || a.since - b.since).map((entry) => entry.job);
  }
}
