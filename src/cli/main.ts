import { lastValueFrom, takeWhile, tap, type Subscription } from 'rxjs';
import { createDownloadJob, followDownload } from '../app/download.js';
import { ComError, InvalidArgumentError, NotSupportedByBackendError, RxBitsError, UnsupportedPlatformError } from '../com/errors.js';
import type { Guid } from '../com/guid.js';
import { connect, type BitsManager } from '../com/manager.js';
import type { ComRuntime } from '../com/runtime.js';
import { progress$ } from '../observables/progress.js';
import { state$ } from '../observables/state.js';
import { BitsJobError } from '../operators/bits-job-error.js';
import { allUsersError } from './all-users.js';
import { helpText, parseCommandLine, UsageError, usageLine, type ListFilter } from './command-line.js';
import { doctor } from './doctor.js';
import { ProgressDisplay } from './progress-line.js';
import { top } from './top.js';

/** Exit codes a script can rely on. */
export const EXIT = {
  ok: 0,
  /** The job failed (HTTP error, missing file, ...). */
  jobFailed: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The service answered an error (COM). */
  service: 3,
  /** No BITS here (not Windows). */
  unsupported: 4,
  /** Ctrl-C: the job was left in the service. */
  interrupted: 130,
} as const;

export interface CliIo {
  /** Keys for `top`; absent or not a terminal, `top` prints one snapshot and exits. */
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  readonly stderr: NodeJS.WritableStream;
  /** Resolves when the user asks to stop (Ctrl-C); the CLI then leaves the job in the service. */
  readonly interrupted: Promise<void>;
  /** The COM runtime; ole32 on Windows when absent. */
  readonly runtime?: ComRuntime;
}

