import { emitKeypressEvents } from 'node:readline';
import { share, Subscription, type Observable } from 'rxjs';
import type { Backend } from '../com/backend.js';
import { ComError } from '../com/errors.js';
import type { BitsJob, JobProgress } from '../com/job.js';
import type { BitsManager } from '../com/manager.js';
import type { JobState } from '../com/enums.js';
import { error$ } from '../observables/error.js';
import { whenHubsIdle, type HubOptions } from '../observables/hub.js';
import { progress$ } from '../observables/progress.js';
import { state$ } from '../observables/state.js';
import { eta } from '../operators/eta.js';
import { transferRate } from '../operators/transfer-rate.js';
import { allUsersError } from './all-users.js';
import type { CommandLine } from './command-line.js';
import type { CliIo } from './main.js';
import { BROWSE, onKey, type JobAction, type Key, type KeyMode, type SelectedJob } from './top-keys.js';
import { cell, renderTopScreen, snapshotTable, type TopError, type TopRow } from './top-screen.js';

/**
 * `rx-bits top`: a live, full-screen view of the jobs, with keys to act on them.
 *
 * Each job on screen is followed through the library's own Observables (state$, progress$ with the
 * usual backstop poll, error$), so the screen moves on the service's notifications, not on a timer
 * re-reading every job. The one timer that asks the service anything is discovery: BITS has no
 * "job created" notification, so the job list is walked again every {@link DISCOVERY_MS} to find new
 * jobs (EnumJobs and one reference per job, released at once for the jobs already shown).
 *
 * The terminal is driven with Node's own readline (keypress events) and a handful of ANSI/VT
 * sequences: the alternate screen, a hidden cursor, absolute cursor moves, reverse video and
 * synchronized output. That is all a one-screen table needs; a terminal library would add weight
 * and a dependency for no feature used here.
 *
 * Not on a terminal (a pipe, a log, no stdin), or with --json, it prints one snapshot and exits 0.
 */

type TopLine = Extract<CommandLine, { command: 'top' }>;

/** Milliseconds between walks of the job list, to find jobs created since (see above). */
const DISCOVERY_MS = 2000;
/**
 * The hubs' backstop poll, as the library's default; and 'observe': a job another application
 * registered keeps its callback (BITS has one per job, the last writer wins) and is watched by polling.
 */
const HUB_OPTIONS: HubOptions = { pollInterval: 1000, onDisplaced: 'observe' };
/** Milliseconds without progress after which a transfer's rate is shown as unknown (it stalled). */
const STALE_MS = 3000;

const ESC = '\x1b[';
const ENTER_SCREEN = `${ESC}?1049h${ESC}?25l${ESC}H${ESC}2J`;
/** Shows the cursor and leaves the alternate screen: what the terminal is left with, whatever happened. */
export const LEAVE_SCREEN = `${ESC}0m${ESC}?25h${ESC}?1049l`;
/** Terminals that know DEC mode 2026 paint a frame at once; the others ignore it. */
const BEGIN_FRAME = `${ESC}?2026h`;
const END_FRAME = `${ESC}?2026l`;

// main.ts's EXIT codes, not imported from it: main.ts imports this module.
const EXIT_OK = 0;
const EXIT_INTERRUPTED = 130;
const EXIT_TERMINATED = 143;

const BACKEND_NAMES: Record<Backend, string> = { bits: 'BITS', 'delivery-optimization': 'Delivery Optimization', portable: 'portable engine' };

export async function top(bits: BitsManager, line: TopLine, io: CliIo): Promise<number> {
  const { stdin, stdout } = io;
  const live = !line.json && stdout.isTTY === true && stdin?.isTTY === true && typeof stdin.setRawMode === 'function';
  // The first walk happens before the screen is entered: a refusal (--all-users without elevation,
  // a backend without EnumJobs or other users' jobs) is printed by main() as any other error.
  const jobs = await listJobs(bits, line.allUsers);
  if (!live) return snapshot(jobs, line, io);
  return new TopScreen(bits, line, io, stdin as LiveStdin).run(jobs);
}

/** Every job, as references the caller releases; on a failure part-way, none is kept. */
async function listJobs(bits: BitsManager, allUsers: boolean): Promise<BitsJob[]> {
  const found: BitsJob[] = [];
  try {
    for await (const job of bits.jobs({ allUsers })) found.push(job);
    return found;
  } catch (error) {
    await Promise.allSettled(found.map((job) => job.release()));
    throw allUsersError(error, allUsers);
  }
}

function topError(info: { hresult: number; code: string | undefined; description: string }, transient: boolean): TopError {
  return { hresult: info.hresult, code: info.code, description: info.description, transient };
}

