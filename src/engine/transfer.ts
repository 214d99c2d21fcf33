/**
 * Transfers one file of a job into its temporary file, the way BITS does: resuming partial data with
 * a validated Range request, restarting when the server's file changed, and reporting every failure
 * as a BITS HRESULT with the side at fault. Local sources (a path or a file: URL) are copied the same way.
 */
import { createReadStream, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { dispatcherFor, type ProxiedDispatcher, type ProxySettings } from './proxy.js';
import { E_FAIL } from '../com/hresult.js';
import {
  TransferError,
  httpStatusError,
  localSourceError,
  localWriteError,
  networkError,
  overlongBodyError,
  rangeNotHonouredError,
  timeoutError,
  truncatedBodyError,
  unsupportedSourceError,
} from './transfer-errors.js';

export { TransferError, type TransferErrorContext } from './transfer-errors.js';
export { closeTransferDispatchers, type ProxySettings } from './proxy.js';

/** What tells whether partial data still belongs to the same remote file. */
export interface Validator {
  readonly etag?: string;
  readonly lastModified?: string;
}

export interface ResponseInfo {
  readonly bytesTotal: number | undefined;
  readonly validator: Validator | undefined;
  /** Partial data was on disk and is being thrown away: the transfer starts again from byte 0. */
  readonly restarted: boolean;
}

/** An open file the transfer appends to; what `fs/promises` FileHandle offers, reduced to what is used. */
export interface TempFileHandle {
  write(data: Uint8Array): Promise<{ readonly bytesWritten: number }>;
  /** Several buffers in one call, as fs.WriteStream batches what queued up; absent, one write each. */
  writev?(data: Uint8Array[]): Promise<{ readonly bytesWritten: number }>;
  close(): Promise<void>;
}

/** How the temporary file is opened: 'w' truncates (a start from 0), 'a' appends (a resume). Tests swap it for failing ones. */
export interface TransferFileSystem {
  open(path: string, flags: 'w' | 'a'): Promise<TempFileHandle>;
}

export interface TransferRequest {
  /** An http:// or https:// URL, or a local source: an absolute path or a file: URL. */
  readonly url: string;
  /** Partial data lives here; created if missing (its folder is not). */
  readonly tempPath: string;
  /** From an earlier attempt; undefined = no partial data can be trusted. */
  readonly validator: Validator | undefined;
  /** Custom request headers; they are sent again on every redirect hop, as BITS does. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly proxy: ProxySettings;
  /** Abort = stop now: the promise rejects with signal.reason and tempPath keeps what was written. */
  readonly signal: AbortSignal;
  /** No progress for this long (connecting, waiting for headers, or mid-body) = WININET_E_TIMEOUT. */
  readonly idleTimeoutMs?: number;
  /** Called once the response headers are known, before any body byte is written. */
  readonly onResponse: (info: ResponseInfo) => void | Promise<void>;
  /** Bytes now in tempPath (absolute), after each write. */
  readonly onProgress: (bytesTransferred: number) => void;
  /** Where the temporary file is written; node:fs unless a test injects failures. */
  readonly fileSystem?: TransferFileSystem;
  /** Resolves when `bytes` more may be read (the engine's bandwidth cap); absent, as fast as the network allows. */
  readonly pace?: (bytes: number, signal: AbortSignal) => Promise<void>;
}

export interface TransferResult {
  readonly bytesTotal: number;
  readonly validator: Validator | undefined;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

type IncomingHttpHeaders = Dispatcher.ResponseData['headers'];

const nodeFileSystem: TransferFileSystem = { open: (path, flags) => open(path, flags) };

/** Transfers `request.url` into `request.tempPath`, resuming what is already there when it is still valid. */
export async function transferFile(request: TransferRequest): Promise<TransferResult> {
  request.signal.throwIfAborted();
  const source = parseSource(request.url);
  try {
    return source.kind === 'local' ? await copyLocalFile(source.path, request) : await downloadHttp(source.url, request);
  } catch (error) {
    // Whatever broke while stopping (a destroyed socket, a closed file), the caller asked for the stop.
    if (request.signal.aborted) throw request.signal.reason;
    throw error;
  }
}

type Source = { readonly kind: 'http'; readonly url: URL } | { readonly kind: 'local'; readonly path: string };

function parseSource(url: string): Source {
  try {
    if (/^file:/i.test(url)) return { kind: 'local', path: fileURLToPath(url) };
    if (isAbsolute(url)) return { kind: 'local', path: url };
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return { kind: 'http', url: parsed };
  } catch {
    // Not parseable: reported below like any other unsupported source.
  }
  throw unsupportedSourceError(url);
}

/** The size of the partial data: the resume offset. */
async function sizeOnDisk(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 0;
    throw localWriteError(error, path);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Aborts when nothing happened for `ms`; suspended while the engine handles onResponse. */
class IdleWatchdog {
  readonly #controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    private readonly reason: () => Error,
  ) {
    this.bump();
  }
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  /** Called for every chunk: re-arms the one timer rather than making a new one. */
  bump(): void {
    if (this.#controller.signal.aborted) return;
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#controller.abort(this.reason()), this.ms);
    else this.#timer.refresh();
  }
  suspend(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** One HTTP transfer's shared state. */
interface Exchange {
  readonly url: URL;
  readonly request: TransferRequest;
  readonly route: ProxiedDispatcher;
  readonly watchdog: IdleWatchdog;
  /** The caller's abort or the watchdog's. */
  readonly signal: AbortSignal;
}

/** Write `body` into tempPath from byte `start` (0: truncate first). */
interface WritePlan {
  readonly kind: 'write';
  readonly start: number;
  readonly body: Readable;
  /** From Content-Length: the body must bring exactly this much. */
  readonly bodyLength: number | undefined;
  readonly bytesTotal: number | undefined;
  readonly validator: Validator | undefined;
}

/** The partial data already is the whole file. */
interface CompletePlan {
  readonly kind: 'complete';
  readonly bytesTotal: number;
  readonly validator: Validator | undefined;
}

/** The partial answer does not fit the partial data: ask for the whole file. */
interface RestartPlan {
  readonly kind: 'restart';
}

/** What the server's answer means for the file on disk. */
type Plan = WritePlan | CompletePlan | RestartPlan;

async function downloadHttp(url: URL, request: TransferRequest): Promise<TransferResult> {
  const idleTimeoutMs = request.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const watchdog = new IdleWatchdog(idleTimeoutMs, () => timeoutError(url.href, idleTimeoutMs));
  const exchange: Exchange = { url, request, route: dispatcherFor(url, request.proxy), watchdog, signal: AbortSignal.any([request.signal, watchdog.signal]) };
  try {
    const onDisk = await sizeOnDisk(request.tempPath);
    const ifRange = onDisk > 0 ? ifRangeValue(request.validator) : undefined;
    const plan = await askResumable(exchange, onDisk, ifRange);
    if (plan.kind === 'complete') {
      await announce(exchange, { bytesTotal: plan.bytesTotal, validator: plan.validator, restarted: false });
      request.onProgress(plan.bytesTotal);
      return { bytesTotal: plan.bytesTotal, validator: plan.validator };
    }
    await announce(exchange, { bytesTotal: plan.bytesTotal, validator: plan.validator, restarted: onDisk > 0 && plan.start === 0 }, plan.body);
    const size = await writeBody(exchange, plan);
    if (plan.bytesTotal !== undefined && size !== plan.bytesTotal) throw truncatedBodyError(url.href, size, plan.bytesTotal);
    return { bytesTotal: size, validator: plan.validator };
  } finally {
    watchdog.suspend();
  }
}

/** If-Range needs a strong validator: a strong ETag, else the Last-Modified date; a weak ETag alone cannot resume. */
function ifRangeValue(validator: Validator | undefined): string | undefined {
  if (validator?.etag !== undefined && !validator.etag.startsWith('W/')) return validator.etag;
  return validator?.lastModified;
}

/** Hands the headers to the engine with the watchdog paused: the engine's persistence is not the network's silence. */
async function announce(exchange: Exchange, info: ResponseInfo, body?: Readable): Promise<void> {
  exchange.watchdog.suspend();
  try {
    await exchange.request.onResponse(info);
    exchange.request.signal.throwIfAborted();
  } catch (error) {
    if (body !== undefined) discard(body);
    throw error;
  }
  exchange.watchdog.bump();
}

/** Asks for the rest of the file; when the partial answer does not fit the partial data, asks once more for all of it. */
async function askResumable(exchange: Exchange, onDisk: number, ifRange: string | undefined): Promise<WritePlan | CompletePlan> {
  const resumed = await ask(exchange, ifRange === undefined ? 0 : onDisk, ifRange);
  if (resumed.kind !== 'restart') return resumed;
  const whole = await ask(exchange, 0, undefined);
  if (whole.kind === 'restart') throw rangeNotHonouredError(exchange.url.href, 'the server answered a request without Range with a partial answer');
  return whole;
}

/** Sends the GET (ranged from `from` when it is above 0) and reads what the answer means. */
async function ask(exchange: Exchange, from: number, ifRange: string | undefined): Promise<Plan> {
  const response = await send(exchange, from, ifRange);
  try {
    const plan = interpret(exchange, response, from);
    if (plan.kind !== 'write') discard(response.body);
    return plan;
  } catch (error) {
    discard(response.body);
    throw error;
  }
}

/** Drops a body nobody will read; undici reports that as an error, which is expected here. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

interface Response {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

async function send(exchange: Exchange, from: number, ifRange: string | undefined): Promise<Response> {
  const headers = exchange.request.headers.flatMap(([name, value]) => [name, value]);
  if (from > 0 && ifRange !== undefined) headers.push('range', `bytes=${from}-`, 'if-range', ifRange);
  try {
    return await exchange.route.dispatcher.request({
      origin: exchange.url.origin,
      path: `${exchange.url.pathname}${exchange.url.search}`,
      method: 'GET',
      headers,
      signal: exchange.signal,
      // The watchdog is the one timer, so undici's own are off.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (error) {
    throw failure(exchange, error, exchange.route.viaProxy);
  }
}

function interpret(exchange: Exchange, response: Response, from: number): Plan {
  const { statusCode, headers, body } = response;
  const contentLength = numberHeader(headers, 'content-length');
  if (statusCode === 200) {
    return { kind: 'write', start: 0, body, bodyLength: contentLength, bytesTotal: contentLength, validator: validatorOf(headers) };
  }
  if (statusCode === 206) {
    const range = parseContentRange(header(headers, 'content-range'));
    if (range?.start !== from) return restartOrFail(exchange, from, `a 206 answer for byte ${from} gave ${header(headers, 'content-range') ?? 'no Content-Range'}`);
    // A server that honours Range but not If-Range would otherwise glue two versions of the file together.
    if (from > 0 && contradicts(validatorOf(headers), exchange.request.validator)) return { kind: 'restart' };
    const bodyLength = contentLength ?? (range.end === undefined ? undefined : range.end - range.start + 1);
    const bytesTotal = range.total ?? (bodyLength === undefined ? undefined : from + bodyLength);
    // A 206 need not repeat the validator; the one that got it is still right.
    return { kind: 'write', start: from, body, bodyLength, bytesTotal, validator: validatorOf(headers) ?? exchange.request.validator };
  }
  if (statusCode === 416 && from > 0) {
    const total = parseContentRange(header(headers, 'content-range'))?.total;
    if (total === from) return { kind: 'complete', bytesTotal: total, validator: validatorOf(headers) ?? exchange.request.validator };
    return { kind: 'restart' };
  }
  throw httpStatusError(statusCode, exchange.url.href);
}

function restartOrFail(exchange: Exchange, from: number, detail: string): Plan {
  if (from > 0) return { kind: 'restart' };
  throw rangeNotHonouredError(exchange.url.href, detail);
}

/** The answer names another version than the one the partial data came from. */
function contradicts(answered: Validator | undefined, known: Validator | undefined): boolean {
  if (answered === undefined || known === undefined) return false;
  if (answered.etag !== undefined && known.etag !== undefined) return answered.etag !== known.etag;
  return answered.lastModified !== undefined && known.lastModified !== undefined && answered.lastModified !== known.lastModified;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function numberHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const value = header(headers, name);
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

function validatorOf(headers: IncomingHttpHeaders): Validator | undefined {
  const etag = header(headers, 'etag');
  const lastModified = header(headers, 'last-modified');
  if (etag === undefined && lastModified === undefined) return undefined;
  return { ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) };
}

/** `bytes 100-199/1000` (or `bytes 100-199/*`, or `bytes *\/1000` on a 416). */
function parseContentRange(value: string | undefined): { start?: number; end?: number; total?: number } | undefined {
  const match = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (match === null) return undefined;
  const [, start, end, total] = match;
  return {
    ...(start === undefined ? {} : { start: Number(start) }),
    ...(end === undefined ? {} : { end: Number(end) }),
    ...(total === undefined || total === '*' ? {} : { total: Number(total) }),
  };
}

/** Streams the body into tempPath; returns the file's size once the body ended as declared. */
async function writeBody(exchange: Exchange, plan: WritePlan): Promise<number> {
  const writer = new TempFileWriter(exchange.request.fileSystem ?? nodeFileSystem, exchange.request.tempPath, plan.start, (size) => {
    exchange.watchdog.bump();
    exchange.request.onProgress(size);
  });
  const meter = new BodyMeter(exchange, plan.bodyLength);
  try {
    await pipeline(plan.body, meter, writer, { signal: exchange.signal });
  } catch (error) {
    throw failure(exchange, error, false);
  } finally {
    await writer.quiet();
  }
  if (plan.bodyLength !== undefined && meter.received < plan.bodyLength) throw truncatedBodyError(exchange.url.href, meter.received, plan.bodyLength);
  return plan.start + meter.received;
}

/**
 * Counts the body's bytes on their way to the file, cuts what goes past the declared length, keeps
 * the idle watchdog fed and waits for the bandwidth cap. A Transform passes each chunk on as it
 * came (an async iterator over the body would merge buffered chunks into new, copied buffers).
 */
class BodyMeter extends Transform {
  received = 0;

  constructor(
    private readonly exchange: Exchange,
    private readonly bodyLength: number | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { watchdog, request, signal } = this.exchange;
    watchdog.bump();
    if (request.pace === undefined) {
      this.#pass(chunk, callback);
      return;
    }
    request.pace(chunk.length, signal).then(() => {
      // Waiting for the cap is not the server going quiet.
      watchdog.bump();
      this.#pass(chunk, callback);
    }, callback);
  }

  #pass(chunk: Buffer, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.bodyLength !== undefined && this.received > this.bodyLength) {
      this.push(chunk.subarray(0, chunk.length - (this.received - this.bodyLength)));
      callback(overlongBodyError(this.exchange.url.href, this.bodyLength));
      return;
    }
    callback(null, chunk);
  }
}

/** The one error an HTTP failure is reported as; `proxyBeforeAnswer`: a proxy was in the way and no answer arrived yet. */
function failure(exchange: Exchange, error: unknown, proxyBeforeAnswer: boolean): unknown {
  if (exchange.request.signal.aborted) return exchange.request.signal.reason;
  if (exchange.watchdog.signal.aborted) return exchange.watchdog.signal.reason;
  return ownFailure(error) ?? networkError(error, exchange.url.href, proxyBeforeAnswer);
}

// ---------------------------------------------------------------------------------------------
// The temporary file

/** What the engine's own onProgress threw: handed back to it as it is, not dressed up as a transfer failure. */
class ListenerError extends Error {
  constructor(readonly thrown: unknown) {
    super('onProgress threw', { cause: thrown });
  }
}

/** The error a failed pipeline stands for, when it is not the network's or the source's fault. */
function ownFailure(error: unknown): unknown {
  if (error instanceof ListenerError) return error.thrown;
  if (error instanceof TransferError) return error;
  return undefined;
}

/**
 * Appends to tempPath with back-pressure, one awaited write at a time, reporting the file's size
 * after each: the size it reports is on disk, never ahead of it.
 */
class TempFileWriter extends Writable {
  #handle: TempFileHandle | undefined;
  #size: number;

  constructor(
    private readonly fileSystem: TransferFileSystem,
    private readonly path: string,
    start: number,
    private readonly onWritten: (size: number) => void,
  ) {
    // A megabyte may queue up while a write is on the disk; _writev then takes it in one call.
    super({ highWaterMark: 1024 * 1024 });
    this.#size = start;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.fileSystem.open(this.path, this.#size === 0 ? 'w' : 'a').then(
      (handle) => {
        this.#handle = handle;
        this.#reportSize(callback);
      },
      (error: unknown) => callback(localWriteError(error, this.path)),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#writeAll(chunk).then(
      () => {
        this.#size += chunk.length;
        this.#reportSize(callback);
      },
      (error: unknown) => callback(localWriteError(error, this.path)),
    );
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    this.#writeMany(buffers, total).then(
      () => {
        this.#size += total;
        this.#reportSize(callback);
      },
      (error: unknown) => callback(localWriteError(error, this.path)),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#close().then(
      () => callback(),
      (error: unknown) => callback(localWriteError(error, this.path)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Stopping already has its reason; a failure to close on top of it would only hide that reason.
    this.#close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Resolves once the file is closed: no write of this transfer can still change its size. */
  quiet(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) resolve();
      else this.once('close', () => resolve());
    });
  }

  /** A throwing listener fails the stream instead of leaving the write unanswered. */
  #reportSize(callback: (error?: Error | null) => void): void {
    try {
      this.onWritten(this.#size);
    } catch (error) {
      callback(new ListenerError(error));
      return;
    }
    callback();
  }

  async #writeAll(chunk: Buffer): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) throw new Error('the temporary file is not open');
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await handle.write(chunk.subarray(offset));
      if (bytesWritten <= 0) throw Object.assign(new Error('the disk accepted no more bytes'), { code: 'ENOSPC' });
      offset += bytesWritten;
    }
  }

  /** One writev when the handle has it; whatever it did not take goes by single writes. */
  async #writeMany(buffers: Buffer[], total: number): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) throw new Error('the temporary file is not open');
    const written = handle.writev === undefined ? 0 : (await handle.writev(buffers)).bytesWritten;
    if (written >= total) return;
    const rest = Buffer.concat(buffers).subarray(written);
    await this.#writeAll(rest);
  }

  async #close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Local sources

