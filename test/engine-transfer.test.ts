import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  TransferError,
  closeTransferDispatchers,
  transferFile,
  type ProxySettings,
  type ResponseInfo,
  type TransferFileSystem,
  type TransferRequest,
  type Validator,
} from '../src/engine/transfer.js';
import { WINHTTP_E_SECURE_INVALID_CA } from '../src/com/hresult.js';
import { closedPort, content } from './support/http-server.js';

const ERROR_FILE_NOT_FOUND = 0x80070002;
const ERROR_PATH_NOT_FOUND = 0x80070003;
const E_ACCESSDENIED = 0x80070005;
const E_INVALIDARG = 0x80070057;
const ERROR_DISK_FULL = 0x80070070;
const WININET_E_TIMEOUT = 0x80072ee2;
const WININET_E_CANNOT_CONNECT = 0x80072efd;
const WININET_E_CONNECTION_ABORTED = 0x80072efe;
const WININET_E_CONNECTION_RESET = 0x80072eff;
const httpError = (status: number) => (0x80190000 | status) >>> 0;

const DIRECT: ProxySettings = { usage: 'noProxy', list: '', bypass: '' };

// ---------------------------------------------------------------------------------------------
// Servers

interface SeenRequest {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

interface Recorder {
  readonly origin: string;
  url(path: string): string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Recorder[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function serve(handler: Handler): Promise<Recorder> {
  const seen: SeenRequest[] = [];
  const server = createHttpServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  const origin = `http://127.0.0.1:${await listen(server)}`;
  const recorder: Recorder = { origin, url: (path) => `${origin}${path}`, seen, close: () => closeServer(server) };
  servers.push(recorder);
  return recorder;
}

interface RemoteFile {
  readonly body: Buffer;
  readonly etag?: string;
  readonly lastModified?: string;
  /** false: a server that ignores Range and always sends the whole file. */
  readonly honoursRange?: boolean;
}

/** A static file with Range and If-Range as RFC 9110 has them. */
function fileHandler(file: () => RemoteFile): Handler {
  return (req, res) => {
    const { body, etag, lastModified, honoursRange = true } = file();
    const validators = { ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { 'last-modified': lastModified }) };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const unchanged = ifRange === undefined || ifRange === etag || ifRange === lastModified;
    if (range?.[1] === undefined || !honoursRange || !unchanged) {
      res.writeHead(200, { ...validators, 'content-length': body.length });
      res.end(body);
      return;
    }
    const start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { ...validators, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start });
    res.end(body.subarray(start));
  };
}

/** An HTTP proxy for plain-HTTP absolute-URI requests; records what it forwards. */
async function startProxy(): Promise<Recorder> {
  return serve((req, res) => {
    const upstream = httpRequest(req.url ?? '', { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

// ---------------------------------------------------------------------------------------------
// Transfers

let folder: string;
let files = 0;

function tempPath(): string {
  return join(folder, `file-${++files}.tmp`);
}

interface Observed {
  readonly responses: ResponseInfo[];
  readonly progress: number[];
  /** 'response' and progress values in the order they came. */
  readonly events: Array<'response' | number>;
  /** The size of tempPath when onResponse was called (undefined: no file yet). */
  readonly sizeAtResponse: Array<number | undefined>;
}

function observing(request: Partial<TransferRequest> & Pick<TransferRequest, 'url' | 'tempPath'>): { request: TransferRequest; observed: Observed } {
  const observed: Observed = { responses: [], progress: [], events: [], sizeAtResponse: [] };
  return {
    observed,
    request: {
      validator: undefined,
      headers: [],
      proxy: DIRECT,
      signal: new AbortController().signal,
      ...request,
      onResponse: async (info) => {
        observed.responses.push(info);
        observed.events.push('response');
        observed.sizeAtResponse.push(await sizeOf(request.tempPath));
        await request.onResponse?.(info);
      },
      onProgress: (bytes) => {
        observed.progress.push(bytes);
        observed.events.push(bytes);
        request.onProgress?.(bytes);
      },
    },
  };
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Compares bytes directly: a deep toEqual over 200 kB is slow, and its diff would be unreadable anyway. */
async function expectFile(path: string, expected: Buffer): Promise<void> {
  const actual = await readFile(path);
  expect({ size: actual.length, same: actual.equals(expected) }).toEqual({ size: expected.length, same: true });
}

async function failureOf(transfer: Promise<unknown>): Promise<TransferError> {
  const error: unknown = await transfer.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof TransferError)) throw new Error(`expected a TransferError, got ${String(error)}`, { cause: error });
  return error;
}

function expectFailure(error: TransferError, hresult: number, context: TransferError['context'], transient: boolean): void {
  expect({ hresult: error.hresult.toString(16), context: error.context, transient: error.transient }).toEqual({
    hresult: hresult.toString(16),
    context,
    transient,
  });
}

const SIZE = 200_000;
const BODY = content(SIZE);
const ETAG = '"v1"';
const LAST_MODIFIED = 'Tue, 03 Mar 2026 10:00:00 GMT';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'rx-bits-transfer-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

afterAll(async () => {
  await closeTransferDispatchers();
  await rm(folder, { recursive: true, force: true });
});

describe('transferFile over HTTP', () => {
  it('downloads a whole file, announcing the answer before the first byte and then the growing size', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG, lastModified: LAST_MODIFIED })));
    const path = tempPath();
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path });

    const result = await transferFile(request);

    expect(result).toEqual({ bytesTotal: SIZE, validator: { etag: ETAG, lastModified: LAST_MODIFIED } });
    await expectFile(path, BODY);
    expect(observed.responses).toEqual([{ bytesTotal: SIZE, validator: { etag: ETAG, lastModified: LAST_MODIFIED }, restarted: false }]);
    expect(observed.sizeAtResponse).toEqual([undefined]);
    expect(observed.events[0]).toBe('response');
    expect(observed.progress.at(-1)).toBe(SIZE);
    expect(observed.progress).toEqual([...observed.progress].sort((a, b) => a - b));
    expect(server.seen[0]?.headers.range).toBeUndefined();
  });

  it('resumes partial data with Range and If-Range (the strong ETag) and appends the rest', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG, lastModified: LAST_MODIFIED })));
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 70_000));
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG, lastModified: LAST_MODIFIED } });

    const result = await transferFile(request);

    expect(server.seen.map((seen) => [seen.headers.range, seen.headers['if-range']])).toEqual([['bytes=70000-', ETAG]]);
    expect(result.bytesTotal).toBe(SIZE);
    await expectFile(path, BODY);
    expect(observed.responses).toEqual([{ bytesTotal: SIZE, validator: { etag: ETAG, lastModified: LAST_MODIFIED }, restarted: false }]);
    expect(observed.sizeAtResponse).toEqual([70_000]);
    expect(observed.progress[0]).toBe(70_000);
  });

  it('resumes with the Last-Modified date when the only ETag is weak', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, lastModified: LAST_MODIFIED })));
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 1000));
    const { request } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: 'W/"weak"', lastModified: LAST_MODIFIED } });

    await transferFile(request);

    expect(server.seen[0]?.headers['if-range']).toBe(LAST_MODIFIED);
    await expectFile(path, BODY);
  });

  it('starts again from zero when the server ignores Range and answers 200', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG, honoursRange: false })));
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 50_000));
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG } });

    const result = await transferFile(request);

    expect(server.seen[0]?.headers.range).toBe('bytes=50000-');
    expect(observed.responses).toEqual([{ bytesTotal: SIZE, validator: { etag: ETAG }, restarted: true }]);
    expect(observed.progress[0]).toBe(0);
    expect(result.bytesTotal).toBe(SIZE);
    await expectFile(path, BODY);
  });

  it('starts again from zero when the file changed on the server (If-Range fails, 200)', async () => {
    const changed = content(SIZE + 123).reverse();
    const server = await serve(fileHandler(() => ({ body: changed, etag: '"v2"' })));
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 80_000));
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG } });

    const result = await transferFile(request);

    expect(server.seen[0]?.headers['if-range']).toBe(ETAG);
    expect(observed.responses).toEqual([{ bytesTotal: SIZE + 123, validator: { etag: '"v2"' }, restarted: true }]);
    expect(result).toEqual({ bytesTotal: SIZE + 123, validator: { etag: '"v2"' } });
    await expectFile(path, changed);
  });

  it('starts again from zero when a server that ignores If-Range answers 206 for another version', async () => {
    const changed = content(SIZE).reverse();
    const file = fileHandler(() => ({ body: changed, etag: '"v2"' }));
    const server = await serve((req, res) => {
      delete req.headers['if-range'];
      file(req, res);
    });
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 80_000));
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG } });

    const result = await transferFile(request);

    expect(server.seen.map((seen) => seen.headers.range)).toEqual(['bytes=80000-', undefined]);
    expect(observed.responses).toEqual([{ bytesTotal: SIZE, validator: { etag: '"v2"' }, restarted: true }]);
    expect(result.validator).toEqual({ etag: '"v2"' });
    await expectFile(path, changed);
  });

  it('throws partial data away and asks without Range when no validator vouches for it', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG })));
    const path = tempPath();
    await writeFile(path, Buffer.alloc(90_000, 0xee));
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path });

    await transferFile(request);

    expect(server.seen.map((seen) => seen.headers.range)).toEqual([undefined]);
    expect(observed.responses[0]?.restarted).toBe(true);
    await expectFile(path, BODY);
  });

  it('is done when the partial data is already the whole file (416 at the full size)', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG })));
    const path = tempPath();
    await writeFile(path, BODY);
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG } });

    const result = await transferFile(request);

    expect(server.seen.map((seen) => seen.headers.range)).toEqual([`bytes=${SIZE}-`]);
    expect(result).toEqual({ bytesTotal: SIZE, validator: { etag: ETAG } });
    expect(observed.responses).toEqual([{ bytesTotal: SIZE, validator: { etag: ETAG }, restarted: false }]);
    await expectFile(path, BODY);
  });

  it('starts again from zero when the partial data is longer than the file (416 with another size)', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG })));
    const path = tempPath();
    await writeFile(path, Buffer.concat([BODY, Buffer.alloc(10)]));
    const { request, observed } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG } });

    await transferFile(request);

    expect(server.seen.map((seen) => seen.headers.range)).toEqual([`bytes=${SIZE + 10}-`, undefined]);
    expect(observed.responses).toEqual([{ bytesTotal: SIZE, validator: { etag: ETAG }, restarted: true }]);
    await expectFile(path, BODY);
  });

  it('starts again from zero when a 206 does not start where the partial data ends', async () => {
    const server = await serve((req, res) => {
      if (req.headers.range === undefined) return fileHandler(() => ({ body: BODY, etag: ETAG }))(req, res);
      res.writeHead(206, { etag: ETAG, 'content-range': `bytes 0-99/${SIZE}`, 'content-length': 100 });
      res.end(BODY.subarray(0, 100));
    });
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 5000));
    const { request } = observing({ url: server.url('/file.bin'), tempPath: path, validator: { etag: ETAG } });

    await transferFile(request);

    expect(server.seen.map((seen) => seen.headers.range)).toEqual(['bytes=5000-', undefined]);
    await expectFile(path, BODY);
  });

  it('accepts a body without Content-Length: the total is what arrived at a clean end', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.write(BODY.subarray(0, 1000));
      res.end(BODY.subarray(1000));
    });
    const path = tempPath();
    const { request, observed } = observing({ url: server.url('/chunked'), tempPath: path });

    const result = await transferFile(request);

    expect(observed.responses[0]?.bytesTotal).toBeUndefined();
    expect(result).toEqual({ bytesTotal: SIZE, validator: undefined });
    await expectFile(path, BODY);
  });

  it("passes the engine's own failures through unchanged: onResponse before any byte, onProgress mid-body", async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const refused = new Error('the job store is gone');
    const path = tempPath();
    const { request: refusing } = observing({ url: server.url('/file'), tempPath: path, onResponse: () => Promise.reject(refused) });
    await expect(transferFile(refusing)).rejects.toBe(refused);
    expect(await sizeOf(path)).toBeUndefined();

    const broken = new Error('progress listener broke');
    const { request: throwing } = observing({
      url: server.url('/file'),
      tempPath: path,
      onProgress: (bytes) => {
        if (bytes > 0) throw broken;
      },
    });
    await expect(transferFile(throwing)).rejects.toBe(broken);
  });

  it('fails finally on 404, in the remote file', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(404);
      res.end('not here');
    });
    const { request, observed } = observing({ url: server.url('/missing'), tempPath: tempPath() });

    expectFailure(await failureOf(transferFile(request)), httpError(404), 'remoteFile', false);
    expect(observed.responses).toEqual([]);
  });

  it.each([408, 429, 500, 503])('fails transiently on %i', async (status) => {
    const server = await serve((_req, res) => {
      res.writeHead(status);
      res.end();
    });
    const { request } = observing({ url: server.url('/busy'), tempPath: tempPath() });

    expectFailure(await failureOf(transferFile(request)), httpError(status), 'remoteFile', true);
  });

  it('reports a refused connection as WININET_E_CANNOT_CONNECT, transient', async () => {
    const { request } = observing({ url: `http://127.0.0.1:${await closedPort()}/file`, tempPath: tempPath() });

    expectFailure(await failureOf(transferFile(request)), WININET_E_CANNOT_CONNECT, 'remoteFile', true);
  });

  it('reports a connection reset mid-body as WININET_E_CONNECTION_RESET and keeps what arrived', async () => {
    let resetConnection: () => void = () => undefined;
    const server = await serve((req, res) => {
      res.writeHead(200, { etag: ETAG, 'content-length': SIZE });
      res.write(BODY.subarray(0, 1000));
      resetConnection = () => req.socket.resetAndDestroy();
    });
    const path = tempPath();
    const { request } = observing({
      url: server.url('/reset'),
      tempPath: path,
      onProgress: (bytes) => {
        if (bytes === 1000) resetConnection();
      },
    });

    expectFailure(await failureOf(transferFile(request)), WININET_E_CONNECTION_RESET, 'remoteFile', true);
    await expectFile(path, BODY.subarray(0, 1000));
  });

  it('reports a body shorter than its Content-Length as WININET_E_CONNECTION_ABORTED, transient', async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-length': 2000 });
      res.write(BODY.subarray(0, 1000), () => req.socket.end());
    });
    const { request } = observing({ url: server.url('/short'), tempPath: tempPath() });

    expectFailure(await failureOf(transferFile(request)), WININET_E_CONNECTION_ABORTED, 'remoteFile', true);
  });

  it('keeps no more than the declared Content-Length of a longer body', async () => {
    const raw = createNetServer((socket: Socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n');
        socket.end(BODY.subarray(0, 1500));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const path = tempPath();
    try {
      const { request } = observing({ url: `http://127.0.0.1:${(raw.address() as AddressInfo).port}/long`, tempPath: path });
      const result = await transferFile(request);
      expect(result.bytesTotal).toBe(1000);
      await expectFile(path, BODY.subarray(0, 1000));
    } finally {
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it('times out when the body stalls (WININET_E_TIMEOUT, transient)', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': SIZE });
      res.write(BODY.subarray(0, 1000));
    });
    const { request } = observing({ url: server.url('/stall'), tempPath: tempPath(), idleTimeoutMs: 200 });

    expectFailure(await failureOf(transferFile(request)), WININET_E_TIMEOUT, 'remoteFile', true);
  });

  it('times out when no answer comes', async () => {
    const server = await serve(() => undefined);
    const { request, observed } = observing({ url: server.url('/silent'), tempPath: tempPath(), idleTimeoutMs: 200 });

    expectFailure(await failureOf(transferFile(request)), WININET_E_TIMEOUT, 'remoteFile', true);
    expect(observed.responses).toEqual([]);
  });

  it('follows 301, 302 and 307, sending the custom headers to every hop', async () => {
    const hops: Record<string, [number, string]> = { '/a': [301, '/b'], '/b': [302, '/c'], '/c': [307, '/file'] };
    const file = fileHandler(() => ({ body: BODY, etag: ETAG }));
    const server = await serve((req, res) => {
      const hop = hops[req.url ?? ''];
      if (hop === undefined) return file(req, res);
      res.writeHead(hop[0], { location: hop[1] });
      res.end();
    });
    const path = tempPath();
    const { request } = observing({ url: server.url('/a'), tempPath: path, headers: [['x-job', 'nightly'], ['authorization', 'Bearer t']] });

    await transferFile(request);

    expect(server.seen.map((seen) => [seen.url, seen.headers['x-job'], seen.headers.authorization])).toEqual([
      ['/a', 'nightly', 'Bearer t'],
      ['/b', 'nightly', 'Bearer t'],
      ['/c', 'nightly', 'Bearer t'],
      ['/file', 'nightly', 'Bearer t'],
    ]);
    await expectFile(path, BODY);
  });

  it('fails finally on an untrusted TLS certificate, in the remote file', async () => {
    const server = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => res.end('secret'));
    const port = await listen(server);
    try {
      const { request } = observing({ url: `https://127.0.0.1:${port}/file`, tempPath: tempPath() });
      expectFailure(await failureOf(transferFile(request)), WINHTTP_E_SECURE_INVALID_CA, 'remoteFile', false);
    } finally {
      await closeServer(server);
    }
  });

  it('refuses a URL that is neither http(s) nor a local file', async () => {
    const { request } = observing({ url: 'ftp://example.com/file', tempPath: tempPath() });

    expectFailure(await failureOf(transferFile(request)), E_INVALIDARG, 'remoteFile', false);
  });
});

