import type { Backend } from '../com/backend.js';
import { BITS_VERSIONS } from '../com/bits-versions.js';
import { ERROR_NOT_LOGGED_ON, formatHresult, hresultMessage, hresultName, labelHresult } from '../com/hresult.js';
import { CHOICE_REASONS, REFUSALS } from '../com/manager.js';
import { environmentProxies, type ProxySetting } from '../engine/proxy.js';
import type { ApartmentProbe, Attempt, DoctorProbe, ProxyVariable, StateDirProbe } from './doctor-probe.js';

/**
 * `rx-bits doctor`'s report, made from the probe's facts by pure functions: {@link diagnose} decides,
 * {@link renderDoctor} prints. `--json` prints the report itself, so both say the same things.
 */


/** The answer of one service. */
export interface ServiceReport {
  readonly reachable: boolean;
  /** The failure HRESULT, `0x800704DD`; null when it answered, or failed without one. */
  readonly hresult: string | null;
  /** Its name, `ERROR_NOT_LOGGED_ON`. */
  readonly code: string | null;
  /** What it means, or what went wrong when there is no HRESULT. */
  readonly meaning: string | null;
  readonly summary: string;
}

export interface BitsVersionReport {
  readonly version: string;
  readonly clsid: string;
  readonly shipsIn: string;
  readonly adds: string;
}

export interface BitsReport extends ServiceReport {
  /** Whether connect() without a backend falls back to the portable engine on this failure. */
  readonly refusal: boolean | null;
  /** The newest versioned class id that answered; 1.0 when only the plain one did; null when BITS did not answer. */
  readonly newestVersion: BitsVersionReport | null;
  /** The versioned class ids asked, newest first, and what each answered. */
  readonly versionsTried: ReadonlyArray<{ readonly version: string; readonly answered: boolean; readonly hresult: string | null; readonly code: string | null }>;
}

export interface ProxyVariableReport {
  readonly variable: ProxyVariable;
  /** Credentials masked: `http://***@proxy:8080`. */
  readonly value: string;
}

export interface DoctorReport {
  readonly system: {
    readonly platform: string;
    readonly release: string;
    readonly arch: string;
    readonly node: string;
    readonly rxBits: string | null;
    readonly wine: string | null;
    readonly summary: string;
  };
  readonly runtime: 'platform' | 'injected' | 'none';
  readonly bits: BitsReport;
  readonly deliveryOptimization: ServiceReport;
  readonly logonSession: {
    /** null: not known (no BITS here, or it failed for another reason). */
    readonly canUseBits: boolean | null;
    readonly summary: string;
    readonly advice: readonly string[];
  };
  readonly comApartment: {
    readonly summary: string;
    /** CoGetApartmentType of the JS thread (Windows only). */
    readonly jsThread: { readonly type: string; readonly qualifier: string } | null;
  };
  readonly proxy: {
    readonly http: ProxyVariableReport | null;
    readonly https: ProxyVariableReport | null;
    readonly noProxy: ProxyVariableReport | null;
    readonly summary: string;
    /** On Windows: BITS does not read these. */
    readonly note: string | null;
  };
  readonly portableEngine: {
    readonly stateDir: string;
    readonly explicit: boolean;
    readonly exists: boolean;
    readonly jobRecords: number | null;
    /** A live process other than this one holds the directory. */
    readonly inUseBy: { readonly pid: number; readonly hostname: string; readonly startedAt: string } | null;
    /** connect() could open it now. */
    readonly usable: boolean;
    readonly summary: string;
  };
  readonly choice: {
    /** What connect() would take; null when it would fail. */
    readonly backend: Backend | null;
    readonly reason: string;
    /** --backend named it (connect() never falls back then). */
    readonly asked: boolean;
    /** Connecting to it would work now. */
    readonly usable: boolean;
    readonly problem: string | null;
  };
  /** 0: there is a usable backend (the choice); 3: there is none. */
  readonly exitCode: 0 | 3;
}

const SERVICE_NAMES = { bits: 'BITS', 'delivery-optimization': 'Delivery Optimization' } as const;

