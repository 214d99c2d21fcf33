import path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKENDS, type Backend } from '../com/backend.js';
import { JOB_STATES, type JobState } from '../com/enums.js';
import { InvalidArgumentError } from '../com/errors.js';
import { parseGuid, type Guid } from '../com/guid.js';
import { checkLocalPath, checkRemoteUrl } from '../com/validate.js';

/**
 * The command line, read completely before anything connects: an unknown command or option, a
 * missing argument or a bad value (an id that is no GUID, a URL or local name the library would
 * refuse) is a usage error (exit 2) on every system, never a "no BITS here" or "state folder in use".
 */

/** The options a command may take besides the global ones (--backend, --json, --help). */
type CommandOption = 'state' | 'name-prefix' | 'all-users';

interface CommandSpec {
  readonly args: readonly string[];
  readonly options: readonly CommandOption[];
  readonly summary: string;
}

/** Every command: its arguments, its own options and what it does. The usage text is made from this. */
const COMMANDS = {
  get: { args: ['url', 'file'], options: [], summary: 'download through BITS, with progress; Ctrl-C leaves the job running' },
  list: { args: [], options: ['state', 'name-prefix', 'all-users'], summary: "the current user's jobs" },
  top: { args: [], options: ['all-users'], summary: 'a live view of the jobs: keys to suspend, resume, cancel, complete' },
  doctor: { args: [], options: [], summary: 'what this machine offers, and which backend connect() would take and why' },
  watch: { args: ['id'], options: [], summary: "follow a job's state and progress until it finishes" },
  cancel: { args: ['id'], options: [], summary: 'cancel a job' },
  complete: { args: ['id'], options: [], summary: 'complete a transferred job (its files appear at their names)' },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

const OPTION_USAGE: Record<CommandOption, string> = {
  state: '--state <state>[,<state>...]',
  'name-prefix': '--name-prefix <prefix>',
  'all-users': '--all-users',
};

const OPTION_HELP: Record<CommandOption, string> = {
  state: `list: only jobs in these states (${JOB_STATES.join(', ')})`,
  'name-prefix': 'list: only jobs whose display name starts with this',
  'all-users': "list, top: every user's jobs (needs an elevated, administrator process)",
};

export interface ListFilter {
  readonly states?: ReadonlySet<JobState>;
  readonly namePrefix?: string;
  readonly allUsers: boolean;
}

/** A command line that is known to be well formed. */
export type CommandLine =
  | { readonly command: 'help' }
  | ({
      readonly command: 'get';
      readonly url: string;
      /** The absolute local name: resolved against the working folder, then checked as the library checks it. */
      readonly file: string;
    } & Common)
  | ({ readonly command: 'list'; readonly filter: ListFilter } & Common)
  | ({ readonly command: 'top'; readonly allUsers: boolean } & Common)
  | ({ readonly command: 'doctor' } & Common)
  | ({ readonly command: 'watch' | 'cancel' | 'complete'; readonly id: Guid } & Common);

interface Common {
  /** Undefined: connect() chooses (BITS on Windows, the portable engine elsewhere or when BITS refuses). */
  readonly backend: Backend | undefined;
  /** The portable engine's state directory; undefined: the platform's usual one. */
  readonly stateDir: string | undefined;
  readonly json: boolean;
}

/** The command line is wrong: exit 2 with the message and the usage line of `command` (or of the CLI). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** One line: how `command` is called. */
export function usageLine(command?: CommandName): string {
  if (command === undefined) return 'Usage: rx-bits <command> [options]  (rx-bits --help lists them)';
  const spec: CommandSpec = COMMANDS[command];
  const parts = [...spec.args.map((arg) => `<${arg}>`), ...spec.options.map((option) => `[${OPTION_USAGE[option]}]`)];
  return `Usage: rx-bits ${command} ${[...parts, '[--backend <name>]', '[--state-dir <dir>]', '[--json]'].join(' ')}`;
}

export function helpText(): string {
  const commands = Object.entries(COMMANDS).map(([name, spec]: [string, CommandSpec]) => {
    const call = [name, ...spec.args.map((arg) => `<${arg}>`)].join(' ');
    return `  ${call.padEnd(20)}${spec.summary}`;
  });
  const options = [
    ...(Object.keys(OPTION_USAGE) as CommandOption[]).map((option) => `  ${OPTION_USAGE[option].padEnd(30)}${OPTION_HELP[option]}`),
    `  ${'--backend <name>'.padEnd(30)}${BACKENDS.join(', ')}; by default BITS on Windows, portable elsewhere`,
    `  ${'--state-dir <dir>'.padEnd(30)}the portable engine's job store (default: the per-user state folder)`,
    `  ${'--json'.padEnd(30)}machine output: one JSON object per line`,
    `  ${'--help'.padEnd(30)}this text`,
  ];
  return [
    'Usage: rx-bits <command> [options]',
    '',
    'Commands:',
    ...commands,
    '',
    'Options:',
    ...options,
    '',
    'Exit codes: 0 done, 1 job failed, 2 usage, 3 service error, 4 no BITS here, 130 interrupted.',
    '',
  ].join('\n');
}

/** Reads argv; throws {@link UsageError} for anything that is not a well-formed command line. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      tokens: true,
      options: {
        backend: { type: 'string' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        state: { type: 'string', multiple: true },
        'name-prefix': { type: 'string' },
        'all-users': { type: 'boolean' },
      },
    });
  } catch (error) {
    // node:util's messages name the option ("Unknown option '--frob'", "Option '--state <value>' argument missing").
    const command = argv.find((arg) => !arg.startsWith('-'));
    throw new UsageError(error instanceof Error ? error.message : String(error), command !== undefined && isCommand(command) ? command : undefined);
  }
  const { values, positionals, tokens } = parsed;
  if (values.help === true) return { command: 'help' };
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError('no command given');
  if (!isCommand(name)) throw new UsageError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const spec: CommandSpec = COMMANDS[name];
  for (const token of tokens) {
    if (token.kind !== 'option' || ['backend', 'state-dir', 'json', 'help'].includes(token.name)) continue;
    if (!(spec.options as readonly string[]).includes(token.name)) throw new UsageError(`${name} takes no option '${token.rawName}'`, name);
  }
  if (rest.length !== spec.args.length) {
    const expected = spec.args.length === 0 ? 'no arguments' : spec.args.map((arg) => `<${arg}>`).join(' ');
    throw new UsageError(`${name} takes ${expected}; got ${rest.length === 0 ? 'none' : rest.map((arg) => `'${arg}'`).join(' ')}`, name);
  }
  const backend = values.backend;
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`--backend: unknown backend '${backend}'; expected one of ${BACKENDS.join(', ')}`, name);
  }
  const stateDir = values['state-dir'];
  if (stateDir === '') throw new UsageError('--state-dir: expected a folder', name);
  const common: Common = { backend: backend as Backend | undefined, stateDir, json: values.json === true };
  switch (name) {
    case 'get':
      // The library's own checks, as download() would apply them after connecting: a value it would
      // refuse must not wait for a connection that may fail first (the state folder held, no BITS).
      return {
        command: name,
        url: argument(name, () => checkRemoteUrl(rest[0], '<url>', LOCAL_STYLE)),
        file: argument(name, () => checkLocalPath(localName(rest[1]!), '<file>', LOCAL_STYLE)),
        ...common,
      };
    case 'list':
      return { command: name, filter: listFilter(values.state, values['name-prefix'], values['all-users'] === true), ...common };
    case 'top':
      return { command: name, allUsers: values['all-users'] === true, ...common };
    case 'doctor':
      return { command: name, ...common };
    default:
      return { command: name, id: argument(name, () => parseGuid(rest[0], '<id>')), ...common };
  }
}

/** How local names look here: the CLI resolves them with this platform's `path`, as connect() uses it by default. */
const LOCAL_STYLE = process.platform === 'win32' ? 'win32' : 'posix';

/** Runs one of the library's checks on an argument; what it refuses is a usage error of `command`. */
function argument<T>(command: CommandName, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message, command);
    throw error;
  }
}