describe('transferFile through a proxy', () => {
  const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const;
  let saved: Record<string, string | undefined>;

  beforeEach(() => {
    saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
    for (const name of PROXY_VARIABLES) delete process.env[name];
  });

  afterEach(() => {
    for (const name of PROXY_VARIABLES) {
      const value = saved[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("sends plain-HTTP requests to an 'override' proxy as absolute URIs", async () => {
    const server = await serve(fileHandler(() => ({ body: BODY, etag: ETAG })));
    const proxy = await startProxy();
    const path = tempPath();
    const { request } = observing({
      url: server.url('/via-proxy'),
      tempPath: path,
      proxy: { usage: 'override', list: `${proxy.origin.replace('http://', '')};other:8080`, bypass: '' },
      headers: [['x-job', 'proxied']],
    });

    await transferFile(request);

    expect(proxy.seen.map((seen) => [seen.url, seen.headers['x-job']])).toEqual([[server.url('/via-proxy'), 'proxied']]);
    expect(server.seen).toHaveLength(1);
    await expectFile(path, BODY);
  });

  it("goes direct for hosts in the bypass list ('<local>' = no dot in the name)", async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const proxy = await startProxy();
    const port = new URL(server.origin).port;
    const viaBypass = observing({ url: server.url('/bypass'), tempPath: tempPath(), proxy: { usage: 'override', list: proxy.origin, bypass: 'example.com; 127.0.0.*' } });
    const viaLocal = observing({ url: `http://localhost:${port}/local`, tempPath: tempPath(), proxy: { usage: 'override', list: proxy.origin, bypass: '<local>' } });

    await transferFile(viaBypass.request);
    await transferFile(viaLocal.request);

    expect(proxy.seen).toEqual([]);
    expect(server.seen.map((seen) => seen.url)).toEqual(['/bypass', '/local']);
  });

  it("honours HTTP_PROXY with 'preconfig', and NO_PROXY", async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const proxy = await startProxy();
    process.env.HTTP_PROXY = proxy.origin;

    await transferFile(observing({ url: server.url('/env-proxied'), tempPath: tempPath(), proxy: { usage: 'preconfig', list: '', bypass: '' } }).request);
    process.env.NO_PROXY = 'example.com,127.0.0.1';
    await transferFile(observing({ url: server.url('/env-direct'), tempPath: tempPath(), proxy: { usage: 'preconfig', list: '', bypass: '' } }).request);

    expect(proxy.seen.map((seen) => seen.url)).toEqual([server.url('/env-proxied')]);
    expect(server.seen.map((seen) => seen.url)).toEqual(['/env-proxied', '/env-direct']);
  });

  it("ignores HTTP_PROXY with 'noProxy'", async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const proxy = await startProxy();
    process.env.http_proxy = proxy.origin;

    await transferFile(observing({ url: server.url('/direct'), tempPath: tempPath() }).request);

    expect(proxy.seen).toEqual([]);
  });

  it("blames the transport when the proxy cannot be reached", async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const { request } = observing({ url: server.url('/file'), tempPath: tempPath(), proxy: { usage: 'override', list: `127.0.0.1:${await closedPort()}`, bypass: '' } });

    expectFailure(await failureOf(transferFile(request)), WININET_E_CANNOT_CONNECT, 'generalTransport', true);
  });
});