function serviceReport(attempt: Attempt, service: keyof typeof SERVICE_NAMES, platform: string): ServiceReport {
  if (attempt.ok) return { reachable: true, hresult: null, code: null, meaning: null, summary: 'reachable' };
  switch (attempt.kind) {
    case 'com': {
      const meaning = hresultMessage(attempt.hresult) ?? attempt.message;
      return {
        reachable: false,
        hresult: formatHresult(attempt.hresult),
        code: hresultName(attempt.hresult) ?? null,
        meaning,
        summary: `not reachable: ${labelHresult(attempt.hresult)}: ${meaning}`,
      };
    }
    case 'unsupported': {
      const meaning = platform === 'win32' ? attempt.message : `${SERVICE_NAMES[service]} is a Windows service; this process runs on '${platform}'`;
      return { reachable: false, hresult: null, code: null, meaning, summary: `not here: ${meaning}` };
    }
    case 'error':
      return { reachable: false, hresult: null, code: null, meaning: attempt.message, summary: `not reachable: ${attempt.message}` };
  }
}

function versionReport(version: string): BitsVersionReport | null {
  const entry = BITS_VERSIONS.find((candidate) => candidate.version === version);
  return entry === undefined ? null : { version: entry.version, clsid: entry.clsid, shipsIn: entry.shipsIn, adds: entry.adds };
}

function bitsReport(probe: DoctorProbe): BitsReport {
  const base = serviceReport(probe.bits, 'bits', probe.system.platform);
  const versionsTried = probe.bitsVersions.map(({ version, attempt }) => ({
    version,
    answered: attempt.ok,
    hresult: !attempt.ok && attempt.kind === 'com' ? formatHresult(attempt.hresult) : null,
    code: !attempt.ok && attempt.kind === 'com' ? (hresultName(attempt.hresult) ?? null) : null,
  }));
  const refusal = !probe.bits.ok && probe.bits.kind === 'com' ? REFUSALS.has(probe.bits.hresult) : null;
  if (!probe.bits.ok) return { ...base, refusal, newestVersion: null, versionsTried };
  const newest = versionReport(probe.bitsVersions.find(({ attempt }) => attempt.ok)?.version ?? '1.0');
  const summary =
    newest === null
      ? base.summary
      : newest.version === '1.0'
        ? `${base.summary}; newest interface version 1.0 (no versioned class id answered, only CLSID_BackgroundCopyManager, as on Wine)`
        : `${base.summary}; newest interface version ${newest.version} (${newest.shipsIn}: ${newest.adds})`;
  return { ...base, summary, refusal, newestVersion: newest, versionsTried };
}

function logonReport(probe: DoctorProbe): DoctorReport['logonSession'] {
  const bits = probe.bits;
  if (bits.ok) return { canUseBits: true, summary: 'this session can use BITS', advice: [] };
  if (bits.kind === 'com' && bits.hresult === ERROR_NOT_LOGGED_ON) {
    return {
      canUseBits: false,
      summary:
        `this logon session cannot use BITS: it answers ${labelHresult(ERROR_NOT_LOGGED_ON)} to a process outside an interactive logon ` +
        `(a service, an SSH session, a scheduled task set to run whether the user is logged on or not, ...)`,
      advice: [
        'run it from an interactive logon (a desktop session, or a scheduled task set to "Run only when user is logged on")',
        "or use the portable engine: connect() without a backend falls back to it by itself; --backend portable (connect({ backend: 'portable' })) asks for it",
      ],
    };
  }
  if (bits.kind === 'unsupported') return { canUseBits: null, summary: `not applicable: no BITS on '${probe.system.platform}'`, advice: [] };
  return { canUseBits: null, summary: 'not known: BITS did not answer (see BITS above)', advice: [] };
}

const APARTMENT_TYPES: Readonly<Record<number, string>> = { [-1]: 'current', 0: 'STA', 1: 'MTA', 2: 'NA', 3: 'main STA' };
const APARTMENT_QUALIFIERS: Readonly<Record<number, string>> = {
  0: 'none',
  1: 'implicit MTA',
  2: 'NA on MTA',
  3: 'NA on STA',
  4: 'NA on implicit MTA',
  5: 'NA on main STA',
  6: 'application STA',
  7: 'reserved',
};

