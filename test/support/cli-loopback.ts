/**
 * The CLI in a child process, against a loopback BITS service and a file server of its own (there
 * is no BITS on Linux). `{server}` in the arguments becomes the server's origin. Used by cli.test.ts
 * and cli-top.test.ts (which gives it a pseudo-terminal: stdin is passed on for `top`'s keys).
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { connect } from '../../src/com/manager.js';
import { whenHubsIdle } from '../../src/observables/hub.js';
import { LoopbackService } from '../loopback/service.js';
import { startTestServer } from './http-server.js';

const service = new LoopbackService();
const server = await startTestServer();
// `{gate:name}` in an argument is /gate/name on the server, opened once the CLI has drawn a partial
// progress bar: a test sees the bar move whatever the machine's speed.
const gated = process.argv.slice(2).flatMap((arg) => [...arg.matchAll(/\{gate:(\w+)\}/g)].map((match) => match[1]!));
if (gated.length > 0) {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (/\[#*\.+\] +\d+%/.test(chunk.toString())) for (const name of gated) server.open(name);
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}
const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
const expand = (arg: string) => arg.replace('{server}', server.origin).replace(/\{gate:(\w+)\}/g, `${server.origin}/gate/$1`);
const args = process.argv.slice(2).map(expand);
// RX_BITS_TEST_JOBS (cli-top.test.ts): jobs made in this process's loopback service before the CLI
// runs, as JSON [{ name, url?, resume? }]; their gates are never opened, so they stay mid-way.
const seeded = process.env['RX_BITS_TEST_JOBS'];
if (seeded !== undefined) await seed(JSON.parse(seeded) as Array<{ name: string; url?: string; resume?: boolean }>);
const code = await main(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, interrupted, runtime: service.runtime });
if (seeded !== undefined) {
  // The CLI must have given back every reference it took: the service counts them.
  await whenHubsIdle();
  try {
    service.assertNoLeaks();
  } catch (error) {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 70;
  }
}
await service.close();
await server.close();
process.exitCode ??= code;

async function seed(jobs: Array<{ name: string; url?: string; resume?: boolean }>): Promise<void> {
  const bits = await connect({ backend: 'bits', runtime: service.runtime });
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-bits-cli-seed-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const [i, spec] of jobs.entries()) {
    const job = await bits.createJob({
      displayName: spec.name,
      ...(spec.url === undefined ? {} : { files: [{ url: expand(spec.url), localPath: path.join(dir, `${i}.bin`) }] }),
    });
    if (spec.resume === true) await job.resume();
    await job.release();
  }
  await bits.release();
}