describe('transferFile from a local source', () => {
  it('copies a file named by an absolute path, and resumes it with the validator it gave', async () => {
    const source = join(folder, 'source.bin');
    await writeFile(source, BODY);
    const first = observing({ url: source, tempPath: tempPath() });
    const { validator } = await transferFile(first.request);
    await expectFile(first.request.tempPath, BODY);
    expect(first.observed.responses).toEqual([{ bytesTotal: SIZE, validator, restarted: false }]);

    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 12_345));
    const resumed = observing({ url: pathToFileURL(source).href, tempPath: path, validator });
    const result = await transferFile(resumed.request);

    expect(result).toEqual({ bytesTotal: SIZE, validator });
    expect(resumed.observed.responses[0]?.restarted).toBe(false);
    expect(resumed.observed.progress[0]).toBe(12_345);
    await expectFile(path, BODY);
  });

  it('starts again when the source changed since the partial copy', async () => {
    const source = join(folder, 'changing.bin');
    await writeFile(source, BODY);
    const { validator } = await transferFile(observing({ url: source, tempPath: tempPath() }).request);
    const changed = content(SIZE).reverse();
    await writeFile(source, changed);
    await utimes(source, new Date(2001, 1, 1), new Date(2001, 1, 1));
    const path = tempPath();
    await writeFile(path, BODY.subarray(0, 1000));
    const { request, observed } = observing({ url: source, tempPath: path, validator });

    await transferFile(request);

    expect(observed.responses[0]?.restarted).toBe(true);
    await expectFile(path, changed);
  });

  it('copies an empty file', async () => {
    const source = join(folder, 'empty.bin');
    await writeFile(source, '');
    const path = tempPath();

    expect((await transferFile(observing({ url: source, tempPath: path }).request)).bytesTotal).toBe(0);
    expect(await sizeOf(path)).toBe(0);
  });

  it('fails finally with ERROR_FILE_NOT_FOUND in the remote file when the source is missing', async () => {
    const { request } = observing({ url: join(folder, 'no-such-source.bin'), tempPath: tempPath() });

    expectFailure(await failureOf(transferFile(request)), ERROR_FILE_NOT_FOUND, 'remoteFile', false);
  });
});

