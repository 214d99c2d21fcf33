/**
 * The CLI in a child process, against a loopback BITS service and a file server of its own (there
 * is no BITS on Linux). `{server}` in the arguments becomes the server's origin. Used by cli.test.ts.
 */
import { main } from '../../src/cli/main.js';
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
const args = process.argv.slice(2).map((arg) => arg.replace('{server}', server.origin).replace(/\{gate:(\w+)\}/g, `${server.origin}/gate/$1`));
const code = await main(args, { stdout: process.stdout, stderr: process.stderr, interrupted, runtime: service.runtime });
await service.close();
await server.close();
process.exitCode = code;
