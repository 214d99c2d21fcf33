import type { CommandLine } from './command-line.js';
import { diagnose, renderDoctor } from './doctor-report.js';
import { probe } from './doctor-probe.js';
import type { CliIo } from './main.js';

/**
 * `rx-bits doctor`: what this machine offers and what connect() would choose, and why. Every probe
 * records its own failure in the report, so this never throws for one; the exit code is 0 when the
 * choice is usable, 3 when no backend is.
 */
export async function doctor(line: Extract<CommandLine, { command: 'doctor' }>, io: CliIo): Promise<number> {
  const report = diagnose(await probe({ runtime: io.runtime, stateDir: line.stateDir, backend: line.backend }));
  io.stdout.write(line.json ? `${JSON.stringify(report)}\n` : renderDoctor(report));
  return report.exitCode;
}