/** Size and modification time: what a changed local file cannot keep. */
function localValidator(stats: Stats): Validator {
  return { etag: `"${stats.size}-${stats.mtimeMs}"`, lastModified: stats.mtime.toUTCString() };
}

function sameValidator(known: Validator | undefined, current: Validator): boolean {
  if (known === undefined) return false;
  return known.etag !== undefined ? known.etag === current.etag : known.lastModified === current.lastModified;
}

async function statSource(path: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw localSourceError(error, path);
  }
  if (!stats.isFile()) throw localSourceError(Object.assign(new Error('not a file'), { code: 'EISDIR' }), path);
  return stats;
}

async function copyLocalFile(sourcePath: string, request: TransferRequest): Promise<TransferResult> {
  const stats = await statSource(sourcePath);
  const validator = localValidator(stats);
  const onDisk = await sizeOnDisk(request.tempPath);
  const start = onDisk <= stats.size && sameValidator(request.validator, validator) ? onDisk : 0;
  await request.onResponse({ bytesTotal: stats.size, validator, restarted: onDisk > 0 && start === 0 });
  request.signal.throwIfAborted();
  if (start === stats.size && start > 0) {
    request.onProgress(start);
    return { bytesTotal: stats.size, validator };
  }
  const copied = await copyRange(sourcePath, start, stats.size, request);
  if (copied !== stats.size) {
    throw new TransferError(E_FAIL, 'remoteFile', `${sourcePath} changed while it was copied (${copied} of ${stats.size} bytes)`);
  }
  return { bytesTotal: stats.size, validator };
}

/** Copies bytes [start, end) of the source onto tempPath; returns the size of tempPath afterwards. */
async function copyRange(sourcePath: string, start: number, end: number, request: TransferRequest): Promise<number> {
  let size = start;
  const writer = new TempFileWriter(request.fileSystem ?? nodeFileSystem, request.tempPath, start, (written) => {
    size = written;
    request.onProgress(written);
  });
  // An empty range still opens the writer, which creates (or truncates) tempPath.
  const reader = end > start ? createReadStream(sourcePath, { start, end: end - 1 }) : Readable.from([]);
  const { pace } = request;
  const paced = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      if (pace !== undefined) await pace(chunk.length, request.signal);
      yield chunk;
    }
  };
  try {
    await pipeline(reader, paced, writer, { signal: request.signal });
  } catch (error) {
    throw ownFailure(error) ?? localSourceError(error, sourcePath);
  } finally {
    await writer.quiet();
  }
  return size;
}