function apartmentReport(apartment: ApartmentProbe, platform: string, runtime: DoctorProbe['runtime']): DoctorReport['comApartment'] {
  if (apartment.kind === 'not-windows') {
    const injected = runtime === 'injected' ? ' (an injected COM runtime stands in for ole32 here)' : '';
    return { summary: `no COM on ${platform}: the portable engine needs none${injected}`, jsThread: null };
  }
  const ours =
    'rx-bits joins the multithreaded apartment on a thread of its own and keeps it alive; it never initializes COM on the JS thread';
  if (apartment.kind === 'failed') {
    const detail = apartment.hresult === undefined ? apartment.message : `${labelHresult(apartment.hresult)}: ${apartment.message}`;
    return { summary: `${ours}; the JS thread: ${detail}`, jsThread: null };
  }
  const type = APARTMENT_TYPES[apartment.type] ?? `type ${apartment.type}`;
  const qualifier = APARTMENT_QUALIFIERS[apartment.qualifier] ?? `qualifier ${apartment.qualifier}`;
  const described = apartment.qualifier === 0 ? type : `${type}, ${qualifier}`;
  return { summary: `${ours}; the JS thread: ${described}`, jsThread: { type, qualifier } };
}

/**
 * A proxy setting with its credentials masked: `http://user:secret@proxy:8080` -> `http://***@proxy:8080`.
 * Everything before the last `@` of the part after the scheme is taken for credentials: masking too
 * much beats printing a password.
 */
export function maskProxy(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
  const rest = value.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  return at < 0 ? value : `${scheme}***${rest.slice(at)}`;
}

function proxyReport(probe: DoctorProbe): DoctorReport['proxy'] {
  // The variables in effect exactly as the engine reads them.
  const found = environmentProxies(probe.proxyEnvironment);
  const effective = (setting: ProxySetting): ProxyVariableReport | null => {
    const entry = found[setting];
    return entry === undefined ? null : { variable: entry.variable as ProxyVariable, value: maskProxy(entry.value) };
  };
  const http = effective('http');
  const https = effective('https');
  const noProxy = effective('noProxy');
  const set = [http, https, noProxy].filter((entry): entry is ProxyVariableReport => entry !== null);
  const summary =
    http === null && https === null
      ? 'none in the environment: the portable engine connects directly (unless a job names its own proxy)'
      : `${set.map((entry) => `${entry.variable}=${entry.value}`).join(', ')} (what the portable engine uses for jobs on the preconfigured proxy, the default)`;
  const note =
    probe.system.platform === 'win32'
      ? "BITS and Delivery Optimization use the system's proxy settings (WinINet/WinHTTP, per user and per machine), which doctor does not read"
      : null;
  return { http, https, noProxy, summary, note };
}

function engineReport(dir: StateDirProbe): DoctorReport['portableEngine'] {
  const base = { stateDir: dir.path, explicit: dir.explicit, exists: dir.exists, jobRecords: dir.jobRecords ?? null, inUseBy: null };
  if (dir.error !== undefined) return { ...base, usable: false, summary: `${dir.path}: cannot be read (${dir.error})` };
  if (dir.notDirectory) return { ...base, usable: false, summary: `${dir.path}: something that is not a folder is in the way` };
  if (!dir.exists) {
    return dir.writable === true
      ? { ...base, usable: true, summary: `${dir.path}: not made yet (the first connect() creates it)` }
      : { ...base, usable: false, summary: `${dir.path}: does not exist, and cannot be created here (no write access above it)` };
  }
  const records = `${dir.jobRecords ?? 0} job record${dir.jobRecords === 1 ? '' : 's'}`;
  const lock = dir.lock;
  if (lock !== undefined && lock.readable && lock.live && !lock.thisProcess) {
    return {
      ...base,
      inUseBy: { pid: lock.pid, hostname: lock.hostname, startedAt: lock.startedAt },
      usable: false,
      summary: `${dir.path}: ${records}; in use by process ${lock.pid} on ${lock.hostname} since ${lock.startedAt} (one process at a time keeps its jobs there)`,
    };
  }
  if (dir.writable === false) return { ...base, usable: false, summary: `${dir.path}: ${records}; not writable by this user` };
  const holder =
    lock === undefined
      ? 'free'
      : !lock.readable
        ? 'free (an unreadable lock file, taken over on the next connect())'
        : lock.thisProcess
          ? 'held by this process'
          : `free (a stale lock of process ${lock.pid}: gone, or from before the last boot; taken over on the next connect())`;
  return { ...base, usable: true, summary: `${dir.path}: ${records}; ${holder}` };
}