/** One look at a job; undefined if it left the queue meanwhile. */
async function readRow(job: BitsJob, allUsers: boolean): Promise<TopRow | undefined> {
  try {
    const [name, state, progress, owner] = await Promise.all([job.getDisplayName(), job.getState(), job.getProgress(), allUsers ? job.getOwner() : undefined]);
    const info = state === 'error' || state === 'transientError' ? await job.getError() : undefined;
    return { id: job.id, name, owner, state, progress, rate: undefined, eta: undefined, error: info === undefined ? undefined : topError(info, state === 'transientError') };
  } catch (error) {
    if (error instanceof ComError) return undefined;
    throw error;
  }
}

/** Not a terminal, or --json: one look at every job, printed as a table or one JSON object per job. */
async function snapshot(jobs: readonly BitsJob[], line: TopLine, io: CliIo): Promise<number> {
  let rows: TopRow[];
  try {
    rows = (await Promise.all(jobs.map((job) => readRow(job, line.allUsers)))).filter((row) => row !== undefined);
  } finally {
    await Promise.allSettled(jobs.map((job) => job.release()));
  }
  const out = (text: string) => io.stdout.write(`${text}\n`);
  if (line.json) {
    for (const { id, name, owner, state, progress, error } of rows) {
      out(JSON.stringify({ id, name, ...(owner === undefined ? {} : { owner }), state, ...progress, ...(error === undefined ? {} : { error }) }));
    }
  } else if (rows.length === 0) {
    out('no jobs');
  } else {
    for (const text of snapshotTable(rows)) out(text);
  }
  return EXIT_OK;
}

type LiveStdin = NonNullable<CliIo['stdin']> & { setRawMode(mode: boolean): unknown };

