import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UploadServer } from './upload-server.js';

/**
 * A small HTTP server on 127.0.0.1 for the transfers in tests:
 *   /files/<name>?size=N           N deterministic bytes (see {@link content})
 *   /status/<code>                 answers that status
 *   /slow/<name>?size=N&chunk=K&delay=MS   N bytes, K at a time, MS apart
 *   /flaky/<key>?fail=N&status=S&size=M    fails N times with S, then serves M bytes
 *                                          (slowly, as /slow does, when given chunk and delay)
 *   /gate/<name>?size=N&head=K     K bytes at once, the rest only once the test calls open(name):
 *                                  a transfer that cannot finish before the test says so
 * /files and /gate honour `Range: bytes=N-` (206) guarded by If-Range with their ETag.
 *   /upload/<name>?reply=echo|none|<N>&status=S   a BITS upload server (upload-server.ts): packets
 *                                  by BITS-Packet-Type; the reply of an upload-reply job describes
 *                                  what arrived (echo, the default), is absent (none) or N bytes of
 *                                  {@link content}; `status` answers Create-Session with S instead
 * Any route given `user` and `password` in its query first asks for them with HTTP Basic (401 and
 * a `WWW-Authenticate: Basic` challenge until a request carries them).
 */
export interface TestServer {
  readonly origin: string;
  url(path: string): string;
  /** Requests seen, by path without the query. */
  requests(path: string): number;
  /** The headers of the last request for a path. */
  lastHeaders(path: string): Record<string, string | string[] | undefined> | undefined;
  /** The method of the last request for a path. */
  lastMethod(path: string): string | undefined;
  /** What a closed upload session of /upload/<name> received, the last one first; undefined before any. */
  uploaded(name: string): Buffer | undefined;
  /** Lets every /gate/<name> response, waiting or to come, send the rest of its body. */
  open(name: string): void;
  close(): Promise<void>;
}

/** The bytes /files and /slow serve: a fixed pattern, so a test can hash what it expects. */
export function content(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/** Serves `size` bytes of {@link content}, `chunk` bytes every `delay` ms. */
function dribble(res: ServerResponse, size: number, chunk: number, delay: number): void {
  const body = content(size);
  res.writeHead(200, { 'content-length': size });
  let offset = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(body.subarray(offset, offset + chunk));
    offset += chunk;
    if (offset >= size) {
      clearInterval(timer);
      res.end();
    }
  }, delay);
  res.on('close', () => clearInterval(timer));
}

/** Whether a request may have the route: always, unless the query names a user and password for Basic. */
function authorized(req: IncomingMessage, url: URL): boolean {
  const user = url.searchParams.get('user');
  if (user === null) return true;
  const expected = `Basic ${Buffer.from(`${user}:${url.searchParams.get('password') ?? ''}`).toString('base64')}`;
  return req.headers.authorization === expected;
}

/** The strong validator of a /files or /gate body: the body depends on its size only. */
const etagOf = (size: number): string => `"rx-${size}"`;

/** Where a `Range: bytes=N-` request starts, honoured when its If-Range (if any) is still this body's ETag; else 0. */
function rangeStart(req: IncomingMessage, size: number): number {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (match === null || (ifRange !== undefined && ifRange !== etagOf(size))) return 0;
  const start = Number(match[1]);
  return start < size ? start : 0;
}

function rangeHeaders(start: number, size: number): Record<string, string | number> {
  const common = { etag: etagOf(size), 'accept-ranges': 'bytes', 'content-length': size - start };
  return start === 0 ? common : { ...common, 'content-range': `bytes ${start}-${size - 1}/${size}` };
}

export async function startTestServer(): Promise<TestServer> {
  const counts = new Map<string, number>();
  const headers = new Map<string, IncomingMessage['headers']>();
  const methods = new Map<string, string>();
  const flaky = new Map<string, number>();
  const gates = new Map<string, { open: boolean; waiting: Array<() => void> }>();
  const gate = (name: string) => {
    let found = gates.get(name);
    if (found === undefined) gates.set(name, (found = { open: false, waiting: [] }));
    return found;
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
    headers.set(url.pathname, req.headers);
    methods.set(url.pathname, req.method ?? '');
    const [, route, name = ''] = url.pathname.split('/');
    const size = Number(url.searchParams.get('size') ?? 65536);
    if (!authorized(req, url)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="rx-bits tests"' });
      res.end();
    } else if (route === 'upload' || route === 'upload-reply') {
      uploads.handle(req, res, route, name, url);
    } else if (route === 'files') {
      const start = rangeStart(req, size);
      res.writeHead(start === 0 ? 200 : 206, { ...rangeHeaders(start, size), 'content-type': 'application/octet-stream' });
      res.end(content(size).subarray(start));
    } else if (route === 'status') {
      res.writeHead(Number(name));
      res.end();
    } else if (route === 'slow') {
      dribble(res, size, Number(url.searchParams.get('chunk') ?? 1024), Number(url.searchParams.get('delay') ?? 20));
    } else if (route === 'gate') {
      const body = content(size);
      const start = rangeStart(req, size);
      const head = Math.max(start, Math.min(size, Number(url.searchParams.get('head') ?? 1024)));
      res.writeHead(start === 0 ? 200 : 206, rangeHeaders(start, size));
      res.write(body.subarray(start, head));
      const rest = () => {
        if (!res.destroyed) res.end(body.subarray(head));
      };
      const { open, waiting } = gate(name);
      if (open) rest();
      else waiting.push(rest);
    } else if (route === 'flaky') {
      const seen = flaky.get(name) ?? 0;
      flaky.set(name, seen + 1);
      if (seen < Number(url.searchParams.get('fail') ?? 1)) {
        res.writeHead(Number(url.searchParams.get('status') ?? 503));
        res.end();
      } else if (url.searchParams.has('delay')) {
        dribble(res, size, Number(url.searchParams.get('chunk') ?? 1024), Number(url.searchParams.get('delay')));
      } else {
        res.writeHead(200, { 'content-length': size });
        res.end(content(size));
      }
    } else {
      res.writeHead(404);
      res.end();
    }
  };
  const uploads = new UploadServer(content);
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    requests: (path) => counts.get(path) ?? 0,
    lastHeaders: (path) => headers.get(path),
    lastMethod: (path) => methods.get(path),
    uploaded: (name) => uploads.received(name),
    open: (name) => {
      const opened = gate(name);
      opened.open = true;
      for (const send of opened.waiting.splice(0)) send();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then closed), for refused connections. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
