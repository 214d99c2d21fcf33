import { parseArgs } from 'node:util';
import path from 'node:path';
import { lastValueFrom, takeWhile, tap, type Subscription } from 'rxjs';
import { download, type DownloadSnapshot } from '../app/download.js';
import { BACKENDS, type Backend } from '../com/backend.js';
import { ComError, InvalidArgumentError, NotSupportedByBackendError, RxBitsError, UnsupportedPlatformError } from '../com/errors.js';
import { connect, type BitsManager } from '../com/manager.js';
import type { ComRuntime } from '../com/runtime.js';
import { progress$ } from '../observables/progress.js';
import { state$ } from '../observables/state.js';
import { BitsJobError } from '../operators/bits-job-error.js';
import { ProgressDisplay } from './progress-line.js';

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
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  /** Resolves when the user asks to stop (Ctrl-C); the CLI then leaves the job in the service. */
  readonly interrupted: Promise<void>;
  /** The COM runtime; ole32 on Windows when absent. */
  readonly runtime?: ComRuntime;
}

const USAGE = `Usage: rx-bits <command> [options]

Commands:
  get <url> <file>    download through BITS, with progress; Ctrl-C leaves the job running
  list                the current user's jobs
  watch <id>          follow a job's state and progress until it finishes
  cancel <id>         cancel a job
  complete <id>       complete a transferred job (its files appear at their names)

Options:
  --backend <name>    bits (default) or delivery-optimization
  --json              machine output: one JSON object per line
  --help              this text

Exit codes: 0 done, 1 job failed, 2 usage, 3 service error, 4 no BITS here, 130 interrupted.
`;

class UsageError extends Error {}

/** Runs the CLI; answers the exit code. Errors are printed, never thrown. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  let json = false;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { backend: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    });
    json = values.json === true;
    const [command, ...rest] = positionals;
    if (values.help === true || command === undefined) {
      io.stdout.write(USAGE);
      return command === undefined && values.help !== true ? EXIT.usage : EXIT.ok;
    }
    const backend = (values.backend ?? 'bits') as Backend;
    if (!BACKENDS.includes(backend)) throw new UsageError(`unknown backend '${backend}'; expected ${BACKENDS.join(' or ')}`);
    const args = (count: number, names: string) => {
      if (rest.length !== count) throw new UsageError(`${command} takes ${names}`);
      return rest as string[];
    };
    const bits = await connect({ backend, ...(io.runtime === undefined ? {} : { runtime: io.runtime }) });
    try {
      switch (command) {
        case 'get': {
          const [url, file] = args(2, '<url> <file>');
          return await get(bits, url!, path.resolve(file!), json, io, out);
        }
        case 'list': {
          args(0, 'no arguments');
          for await (const job of bits.jobs()) {
            const [name, state, progress] = await Promise.all([job.getDisplayName(), job.getState(), job.getProgress()]);
            out(json ? JSON.stringify({ id: job.id, name, state, ...progress }) : `${job.id}  ${state.padEnd(14)} ${progress.bytesTransferred}/${progress.bytesTotal ?? '?'} bytes  ${name}`);
            await job.release();
          }
          return EXIT.ok;
        }
        case 'watch': {
          const [id] = args(1, '<id>');
          const job = await bits.getJob(id!);
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
        case 'cancel':
        case 'complete': {
          const [id] = args(1, '<id>');
          const job = await bits.getJob(id!);
          try {
            const result = command === 'cancel' ? await job.cancel() : await job.complete();
            out(json ? JSON.stringify({ id: job.id, ...result }) : `${command === 'cancel' ? 'cancelled' : 'completed'} ${job.id} (${result.code})`);
            return EXIT.ok;
          } finally {
            await job.release();
          }
        }
        default:
          throw new UsageError(`unknown command '${command}'`);
      }
    } finally {
      await bits.release();
    }
  } catch (error) {
    const [code, message] = classify(error);
    io.stderr.write(json ? `${JSON.stringify({ error: message, exitCode: code })}\n` : `rx-bits: ${message}\n${code === EXIT.usage ? `\n${USAGE}` : ''}`);
    return code;
  }
}

function classify(error: unknown): [number, string] {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    return [EXIT.usage, error.message];
  }
  if (error instanceof InvalidArgumentError) return [EXIT.usage, error.message];
  if (error instanceof BitsJobError) return [EXIT.jobFailed, error.message];
  if (error instanceof UnsupportedPlatformError || error instanceof NotSupportedByBackendError) return [EXIT.unsupported, error.message];
  if (error instanceof ComError || error instanceof RxBitsError) return [EXIT.service, error.message];
  return [EXIT.service, error instanceof Error ? error.message : String(error)];
}

async function get(bits: BitsManager, url: string, file: string, json: boolean, io: CliIo, out: (line: string) => void): Promise<number> {
  const display = new ProgressDisplay(io.stdout, io.stdout.isTTY === true);
  let last: DownloadSnapshot | undefined;
  let subscription: Subscription | undefined;
  const finished = new Promise<number>((resolve, reject) => {
    // persist: Ctrl-C must leave the job in the service; failures are cancelled below.
    subscription = download(url, file, { manager: bits, appName: 'rx-bits', persist: true, pollInterval: 250 }).subscribe({
        next: (snapshot) => {
          last = snapshot;
          if (json) out(JSON.stringify(snapshot));
          else display.show(snapshot);
        },
        error: reject,
        complete: () => {
          display.break();
          if (!json) out(`saved ${file}`);
          resolve(EXIT.ok);
        },
      });
  });
  const interrupted = io.interrupted.then(() => {
    subscription?.unsubscribe();
    display.break();
    const id = last?.jobId ?? '<id>';
    io.stderr.write(`rx-bits: interrupted; the job goes on in the service. Pick it up with: rx-bits watch ${id}, then rx-bits complete ${id}\n`);
    return EXIT.interrupted;
  });
  try {
    return await Promise.race([finished, interrupted]);
  } catch (error) {
    if (error instanceof BitsJobError) {
      const job = await bits.getJob(error.jobId);
      await job.cancel().catch(() => undefined);
      await job.release();
    }
    throw error;
  }
}
