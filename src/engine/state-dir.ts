import { homedir } from 'node:os';
import path from 'node:path';
import { RxBitsError } from '../com/errors.js';

const FOLDER = 'rx-bits';

/** An environment variable that names a directory: set, not empty. */
function variable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The platform's usual place for per-user application state, with an rx-bits folder: Windows
 * `%LOCALAPPDATA%\rx-bits` (else `%USERPROFILE%\AppData\Local\rx-bits`), macOS
 * `~/Library/Application Support/rx-bits`, others `$XDG_STATE_HOME/rx-bits` or `~/.local/state/rx-bits`.
 *
 * A pure function of its arguments, so that every platform's answer can be checked on any of them:
 * the path flavour follows `platform`, not the host.
 */
export function defaultStateDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (platform === 'win32') {
    const local = variable(env, 'LOCALAPPDATA');
    if (local !== undefined) return path.win32.join(local, FOLDER);
    return path.win32.join(variable(env, 'USERPROFILE') ?? home, 'AppData', 'Local', FOLDER);
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', FOLDER);
  // The XDG Base Directory specification says a relative value is invalid and must be ignored.
  const state = variable(env, 'XDG_STATE_HOME');
  if (state !== undefined && path.posix.isAbsolute(state)) return path.posix.join(state, FOLDER);
  return path.posix.join(home, '.local', 'state', FOLDER);
}

/** The state directory cannot be created, read or written; `cause` is the operating system's error. */
export class StateDirectoryError extends RxBitsError {
  override readonly name: string = 'StateDirectoryError';
  constructor(
    readonly directory: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${directory}: ${message}`, options);
  }
}

/**
 * Another live process holds the state directory's lock (or this process does, through another
 * store). A lock written on another host is reported as held too: its process cannot be probed.
 */
export class StateDirectoryInUseError extends RxBitsError {
  override readonly name: string = 'StateDirectoryInUseError';
  constructor(
    readonly directory: string,
    readonly pid: number,
    readonly hostname: string,
  ) {
    super(
      `${directory} is in use by process ${pid} on ${hostname}; ` +
        `one process at a time keeps its jobs there (if that process is gone, delete ${path.join(directory, 'lock')})`,
    );
  }
}
