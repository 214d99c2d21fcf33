/**
 * The CLI in a child process, against a loopback BITS service and a file server of its own (there
 * is no BITS on Linux). `{server}` in the arguments becomes the server's origin. Used by cli.test.ts.
 */
import { main } from '../../src/cli/main.js';
import { LoopbackService } from '../loopback/service.js';
import { startTestServer } from './http-server.js';

const service = new LoopbackService();
const server = await startTestServer();
const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
const args = process.argv.slice(2).map((arg) => arg.replace('{server}', server.origin));
const code = await main(args, { stdout: process.stdout, stderr: process.stderr, interrupted, runtime: service.runtime });
await service.close();
await server.close();
process.exitCode = code;