/** Runs the CLI; answers the exit code. Errors are printed, never thrown. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  // --json decides how even a usage error is reported, so it is looked for before parsing.
  let json = argv.includes('--json');
  try {
    const line = parseCommandLine(argv);
    if (line.command === 'help') {
      io.stdout.write(helpText());
      return EXIT.ok;
    }
    json = line.json;
    // The doctor looks at how connecting goes: it connects (or fails to) its own way.
    if (line.command === 'doctor') return await doctor(line, io);
    const bits = await connect({
      ...(line.backend === undefined ? {} : { backend: line.backend }),
      ...(io.runtime === undefined ? {} : { runtime: io.runtime }),
      ...(line.stateDir === undefined ? {} : { stateDir: line.stateDir }),
    });
    try {
      switch (line.command) {
        case 'get':
          return await get(bits, line.url, line.file, json, io, out);
        case 'list':
          return await list(bits, line.filter, json, out);
        case 'top':
          return await top(bits, line, io);
        case 'watch':
          return await watch(bits, line.id, json, out);
        case 'cancel':
        case 'complete': {
          const job = await bits.getJob(line.id);
          try {
            const result = line.command === 'cancel' ? await job.cancel() : await job.complete();
            out(json ? JSON.stringify({ id: job.id, ...result }) : `${line.command === 'cancel' ? 'cancelled' : 'completed'} ${job.id} (${result.code})`);
            return EXIT.ok;
          } finally {
            await job.release();
          }
        }
      }
    } finally {
      await bits.release();
    }
  } catch (error) {
    const [code, message] = classify(error);
    const usage = error instanceof UsageError ? `${usageLine(error.command)}\n` : '';
    io.stderr.write(json ? `${JSON.stringify({ error: message, exitCode: code })}\n` : `rx-bits: ${message}\n${usage}`);
    return code;
  }
}

async function list(bits: BitsManager, filter: ListFilter, json: boolean, out: (line: string) => void): Promise<number> {
  const jobs = bits.jobs({ allUsers: filter.allUsers, ...(filter.namePrefix === undefined ? {} : { displayNamePrefix: filter.namePrefix }) });
  try {
    for await (const job of jobs) {
      try {
        const [name, state, progress, owner] = await Promise.all([
          job.getDisplayName(),
          job.getState(),
          job.getProgress(),
          filter.allUsers ? job.getOwner() : undefined,
        ]);
        if (filter.states !== undefined && !filter.states.has(state)) continue;
        const ownerColumn = owner === undefined ? '' : `  ${owner}`;
        out(
          json
            ? JSON.stringify({ id: job.id, name, state, ...(owner === undefined ? {} : { owner }), ...progress })
            : `${job.id}  ${state.padEnd(14)} ${progress.bytesTransferred}/${progress.bytesTotal ?? '?'} bytes  ${name}${ownerColumn}`,
        );
      } finally {
        await job.release();
      }
    }
  } catch (error) {
    throw allUsersError(error, filter.allUsers);
  }
  return EXIT.ok;
}

async function watch(bits: BitsManager, id: Guid, json: boolean, out: (line: string) => void): Promise<number> {
  const job = await bits.getJob(id);
  try {
    const progress = progress$(job, { pollInterval: 250 }).subscribe((p) => {
      if (!json) out(`${p.bytesTransferred}/${p.bytesTotal ?? '?'} bytes, ${p.filesTransferred}/${p.filesTotal} files`);
    });
    const final = await lastValueFrom(
      state$(job, { pollInterval: 250 }).pipe(
        tap((state) => out(json ? JSON.stringify({ id: job.id, state }) : state)),
        takeWhile((state) => !['transferred', 'error', 'acknowledged', 'cancelled'].includes(state), true),
      ),
    );
    progress.unsubscribe();
    return final === 'error' ? EXIT.jobFailed : EXIT.ok;
  } finally {
    await job.release();
  }
}

function classify(error: unknown): [number, string] {
  if (error instanceof UsageError) return [EXIT.usage, error.message];
  if (error instanceof InvalidArgumentError) return [EXIT.usage, error.message];
  if (error instanceof BitsJobError) return [EXIT.jobFailed, error.message];
  if (error instanceof UnsupportedPlatformError || error instanceof NotSupportedByBackendError) return [EXIT.unsupported, error.message];
  if (error instanceof ComError || error instanceof RxBitsError) return [EXIT.service, error.message];
  return [EXIT.service, error instanceof Error ? error.message : String(error)];
}

/**
 * Downloads `url` to `file` (absolute, checked) as download() would, but on a job of its own making:
 * download() either cancels its job whenever the subscriber leaves or keeps it whatever happens
 * (`persist`), and `get` needs both. Ctrl-C keeps the job running in the service; every other way
 * out that did not complete it (the job failed, Complete or another call was refused, anything
 * thrown) cancels it, so no job and no BIT*.tmp file stay behind. Knowing the job from the start also
 * lets Ctrl-C name it before any progress was seen.
 */
async function get(bits: BitsManager, url: string, file: string, json: boolean, io: CliIo, out: (line: string) => void): Promise<number> {
  const job = await createDownloadJob([{ url, localPath: file }], { manager: bits, appName: 'rx-bits' });
  const display = new ProgressDisplay(io.stdout, io.stdout.isTTY === true);
  try {
    let subscription: Subscription | undefined;
    const finished = new Promise<'done'>((resolve, reject) => {
      subscription = followDownload(job, { resume: true, pollInterval: 250 }).subscribe({
        next: (snapshot) => {
          if (json) out(JSON.stringify(snapshot));
          else display.show(snapshot);
        },
        error: reject,
        complete: () => resolve('done'),
      });
    });
    const ended = await Promise.race([finished, io.interrupted.then(() => 'interrupted' as const)]);
    display.break();
    if (ended === 'interrupted') {
      subscription?.unsubscribe();
      io.stderr.write(`rx-bits: interrupted; the job goes on in the service. Pick it up with: rx-bits watch ${job.id}, then rx-bits complete ${job.id}\n`);
      return EXIT.interrupted;
    }
    if (!json) out(`saved ${file}`);
    return EXIT.ok;
  } catch (error) {
    // Not completed, not left on purpose: nothing of it may stay behind. The error follows on a line of its own.
    display.break();
    await job.cancel().catch(() => undefined);
    throw error;
  } finally {
    await job.release();
  }
}
