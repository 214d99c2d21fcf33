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
}

/** The local path a file URL or plain path names; undefined for an http(s) URL. */
export function localSource(url: string): string | undefined {
  if (url.startsWith('http://') || url.startsWith('https://')) return undefined;
  return url.startsWith('file:') ? fileURLToPath(url) : url;
}

function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = cause?.code ?? (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

async function source(url: string, headers: string, signal: AbortSignal, progress: TransferProgress): Promise<Readable> {
  const path = localSource(url);
  if (path === undefined) {
    let response: Response;
    try {
      const requestHeaders = headers
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line): [string, string] => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]);
      response = await fetch(url, { signal, headers: requestHeaders });
    } catch (error) {
      if (signal.aborted) throw error;
      const code = errorCode(error);
      throw new TransferFailure(code === 'ECONNREFUSED' ? WININET_E_CANNOT_CONNECT : BG_E_NETWORK_DISCONNECTED, 6, true);
    }
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
export async function transferFile(url: string, tempPath: string, headers: string, signal: AbortSignal, progress: TransferProgress): Promise<void> {
  const input = await source(url, headers, signal, progress);
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