/**
 * `given` made absolute against the working folder, as BITS needs it. A name that ends in a
 * separator, '.' or '..' names a folder: path.resolve() would drop that ('downloads/' becomes
 * '/cwd/downloads'), so a separator is kept at the end for checkLocalPath to refuse it, rather than
 * the download running and Complete failing on the folder. An empty name stays empty (refused too),
 * not the working folder.
 */
function localName(given: string): string {
  if (given === '') return given;
  const resolved = path.resolve(given);
  const namesFolder = (LOCAL_STYLE === 'win32' ? /(^|[\\/:])\.{0,2}$/ : /(^|\/)\.{0,2}$/).test(given);
  return namesFolder && !resolved.endsWith(path.sep) ? `${resolved}${path.sep}` : resolved;
}

function listFilter(states: readonly string[] | undefined, namePrefix: string | undefined, allUsers: boolean): ListFilter {
  const wanted = states?.flatMap((value) => value.split(',')).map((state) => state.trim());
  for (const state of wanted ?? []) {
    if (!(JOB_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`--state: unknown state '${state}'; expected one of ${JOB_STATES.join(', ')}`, 'list');
    }
  }
  return {
    allUsers,
    ...(wanted === undefined ? {} : { states: new Set(wanted as JobState[]) }),
    ...(namePrefix === undefined ? {} : { namePrefix }),
  };
}
