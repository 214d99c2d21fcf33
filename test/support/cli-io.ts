import { PassThrough } from 'node:stream';
import type { ComRuntime } from '../../src/com/runtime.js';

/** Streams to hand the CLI's main() (on `runtime` when given, never interrupted), and what it wrote to them. */
export function captureIo(runtime?: ComRuntime) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const io = { stdout, stderr, interrupted: new Promise<void>(() => undefined), ...(runtime === undefined ? {} : { runtime }) };
  return { io, out: () => out, err: () => err };
}
