import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BG_E_NETWORK_DISCONNECTED,
  ERROR_FILE_NOT_FOUND,
  ERROR_PATH_NOT_FOUND,
  hresultForHttpStatus,
  WININET_E_CANNOT_CONNECT,
} from '../../src/com/hresult.js';
import type { Credential } from './job-model.js';
import { Agent } from 'undici';

/** Requests whose server certificate the job model has already judged (server-certificate.ts). */
const CHECKED_ELSEWHERE = new Agent({ connect: { rejectUnauthorized: false } });

/** The loopback's transfer of one file into its temporary name, as BITS would do it. */

/** How a transfer failed: BITS's classification into transient (retried) and fatal. */
export class TransferFailure extends Error {
  constructor(
    readonly hresult: number,
    readonly context: number,
    readonly transient: boolean,
  ) {
    super(`transfer failed with 0x${hresult.toString(16)}`);
  }
}

export interface TransferProgress {
  /**
   * The source answered (HTTP headers, or the file exists), with its size when known. BG_JOB_STATE:
   * "If the connection succeeds, the state of the job becomes BG_JOB_STATE_TRANSFERRING".
   */
  connected(bytes: number | undefined): void;
  advance(bytes: number): void;
  /** The server's answer, as its status line and headers (CRLF-separated), whatever the status. */
  responded?(headers: string): void;
}

/** A response's status line and headers as BITS hands them out (BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS). */
function headerBlock(response: Response): string {
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText}`.trimEnd(), ...[...response.headers].map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n`;
}

/** The local path a file URL or plain path names; undefined for an http(s) URL. */
export function localSource(url: string): string | undefined {
  if (url.startsWith('http://') || url.startsWith('https://')) return undefined;
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = cause?.code ?? (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The credentials a transfer may answer a challenge with (the loopback models Basic for the server). */
export interface Authentication {
  readonly server: Credential | undefined;
}

/** The job's custom headers (CRLF-separated lines) as fetch takes them. */
export function headerPairs(headers: string): Array<[string, string]> {
  return headers
    .split('\r\n')
    .filter((line) => line.includes(':'))
    .map((line): [string, string] => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]);
}

/**
 * One HTTP request as BITS makes it: a network failure is a transient error of the transport; a 401
 * challenge for Basic is answered once with the job's server credentials, if it has any, and a second
 * 401 (the credentials were rejected) is left to the caller as BG_E_HTTP_ERROR_401.
 */
export async function request(url: string, init: RequestInit & { headers: Array<[string, string]> }, auth: Authentication, signal: AbortSignal): Promise<Response> {
  const attempt = async (extra: Array<[string, string]>): Promise<Response> => {
    try {
      // Over https the server's certificate was already checked as BITS checks it (server-certificate.ts).
      // (Node's fetch takes an undici dispatcher; its typings name the undici bundled with Node, not this one.)
      const tls = url.startsWith('https:') ? ({ dispatcher: CHECKED_ELSEWHERE } as unknown as RequestInit) : {};
      return await fetch(url, { ...init, ...tls, signal, headers: [...init.headers, ...extra] });
    } catch (error) {
      if (signal.aborted) throw error;
      const code = errorCode(error);
      throw new TransferFailure(code === 'ECONNREFUSED' ? WININET_E_CANNOT_CONNECT : BG_E_NETWORK_DISCONNECTED, 6, true);
    }
  };
  const response = await attempt([]);
  const challenge = response.headers.get('www-authenticate') ?? '';
  const basic = auth.server;
  if (response.status !== 401 || !/^basic\b/i.test(challenge) || basic?.userName == null || basic.password === null) return response;
  await response.body?.cancel();
  return attempt([['authorization', `Basic ${Buffer.from(`${basic.userName}:${basic.password}`).toString('base64')}`]]);
}

async function source(url: string, headers: string, signal: AbortSignal, progress: TransferProgress, auth: Authentication, method: string): Promise<Readable> {
  const path = localSource(url);
  if (path === undefined) {
    const response = await request(url, { method, headers: headerPairs(headers) }, auth, signal);
    progress.responded?.(headerBlock(response));
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new TransferFailure(hresultForHttpStatus(response.status), 5, isTransientStatus(response.status));
    }
    const length = response.headers.get('content-length');
    progress.connected(length === null ? undefined : Number(length));
    return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new TransferFailure(ERROR_FILE_NOT_FOUND, 5, false);
  }
  progress.connected(size);
  return createReadStream(path);
}

/** Copies `url` into `tempPath`, reporting progress; aborting stops it (the partial file stays, as in BITS). */
export async function transferFile(
  url: string,
  tempPath: string,
  headers: string,
  signal: AbortSignal,
  progress: TransferProgress,
  auth: Authentication = { server: undefined },
  /** IBackgroundCopyJobHttpOptions2::SetHttpMethod's, when one was set. */
  method = 'GET',
): Promise<void> {
  const input = await source(url, headers, signal, progress, auth, method);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.advance(chunk.length);
      done(null, chunk);
    },
  });
  const output = createWriteStream(tempPath);
  try {
    await pipeline(input, counter, output, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    const code = errorCode(error);
    if (code === 'ENOENT') throw new TransferFailure(ERROR_PATH_NOT_FOUND, 4, false);
    throw new TransferFailure(BG_E_NETWORK_DISCONNECTED, 6, true);
  }
}