describe('transferFile writing the temporary file', () => {
  const injected = (code: string) => Object.assign(new Error(`${code} (injected)`), { code });

  /** A disk with room for `room` more bytes: the write that reaches the limit is short, the next one fails. */
  const diskWithRoomFor = (room: number): TransferFileSystem => ({
    async open(path, flags) {
      const handle = await open(path, flags);
      let left = room;
      return {
        write: async (data) => {
          if (left === 0) throw injected('ENOSPC');
          const written = await handle.write(data.subarray(0, left));
          left -= written.bytesWritten;
          return written;
        },
        close: () => handle.close(),
      };
    },
  });

  const deniedFile = (code: string): TransferFileSystem => ({
    open: () => Promise.reject(injected(code)),
  });

  it('reports a full disk as ERROR_DISK_FULL, final, in the local file', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const { request } = observing({ url: server.url('/file'), tempPath: tempPath(), fileSystem: diskWithRoomFor(1000) });

    expectFailure(await failureOf(transferFile(request)), ERROR_DISK_FULL, 'localFile', false);
    expect(await sizeOf(request.tempPath)).toBe(1000);
  });

  it('reports a full disk while copying a local source the same way', async () => {
    const source = join(folder, 'for-full-disk.bin');
    await writeFile(source, BODY);
    const { request } = observing({ url: source, tempPath: tempPath(), fileSystem: diskWithRoomFor(0) });

    expectFailure(await failureOf(transferFile(request)), ERROR_DISK_FULL, 'localFile', false);
  });

  it('reports a denied temporary file as E_ACCESSDENIED, final, in the local file', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const { request } = observing({ url: server.url('/file'), tempPath: tempPath(), fileSystem: deniedFile('EACCES') });

    expectFailure(await failureOf(transferFile(request)), E_ACCESSDENIED, 'localFile', false);
  });

  it('reports a missing folder as ERROR_PATH_NOT_FOUND, final, in the local file', async () => {
    const server = await serve(fileHandler(() => ({ body: BODY })));
    const { request } = observing({ url: server.url('/file'), tempPath: join(folder, 'no-such-folder', 'file.tmp') });

    expectFailure(await failureOf(transferFile(request)), ERROR_PATH_NOT_FOUND, 'localFile', false);
  });
});

