import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { BITS_VERSIONS, bitsVersionsThrough } from '../src/com/bits-versions.js';
import { referenceStats } from '../src/com/com-ptr.js';
import { ComError } from '../src/com/errors.js';
import { formatHresult, hresultByName, hresultMessage } from '../src/com/hresult.js';
import { connect } from '../src/com/manager.js';
import type { ComRuntime } from '../src/com/runtime.js';
import { EXIT, main } from '../src/cli/main.js';
import { PROXY_VARIABLE_NAMES, type DoctorProbe } from '../src/cli/doctor-probe.js';
import { diagnose, maskProxy, renderDoctor, type DoctorReport } from '../src/cli/doctor-report.js';
import { LoopbackService, type LoopbackOptions } from './loopback/service.js';
import { captureIo } from './support/cli-io.js';

const root = path.resolve(import.meta.dirname, '..');
const engineChild = path.join(root, 'test', 'support', 'engine-child.ts');

const code = (name: string): number => {
  const value = hresultByName(name);
  if (value === undefined) throw new Error(`no HRESULT named ${name}`);
  return value;
};

/** Runs `rx-bits doctor <args>` in this process, on `runtime` when given. */
async function doctor(args: readonly string[], runtime?: ComRuntime): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = captureIo(runtime);
  const exit = await main(['doctor', ...args], io);
  return { code: exit, out: out(), err: err() };
}

async function doctorJson(args: readonly string[], runtime?: ComRuntime): Promise<{ code: number; report: DoctorReport }> {
  const { code: exit, out, err } = await doctor([...args, '--json'], runtime);
  expect(err).toBe('');
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return { code: exit, report: JSON.parse(lines[0]!) as DoctorReport };
}

/** A temporary folder per test, and a loopback service that must end with nothing leaked. */
function useDoctor() {
  const state = { dir: '', services: [] as LoopbackService[], live: 0 };
  beforeEach(async () => {
    state.dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-doctor-'));
    state.services = [];
    state.live = referenceStats().live;
    // Whatever proxy the machine running the tests has must not leak into what is asserted.
    for (const name of PROXY_VARIABLE_NAMES) vi.stubEnv(name, undefined);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const service of state.services) {
      await service.close();
      service.assertNoLeaks();
    }
    expect(referenceStats().live - state.live, 'interface references still owned').toBe(0);
    await rm(state.dir, { recursive: true, force: true });
  });
  return {
    get stateDir() {
      return path.join(state.dir, 'state');
    },
    get dir() {
      return state.dir;
    },
    service(options: Partial<LoopbackOptions> = {}): LoopbackService {
      const service = new LoopbackService(options);
      state.services.push(service);
      return service;
    },
  };
}