/** A job on screen, with what its Observables told last. */
interface LiveRow {
  readonly id: string;
  readonly name: string;
  readonly owner: string | undefined;
  /** Our reference; undefined once the job has left the queue (and the reference was released). */
  job: BitsJob | undefined;
  subscription: Subscription | undefined;
  state: JobState | undefined;
  progress: JobProgress | undefined;
  /** When progress last moved (Date.now()). */
  progressAt: number;
  rate: number | undefined;
  eta: number | undefined;
  error: TopError | undefined;
  /** What broke this row's Observables, if anything did. */
  failure: string | undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class TopScreen {
  /** In the order they were found: a row keeps its place. */
  readonly #rows = new Map<string, LiveRow>();
  #selectedId: string | undefined;
  #selectedIndex = 0;
  #offset = 0;
  #status: string | undefined;
  #mode: KeyMode = BROWSE;
  #closing = false;
  #renderTimer: NodeJS.Timeout | undefined;
  #discoveryTimer: NodeJS.Timeout | undefined;
  #clockTimer: NodeJS.Timeout | undefined;
  /** The walk of the job list in progress (one at a time); closing waits for it. */
  #discovering: Promise<void> = Promise.resolve();
  #discoveryDue = false;
  /** Reads of new jobs' names and actions on jobs in flight; closing waits for them. */
  readonly #pending = new Set<Promise<unknown>>();
  readonly #finished: Promise<number>;
  #finish!: (code: number) => void;
  #fail!: (error: unknown) => void;
  readonly #title: string;

  constructor(
    private readonly bits: BitsManager,
    private readonly line: TopLine,
    private readonly io: CliIo,
    private readonly stdin: LiveStdin,
  ) {
    this.#finished = new Promise<number>((resolve, reject) => {
      this.#finish = resolve;
      this.#fail = reject;
    });
    this.#title = BACKEND_NAMES[bits.backend];
  }

  async run(initial: BitsJob[]): Promise<number> {
    const onKeypress = (text: string | undefined, key: Key | undefined) => this.#guard(() => this.#onKey(key ?? { sequence: text }));
    const onResize = () => this.#guard(() => this.#render());
    const onTerm = () => this.#finish(EXIT_TERMINATED);
    // The last resort, should the process end without going through `finally` (process.exit elsewhere).
    const onExit = () => this.io.stdout.write(LEAVE_SCREEN);
    const { stdout } = this.io;
    stdout.write(ENTER_SCREEN);
    process.once('exit', onExit);
    process.once('SIGTERM', onTerm);
    try {
      this.stdin.setRawMode(true);
      emitKeypressEvents(this.stdin);
      this.stdin.on('keypress', onKeypress);
      this.stdin.resume();
      stdout.on('resize', onResize);
      // Ctrl-C arrives as a key in raw mode; SIGINT comes only from elsewhere (kill -INT).
      void this.io.interrupted.then(() => this.#finish(EXIT_INTERRUPTED));
      this.#render();
      this.#track(this.#admit(initial));
      this.#discoveryTimer = setInterval(() => this.#discover(), DISCOVERY_MS);
      // Only the clock: a stalled transfer's rate turns to '-' without anyone asking the service.
      this.#clockTimer = setInterval(() => this.#scheduleRender(), 1000);
      return await this.#finished;
    } finally {
      this.#closing = true;
      clearInterval(this.#discoveryTimer);
      clearInterval(this.#clockTimer);
      clearTimeout(this.#renderTimer);
      stdout.removeListener('resize', onResize);
      this.stdin.removeListener('keypress', onKeypress);
      try {
        this.stdin.setRawMode(false);
      } finally {
        this.stdin.pause();
        stdout.write(LEAVE_SCREEN);
        process.removeListener('exit', onExit);
        process.removeListener('SIGTERM', onTerm);
      }
      await this.#releaseAll();
    }
  }

  /** Runs a handler; what it throws ends `top` (the terminal is restored on the way out). */
  #guard(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.#fail(error);
    }
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch((error: unknown) => this.#fail(error)).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /** Everything let go: Observables unsubscribed, references released, hubs detached (our notify interfaces cleared). */
  async #releaseAll(): Promise<void> {
    await this.#discovering;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    const rows = [...this.#rows.values()];
    for (const row of rows) row.subscription?.unsubscribe();
    const released = await Promise.allSettled(rows.map((row) => row.job?.release()));
    await whenHubsIdle();
    const failed = released.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  // ---- jobs ----

  /** Shows newly found jobs, in the order listed; a job that left the queue meanwhile is skipped. */
  async #admit(jobs: readonly BitsJob[]): Promise<void> {
    const named = await Promise.all(
      jobs.map(async (job) => {
        try {
          const [name, owner] = await Promise.all([job.getDisplayName(), this.line.allUsers ? job.getOwner() : undefined]);
          return { job, name, owner };
        } catch (error) {
          await job.release();
          if (error instanceof ComError) return undefined;
          throw error;
        }
      }),
    );
    for (const found of named) {
      if (found === undefined) continue;
      if (this.#closing || this.#rows.has(found.job.id)) {
        await found.job.release();
        continue;
      }
      const row: LiveRow = {
        id: found.job.id,
        name: found.name,
        owner: found.owner,
        job: found.job,
        subscription: undefined,
        state: undefined,
        progress: undefined,
        progressAt: 0,
        rate: undefined,
        eta: undefined,
        error: undefined,
        failure: undefined,
      };
      this.#rows.set(row.id, row);
      row.subscription = this.#observe(row, found.job);
    }
    this.#scheduleRender();
  }

  /** The row follows the job through the library's Observables: notifications, with the backstop poll. */
  #observe(row: LiveRow, job: BitsJob): Subscription {
    const subscription = new Subscription();
    const broke = (error: unknown) => {
      row.failure = message(error);
      this.#status = `${row.id.slice(0, 8)}: ${row.failure}`;
      this.#scheduleRender();
    };
    const follow = <T>(source: Observable<T>, next: (value: T) => void) =>
      subscription.add(
        source.subscribe({
          next: (value) => {
            next(value);
            this.#scheduleRender();
          },
          error: broke,
        }),
      );
    subscription.add(
      state$(job, HUB_OPTIONS).subscribe({
        next: (state) => {
          row.state = state;
          this.#scheduleRender();
        },
        error: broke,
        // acknowledged or cancelled: the job has left the queue.
        complete: () => this.#left(row),
      }),
    );
    const progress = progress$(job, HUB_OPTIONS).pipe(share());
    follow(progress, (value) => {
      row.progress = value;
      row.progressAt = Date.now();
    });
    follow(progress.pipe(transferRate()), (value) => (row.rate = value));
    follow(progress.pipe(eta()), (value) => (row.eta = value));
    follow(error$(job, HUB_OPTIONS), (event) => (row.error = topError(event.error, event.transient)));
    return subscription;
  }

  /** The job left the queue: its row stays, in its final state, until the next walk no longer lists it. */
  #left(row: LiveRow): void {
    const { job, subscription } = row;
    row.job = undefined;
    row.subscription = undefined;
    subscription?.unsubscribe();
    if (job !== undefined) this.#track(job.release());
    this.#scheduleRender();
  }

  #discover(): void {
    // One walk at a time: a slow service skips a beat rather than piling walks up.
    if (this.#discoveryDue || this.#closing) return;
    this.#discoveryDue = true;
    this.#discovering = (async () => {
      try {
        const listed = await listJobs(this.bits, this.line.allUsers);
        const ids = new Set<string>(listed.map((job) => job.id));
        const fresh = listed.filter((job) => !this.#rows.has(job.id));
        await Promise.all(listed.filter((job) => this.#rows.has(job.id)).map((job) => job.release()));
        await this.#admit(fresh);
        for (const [id, row] of this.#rows) if (row.job === undefined && !ids.has(id)) this.#rows.delete(id);
        this.#scheduleRender();
      } catch (error) {
        this.#status = `could not list the jobs: ${message(error)}`;
        this.#scheduleRender();
      } finally {
        this.#discoveryDue = false;
      }
    })();
  }

  async #act(action: JobAction, target: SelectedJob): Promise<void> {
    const row = this.#ordered().find((candidate) => candidate.id === target.id);
    const label = `"${target.name}" (${target.id.slice(0, 8)})`;
    const job = row?.job;
    if (job === undefined) {
      this.#status = `${label} has left the queue`;
      return;
    }
    try {
      switch (action) {
        case 'suspend':
          await job.suspend();
          this.#status = `suspended ${label}`;
          break;
        case 'resume':
          await job.resume();
          this.#status = `resumed ${label}`;
          break;
        case 'cancel': {
          const result = await job.cancel();
          this.#status = `cancelled ${label} (${result.code ?? result.hresult})`;
          break;
        }
        case 'complete': {
          const result = await job.complete();
          this.#status = `completed ${label}${result.partial ? ', partly: only the files that arrived' : ''} (${result.code ?? result.hresult})`;
          break;
        }
      }
    } catch (error) {
      // The service's refusal (a ComError names its HRESULT) goes on the status line; top goes on.
      this.#status = `could not ${action} ${label}: ${message(error)}`;
    }
    this.#scheduleRender();
  }

  // ---- keys ----

  #ordered(): LiveRow[] {
    return [...this.#rows.values()];
  }

  /** The selected row's index, following the selected job when rows come and go. */
  #selection(rows: readonly LiveRow[]): number {
    const found = this.#selectedId === undefined ? -1 : rows.findIndex((row) => row.id === this.#selectedId);
    const index = found >= 0 ? found : Math.max(0, Math.min(this.#selectedIndex, rows.length - 1));
    this.#selectedIndex = index;
    this.#selectedId = rows[index]?.id;
    return index;
  }

  #onKey(key: Key): void {
    const rows = this.#ordered();
    const index = this.#selection(rows);
    const row = rows[index];
    const page = Math.max(1, (this.io.stdout.rows || 24) - 5);
    const outcome = onKey(this.#mode, key, row === undefined ? undefined : { id: row.id, name: row.name, state: row.state }, page);
    this.#mode = outcome.mode;
    if (outcome.status !== undefined) this.#status = outcome.status;
    const command = outcome.command;
    switch (command?.kind) {
      case 'quit':
        this.#finish(EXIT_OK);
        return;
      case 'move':
      case 'moveTo': {
        const last = Math.max(0, rows.length - 1);
        const to = command.kind === 'move' ? index + command.by : command.to === 'first' ? 0 : last;
        this.#selectedIndex = Math.max(0, Math.min(last, to));
        this.#selectedId = rows[this.#selectedIndex]?.id;
        break;
      }
      case 'act':
        this.#track(this.#act(command.action, command.job));
        break;
      case 'redraw':
        this.io.stdout.write(`${ESC}2J`);
        break;
      case undefined:
        break;
    }
    this.#render();
  }

  // ---- drawing ----

  /** Redraws soon: a burst of notifications makes one frame. */
  #scheduleRender(): void {
    if (this.#renderTimer !== undefined || this.#closing) return;
    this.#renderTimer = setTimeout(() => {
      this.#renderTimer = undefined;
      this.#guard(() => this.#render());
    }, 20);
  }

  #render(): void {
    if (this.#closing) return;
    clearTimeout(this.#renderTimer);
    this.#renderTimer = undefined;
    const { stdout } = this.io;
    const width = stdout.columns || 80;
    const height = stdout.rows || 24;
    const live = this.#ordered();
    const selected = this.#selection(live);
    const now = Date.now();
    const rows: TopRow[] = live.map((row) => {
      const moving = row.state === 'transferring' && now - row.progressAt <= STALE_MS;
      return {
        id: row.id,
        name: row.name,
        owner: row.owner,
        state: row.state,
        progress: row.progress,
        rate: moving ? row.rate : undefined,
        eta: moving ? row.eta : undefined,
        error: row.error,
      };
    });
    const frame = renderTopScreen(
      { backend: this.#title, allUsers: this.line.allUsers, rows, selected, offset: this.#offset, status: this.#status },
      width,
      height,
    );
    this.#offset = frame.offset;
    let out = BEGIN_FRAME;
    frame.lines.forEach((text, i) => {
      out += `${ESC}${i + 1};1H`;
      out += i === frame.highlight ? `${ESC}7m${cell(text, width)}${ESC}0m` : `${text}${ESC}K`;
    });
    if (frame.lines.length < height) out += `${ESC}${frame.lines.length + 1};1H${ESC}J`;
    stdout.write(out + END_FRAME);
  }
}