describe('aborting transferFile', () => {
  it('rejects with the reason, keeps the bytes written, and a later call resumes from them', async () => {
    const HEAD = 64 * 1024;
    const file = fileHandler(() => ({ body: BODY, etag: ETAG }));
    const server = await serve((req, res) => {
      if (req.headers.range !== undefined) return file(req, res);
      // The first answer sends its head and then waits forever: only the abort ends it.
      res.writeHead(200, { etag: ETAG, 'content-length': SIZE });
      res.write(BODY.subarray(0, HEAD));
    });
    const path = tempPath();
    const controller = new AbortController();
    const reason = new Error('suspended');
    const first = observing({
      url: server.url('/file'),
      tempPath: path,
      signal: controller.signal,
      onProgress: (bytes) => {
        if (bytes >= HEAD) controller.abort(reason);
      },
    });

    await expect(transferFile(first.request)).rejects.toBe(reason);
    expect(await sizeOf(path)).toBe(HEAD);

    const validator: Validator | undefined = first.observed.responses[0]?.validator;
    const second = observing({ url: server.url('/file'), tempPath: path, validator });
    await transferFile(second.request);

    expect(server.seen.map((seen) => seen.headers.range)).toEqual([undefined, `bytes=${HEAD}-`]);
    await expectFile(path, BODY);
  });

  it('rejects at once when the signal is already aborted, touching nothing', async () => {
    const reason = new Error('cancelled');
    const path = tempPath();
    const { request, observed } = observing({ url: 'http://127.0.0.1:9/never', tempPath: path, signal: AbortSignal.abort(reason) });

    await expect(transferFile(request)).rejects.toBe(reason);
    expect(observed.events).toEqual([]);
    expect(await sizeOf(path)).toBeUndefined();
  });
});