describe('rx-bits doctor on the loopback service', () => {
  const h = useDoctor();

  test('all is well: BITS reachable at its newest version, Delivery Optimization too, and the choice is BITS', async () => {
    const service = h.service();
    const { code: exit, out, err } = await doctor(['--state-dir', h.stateDir], service.runtime);
    expect(err).toBe('');
    expect(exit).toBe(EXIT.ok);
    expect(out).toMatch(/^rx-bits doctor\n/);
    expect(out).toMatch(/ BITS +reachable; newest interface version 10\.3 \(Windows 10 1903: IBackgroundCopyJobHttpOptions3/);
    expect(out).toMatch(/ Delivery Opt\. +reachable\n/);
    expect(out).toMatch(/ logon session +this session can use BITS\n/);
    expect(out).toMatch(/ choice +bits: the default on Windows\n/);
    expect(out).toContain(`${h.stateDir}: not made yet (the first connect() creates it)`);

    const { code: jsonExit, report } = await doctorJson(['--state-dir', h.stateDir], service.runtime);
    expect(jsonExit).toBe(EXIT.ok);
    expect(report.bits).toMatchObject({ reachable: true, hresult: null, newestVersion: { version: '10.3', clsid: '5FD42AD5-C04E-4D36-ADC7-E08FF15737AD' } });
    expect(report.bits.versionsTried).toEqual([{ version: '10.3', answered: true, hresult: null, code: null }]);
    expect(report.deliveryOptimization.reachable).toBe(true);
    expect(report.choice).toEqual({ backend: 'bits', reason: 'the default on Windows', asked: false, usable: true, problem: null });
    expect(report.runtime).toBe('injected');
    // Doctor only looks: it made no state directory.
    expect(report.portableEngine).toMatchObject({ stateDir: h.stateDir, exists: false, usable: true, inUseBy: null });
    // What connect() itself chooses on the same service.
    const bits = await connect({ runtime: service.runtime, stateDir: h.stateDir });
    expect(bits.choice.backend).toBe(report.choice.backend);
    expect(bits.choice.reason).toBe(report.choice.reason);
    await bits.release();
  });

  test.each([
    ['5.0', ['10.3', '10.2', '10.1', '5.0']],
    ['1.0', ['10.3', '10.2', '10.1', '5.0', '4.0', '3.0', '2.5', '2.0', '1.5']],
  ])('an older BITS (newest registered %s): the newest class id that answers is the version', async (newest, tried) => {
    const service = h.service({ bitsVersion: newest });
    const { report } = await doctorJson(['--state-dir', h.stateDir], service.runtime);
    expect(report.bits.newestVersion?.version).toBe(newest);
    expect(report.bits.versionsTried.map((entry) => entry.version)).toEqual(tried);
    for (const entry of report.bits.versionsTried.slice(0, newest === '1.0' ? undefined : -1)) {
      expect(entry).toMatchObject({ answered: false, hresult: '0x80040154', code: 'REGDB_E_CLASSNOTREG' });
    }
    if (newest === '1.0') expect(report.bits.summary).toMatch(/newest interface version 1\.0 \(no versioned class id answered, only CLSID_BackgroundCopyManager, as on Wine\)/);
    expect(report.choice.backend).toBe('bits');
  });

  test.each([
    ['ERROR_NOT_LOGGED_ON', 0x800704dd],
    ['ERROR_SERVICE_DISABLED', 0x80070422],
    ['REGDB_E_CLASSNOTREG', 0x80040154],
    ['BG_E_BLOCKED_BY_POLICY', 0x8020003e],
    ['E_ACCESSDENIED', 0x80070005],
  ])('BITS refusing with %s: not reachable with that code and meaning, and the choice is the portable engine', async (name, hresult) => {
    expect(code(name)).toBe(hresult);
    const service = h.service({ refusals: { bits: hresult } });
    const hex = formatHresult(hresult);
    const meaning = hresultMessage(hresult)!;

    const { code: exit, out } = await doctor(['--state-dir', h.stateDir], service.runtime);
    expect(exit).toBe(EXIT.ok);
    expect(out).toContain(`BITS             not reachable: ${name} (${hex}): ${meaning}\n`);
    expect(out).toContain('connect() without a backend falls back to the portable engine on this');
    expect(out).toContain(`choice           portable: BITS refused this process with ${name} (${hex}): ${meaning}\n`);
    expect(out).toMatch(/ Delivery Opt\. +reachable\n/);

    const { report } = await doctorJson(['--state-dir', h.stateDir], service.runtime);
    expect(report.bits).toMatchObject({ reachable: false, hresult: hex, code: name, meaning, refusal: true, newestVersion: null, versionsTried: [] });
    expect(report.choice).toMatchObject({ backend: 'portable', asked: false, usable: true, problem: null });
    if (name === 'ERROR_NOT_LOGGED_ON') {
      expect(report.logonSession.canUseBits).toBe(false);
      expect(report.logonSession.summary).toMatch(/this logon session cannot use BITS: it answers ERROR_NOT_LOGGED_ON \(0x800704DD\) to a process outside an interactive logon \(a service, an SSH session, a scheduled task/);
      expect(report.logonSession.advice.join('\n')).toMatch(/interactive logon[\s\S]*portable engine: connect\(\) without a backend falls back to it by itself; --backend portable/);
      expect(out).toMatch(/logon session +this logon session cannot use BITS[^\n]*\n +run it from an interactive logon[^\n]*\n +or use the portable engine/);
    } else {
      expect(report.logonSession).toEqual({ canUseBits: null, summary: 'not known: BITS did not answer (see BITS above)', advice: [] });
    }

    // The same choice, for the same reason, as connect() makes on the same service.
    const connected = await connect({ runtime: service.runtime, stateDir: path.join(h.dir, 'connect-state') });
    try {
      expect(connected.choice).toEqual({ backend: 'portable', reason: report.choice.reason, refusal: { hresult, code: name } });
    } finally {
      await connected.release();
    }
  });

  test('BITS failing with an HRESULT that is no refusal: no backend (exit 3), as connect() throws', async () => {
    const service = h.service({ refusals: { bits: code('E_FAIL') } });
    const { code: exit, out } = await doctor(['--state-dir', h.stateDir], service.runtime);
    expect(exit).toBe(EXIT.service);
    expect(out).toMatch(/ choice +none: BITS failed with E_FAIL \(0x80004005\), which is not a refusal connect\(\) falls back on: connect\(\) without a backend fails\n +--backend portable/);
    const { report } = await doctorJson(['--state-dir', h.stateDir], service.runtime);
    expect(report.bits.refusal).toBe(false);
    expect(report.choice).toMatchObject({ backend: null, usable: false });
    expect(report.exitCode).toBe(3);
    await expect(connect({ runtime: service.runtime, stateDir: path.join(h.dir, 'connect-state') })).rejects.toBeInstanceOf(ComError);
  });

  test('Delivery Optimization refused while BITS is fine', async () => {
    const service = h.service({ refusals: { 'delivery-optimization': code('ERROR_SERVICE_DISABLED') } });
    const { code: exit, out } = await doctor(['--state-dir', h.stateDir], service.runtime);
    expect(exit).toBe(EXIT.ok);
    expect(out).toMatch(/ BITS +reachable; newest interface version 10\.3/);
    expect(out).toMatch(/ Delivery Opt\. +not reachable: ERROR_SERVICE_DISABLED \(0x80070422\): The service cannot be started/);
    expect(out).toMatch(/ choice +bits: the default on Windows\n/);

    const { report } = await doctorJson(['--state-dir', h.stateDir], service.runtime);
    expect(report.deliveryOptimization).toMatchObject({ reachable: false, hresult: '0x80070422', code: 'ERROR_SERVICE_DISABLED' });
    expect(report.bits.reachable).toBe(true);

    // Asked for by name, Delivery Optimization is the choice, and it is not usable: exit 3.
    const asked = await doctorJson(['--state-dir', h.stateDir, '--backend', 'delivery-optimization'], service.runtime);
    expect(asked.code).toBe(EXIT.service);
    expect(asked.report.choice).toMatchObject({ backend: 'delivery-optimization', reason: 'asked for', asked: true, usable: false });
    expect(asked.report.choice.problem).toMatch(/^Delivery Optimization: not reachable: ERROR_SERVICE_DISABLED/);
  });

  test('--json has the same facts as the text', async () => {
    const service = h.service({ refusals: { bits: code('ERROR_NOT_LOGGED_ON') } });
    vi.stubEnv('HTTPS_PROXY', 'http://proxy.example:8080');
    const text = await doctor(['--state-dir', h.stateDir], service.runtime);
    const { report } = await doctorJson(['--state-dir', h.stateDir], service.runtime);
    expect(renderDoctor(report)).toBe(text.out);
    for (const summary of [
      report.system.summary,
      report.bits.summary,
      report.deliveryOptimization.summary,
      report.logonSession.summary,
      ...report.logonSession.advice,
      report.comApartment.summary,
      report.proxy.summary,
      report.portableEngine.summary,
      report.choice.reason,
    ]) {
      expect(text.out).toContain(summary);
    }
    expect(report.system).toMatchObject({ platform: process.platform, arch: process.arch, node: process.version, rxBits: '0.1.0' });
    expect(report.exitCode).toBe(text.code);
  });

  test('proxy settings as the engine reads them (lowercase first), with credentials masked', async () => {
    const service = h.service();
    vi.stubEnv('http_proxy', 'http://alice:s3cret@lower.example:3128');
    vi.stubEnv('HTTP_PROXY', 'http://upper.example:1');
    vi.stubEnv('HTTPS_PROXY', 'bob:hunter2@secure.example:8443');
    vi.stubEnv('NO_PROXY', 'localhost,.internal');
    const text = await doctor(['--state-dir', h.stateDir], service.runtime);
    const json = await doctor(['--state-dir', h.stateDir, '--json'], service.runtime);
    for (const output of [text.out, json.out]) {
      expect(output).not.toContain('s3cret');
      expect(output).not.toContain('hunter2');
      expect(output).not.toContain('alice');
      expect(output).not.toContain('upper.example');
    }
    expect(text.out).toContain('http_proxy=http://***@lower.example:3128, HTTPS_PROXY=***@secure.example:8443, NO_PROXY=localhost,.internal');
    const report = JSON.parse(json.out) as DoctorReport;
    expect(report.proxy).toMatchObject({
      http: { variable: 'http_proxy', value: 'http://***@lower.example:3128' },
      https: { variable: 'HTTPS_PROXY', value: '***@secure.example:8443' },
      noProxy: { variable: 'NO_PROXY', value: 'localhost,.internal' },
    });
    // Not Windows: BITS's own (WinINet/WinHTTP) settings are not a thing here.
    if (process.platform !== 'win32') expect(report.proxy.note).toBeNull();
  });

  test('a state directory held by another process is reported with its pid; as the only backend, it makes exit 3', async () => {
    const child: ChildProcessWithoutNullStreams = spawn(
      process.execPath,
      ['--import', 'tsx', engineChild, 'hold', h.stateDir, 'http://127.0.0.1:9/held.bin', path.join(h.dir, 'held.bin')],
      { cwd: root },
    );
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout });
      const holding = await new Promise<string>((resolve, reject) => {
        lines.on('line', (line) => {
          if (line.startsWith('holding ')) resolve(line);
        });
        void exited.then((exit) => reject(new Error(`the engine child exited (${exit}) before holding: ${errors}`)));
      });
      const pid = Number(holding.split(' ')[1]);
      expect(pid).toBe(child.pid);

      // BITS is fine: the choice does not need the engine, which is reported busy all the same.
      const fine = await doctorJson(['--state-dir', h.stateDir], h.service().runtime);
      expect(fine.code).toBe(EXIT.ok);
      // (The child's store writes its job record behind: it may not be on disk yet.)
      expect(fine.report.portableEngine).toMatchObject({ exists: true, usable: false, inUseBy: { pid, hostname: hostname() } });
      expect(fine.report.portableEngine.summary).toMatch(/\d+ job records?; in use by process/);
      expect(fine.report.portableEngine.summary).toContain(`in use by process ${pid} on ${hostname()} since `);

      // BITS refuses: the fallback is the engine, which another process holds.
      const refused = h.service({ refusals: { bits: code('ERROR_NOT_LOGGED_ON') } });
      const text = await doctor(['--state-dir', h.stateDir], refused.runtime);
      expect(text.code).toBe(EXIT.service);
      expect(text.out).toMatch(/ choice +portable: BITS refused this process with ERROR_NOT_LOGGED_ON \(0x800704DD\)[^\n]*\(not usable now\)\n +the portable engine's state directory is not usable: [^\n]*in use by process \d+/);
      const asked = await doctorJson(['--state-dir', h.stateDir, '--backend', 'portable']);
      expect(asked.code).toBe(EXIT.service);
      expect(asked.report.choice).toMatchObject({ backend: 'portable', asked: true, usable: false });
    } finally {
      child.stdin.end();
      await exited;
    }
    // Let go: the directory is free again.
    const after = await doctorJson(['--state-dir', h.stateDir, '--backend', 'portable']);
    expect(after.code).toBe(EXIT.ok);
    expect(after.report.portableEngine).toMatchObject({ inUseBy: null, usable: true });
  });

  test('a stale lock (a process gone before the last boot) and job records: free, counted', async () => {
    await mkdir(path.join(h.stateDir, 'jobs'), { recursive: true });
    await writeFile(path.join(h.stateDir, 'lock'), JSON.stringify({ pid: 1, hostname: hostname(), startedAt: '2000-01-01T00:00:00.000Z', nonce: 'x' }));
    for (const id of ['0E4F8A55-5B0B-4C1C-9D7E-3E1C1E2D7A01', '0E4F8A55-5B0B-4C1C-9D7E-3E1C1E2D7A02']) await writeFile(path.join(h.stateDir, 'jobs', `${id}.json`), '{}');
    const { code: exit, report } = await doctorJson(['--state-dir', h.stateDir, '--backend', 'portable']);
    expect(exit).toBe(EXIT.ok);
    expect(report.portableEngine).toMatchObject({ exists: true, jobRecords: 2, inUseBy: null, usable: true });
    expect(report.portableEngine.summary).toMatch(/2 job records; free \(a stale lock of process 1: gone, or from before the last boot/);
    expect(report.choice).toEqual({ backend: 'portable', reason: 'asked for', asked: true, usable: true, problem: null });
  });

  test('a file where the state directory should be: not usable', async () => {
    await writeFile(h.stateDir, 'not a folder');
    const { code: exit, report } = await doctorJson(['--state-dir', h.stateDir, '--backend', 'portable']);
    expect(exit).toBe(EXIT.service);
    expect(report.portableEngine.summary).toMatch(/something that is not a folder is in the way/);
  });

  test.skipIf(process.platform === 'win32')('without an injected runtime off Windows: BITS is a Windows service, and the choice is portable', async () => {
    const { code: exit, out } = await doctor(['--state-dir', h.stateDir]);
    expect(exit).toBe(EXIT.ok);
    expect(out).toContain(`BITS             not here: BITS is a Windows service; this process runs on '${process.platform}'`);
    expect(out).toContain(`COM apartment    no COM on ${process.platform}: the portable engine needs none\n`);
    expect(out).toContain(`choice           portable: BITS is a Windows service; this process runs on '${process.platform}'\n`);
    const { report } = await doctorJson(['--state-dir', h.stateDir]);
    expect(report.runtime).toBe('none');
    expect(report.logonSession.canUseBits).toBeNull();
    expect(report.choice).toMatchObject({ backend: 'portable', usable: true });
    // Asked for BITS by name here: nothing usable.
    const asked = await doctorJson(['--state-dir', h.stateDir, '--backend', 'bits']);
    expect(asked.code).toBe(EXIT.service);
    expect(asked.report.choice.problem).toMatch(/^BITS: not here: BITS is a Windows service/);
  });
});

describe('the report, from made-up probes (the Windows-only facts)', () => {
  const windows = (overrides: Partial<DoctorProbe> = {}): DoctorProbe => ({
    system: { platform: 'win32', release: '10.0.22631', arch: 'x64', node: 'v22.20.0', rxBits: '0.1.0', wine: undefined },
    runtime: 'platform',
    backendAsked: undefined,
    bits: { ok: true },
    bitsVersions: [{ version: '10.3', attempt: { ok: true } }],
    deliveryOptimization: { ok: true },
    apartment: { kind: 'type', type: 1, qualifier: 1 },
    proxyEnvironment: { http_proxy: undefined, HTTP_PROXY: undefined, https_proxy: undefined, HTTPS_PROXY: undefined, no_proxy: undefined, NO_PROXY: undefined },
    stateDir: { path: 'C:\\Users\\u\\AppData\\Local\\rx-bits', explicit: false, exists: true, notDirectory: false, writable: true, lock: undefined, jobRecords: 0, error: undefined },
    ...overrides,
  });

  test('Windows: the apartment of the JS thread, the system proxy note, Wine', () => {
    const report = diagnose(windows({ system: { ...windows().system, wine: '9.0' } }));
    expect(report.system.summary).toBe('win32 10.0.22631 (x64), Node v22.20.0, rx-bits 0.1.0, under Wine 9.0');
    expect(report.comApartment.jsThread).toEqual({ type: 'MTA', qualifier: 'implicit MTA' });
    expect(report.comApartment.summary).toMatch(/its own and keeps it alive; it never initializes COM on the JS thread; the JS thread: MTA, implicit MTA$/);
    expect(report.proxy.note).toMatch(/system's proxy settings \(WinINet\/WinHTTP.*doctor does not read/);
    expect(renderDoctor(report)).toContain(report.proxy.note!);
    expect(report.choice).toMatchObject({ backend: 'bits', usable: true });

    const electron = diagnose(windows({ apartment: { kind: 'type', type: 3, qualifier: 0 } }));
    expect(electron.comApartment.jsThread).toEqual({ type: 'main STA', qualifier: 'none' });
    const before = diagnose(windows({ apartment: { kind: 'failed', hresult: 0x800401f0, message: 'COM is not initialized on this thread' } }));
    expect(before.comApartment.summary).toMatch(/the JS thread: CO_E_NOTINITIALIZED \(0x800401F0\): COM is not initialized on this thread$/);
  });

  test('Windows without ole32 (koffi could not load it): no backend but the engine, and connect() would throw', () => {
    const broken: DoctorProbe['bits'] = { ok: false, kind: 'error', message: 'Failed to load ole32.dll' };
    const report = diagnose(windows({ bits: broken, deliveryOptimization: broken, bitsVersions: [] }));
    expect(report.bits.summary).toBe('not reachable: Failed to load ole32.dll');
    expect(report.choice).toMatchObject({ backend: null, usable: false, problem: "--backend portable (connect({ backend: 'portable' })) would work" });
    expect(report.exitCode).toBe(3);
  });

  test('masking credentials in proxy settings', () => {
    expect(maskProxy('http://user:pass@proxy:8080')).toBe('http://***@proxy:8080');
    expect(maskProxy('user:p@ss@proxy:8080')).toBe('***@proxy:8080');
    expect(maskProxy('socks5://proxy:1080')).toBe('socks5://proxy:1080');
    expect(maskProxy('proxy:3128')).toBe('proxy:3128');
  });

  test('the version table: one entry per version, the loopback registers through the one asked for', () => {
    expect(new Set(BITS_VERSIONS.map((entry) => entry.clsid)).size).toBe(BITS_VERSIONS.length);
    expect(bitsVersionsThrough('1.0').map((entry) => entry.version)).toEqual(['1.0']);
    expect(bitsVersionsThrough('10.3')).toHaveLength(BITS_VERSIONS.length);
    expect(() => bitsVersionsThrough('11.0')).toThrow(RangeError);
  });
});