function choiceReport(probe: DoctorProbe, engine: DoctorReport['portableEngine']): DoctorReport['choice'] {
  const engineProblem = engine.usable ? null : `the portable engine's state directory is not usable: ${engine.summary}`;
  const unreachable = (service: keyof typeof SERVICE_NAMES, attempt: Attempt) =>
    attempt.ok ? null : `${SERVICE_NAMES[service]}: ${serviceReport(attempt, service, probe.system.platform).summary}`;
  const asked = probe.backendAsked;
  if (asked !== undefined) {
    const problem = asked === 'portable' ? engineProblem : unreachable(asked, asked === 'bits' ? probe.bits : probe.deliveryOptimization);
    return { backend: asked, reason: CHOICE_REASONS.asked, asked: true, usable: problem === null, problem };
  }
  // The rules of connect() without a backend (src/com/manager.ts), with the same reasons.
  if (probe.runtime === 'none' && probe.system.platform !== 'win32') {
    const reason = CHOICE_REASONS.notWindows(probe.system.platform);
    return { backend: 'portable', reason, asked: false, usable: engineProblem === null, problem: engineProblem };
  }
  const bits = probe.bits;
  if (bits.ok) return { backend: 'bits', reason: CHOICE_REASONS.windowsDefault, asked: false, usable: true, problem: null };
  if (bits.kind === 'com' && REFUSALS.has(bits.hresult)) {
    const reason = CHOICE_REASONS.refused(bits.hresult, bits.message);
    return { backend: 'portable', reason, asked: false, usable: engineProblem === null, problem: engineProblem };
  }
  const failure = bits.kind === 'com' ? labelHresult(bits.hresult) : bits.message;
  return {
    backend: null,
    reason: `BITS failed with ${failure}, which is not a refusal connect() falls back on: connect() without a backend fails`,
    asked: false,
    usable: false,
    problem: engine.usable ? "--backend portable (connect({ backend: 'portable' })) would work" : engineProblem,
  };
}

/** The report: what each probe found, and what connect() would choose, derived as connect() does. */
export function diagnose(probe: DoctorProbe): DoctorReport {
  const { platform, release, arch, node, rxBits, wine } = probe.system;
  const engine = engineReport(probe.stateDir);
  const choice = choiceReport(probe, engine);
  return {
    system: {
      platform,
      release,
      arch,
      node,
      rxBits: rxBits ?? null,
      wine: wine ?? null,
      summary: `${platform} ${release} (${arch}), Node ${node}, rx-bits ${rxBits ?? 'unknown'}${wine === undefined ? '' : `, under Wine ${wine}`}`,
    },
    runtime: probe.runtime,
    bits: bitsReport(probe),
    deliveryOptimization: serviceReport(probe.deliveryOptimization, 'delivery-optimization', platform),
    logonSession: logonReport(probe),
    comApartment: apartmentReport(probe.apartment, platform, probe.runtime),
    proxy: proxyReport(probe),
    portableEngine: engine,
    choice,
    exitCode: choice.usable ? 0 : 3,
  };
}

const LABEL_WIDTH = 17;

function section(label: string, first: string, more: readonly string[] = []): string[] {
  const indent = ' '.repeat(LABEL_WIDTH + 2);
  return [`  ${label.padEnd(LABEL_WIDTH)}${first}`, ...more.map((line) => `${indent}${line}`)];
}

/** The report as text, one section a line (advice and notes on lines of their own). */
export function renderDoctor(report: DoctorReport): string {
  const choice = report.choice;
  const chosen =
    choice.backend === null
      ? `none: ${choice.reason}`
      : `${choice.backend}${choice.asked ? ' (--backend)' : ''}: ${choice.reason}${choice.usable ? '' : ' (not usable now)'}`;
  const lines = [
    'rx-bits doctor',
    ...section('system', report.system.summary),
    ...section('BITS', report.bits.summary, report.bits.refusal === true ? ['connect() without a backend falls back to the portable engine on this'] : []),
    ...section('Delivery Opt.', report.deliveryOptimization.summary),
    ...section('logon session', report.logonSession.summary, report.logonSession.advice),
    ...section('COM apartment', report.comApartment.summary),
    ...section('proxy', report.proxy.summary, report.proxy.note === null ? [] : [report.proxy.note]),
    ...section('portable engine', report.portableEngine.summary),
    ...section('choice', chosen, choice.problem === null ? [] : [choice.problem]),
  ];
  return `${lines.join('\n')}\n`;
}