/** A self-signed certificate for 127.0.0.1 and localhost, valid 2000-2100: trusted by nobody. */
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBVDCB/KADAgECAgEBMAoGCCqGSM49BAMCMBQxEjAQBgNVBAMMCWxvY2FsaG9z
dDAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowFDESMBAGA1UEAwwJ
bG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEojiRtQrJMKDfUvDN
c/kKNSL8kSIObHhVk2QVAHWcXgTGqX/s9TwTgpCHnHknnv91j+o5dhD+dBDQc8hg
XaA9b6M9MDswGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MB0GA1UdDgQWBBQa
+lcXQmWPNPNNLvYRXZR5teH0RDAKBggqhkjOPQQDAgNHADBEAiBtQRtGn5D3OsZN
yPUrIAEMQ6m1xtfBVXDnLj6kB11jpgIgEFfYVh7h/aV3/Db+ruWQ/OQsgnXQfoDZ
6U7L5DUDIh0=
-----END CERTIFICATE-----
`;

const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbQ/WjnaQdYC6gUNF
UZ5DeUfXUj1dFjlrRdHsB5FWVcihRANCAASiOJG1CskwoN9S8M1z+Qo1IvyRIg5s
eFWTZBUAdZxeBMapf+z1PBOCkIeceSee/3WP6jl2EP50ENBzyGBdoD1v
-----END PRIVATE KEY-----
`;
