import { readFile } from 'node:fs/promises';
import { BG_E_INVALID_SERVER_RESPONSE, ERROR_FILE_NOT_FOUND, hresultForHttpStatus } from '../../src/com/hresult.js';
import { headerPairs, isTransientStatus, request, TransferFailure, type Authentication, type TransferProgress } from './transfer.js';

/**
 * The loopback's upload, in the BITS upload protocol ([MC-BUP], "BITS Upload Protocol") as far as the
 * tests need it: Create-Session, Fragments with Content-Range, the reply of an upload-reply job from
 * the BITS-Reply-URL of the last fragment's Ack, Close-Session.
 *
 * Real BITS sends every packet with the verb BITS_POST. Node's HTTP parser (llhttp) answers an
 * unknown verb with 400 before any handler sees it, so the loopback sends POST and the test server
 * reads the packet from BITS-Packet-Type, which is what distinguishes the packets in the protocol.
 */

/** [MC-BUP] 2.2.1: the protocol GUID of BITS 1.5 uploads, offered in Create-Session. */
export const BITS_UPLOAD_PROTOCOL = '{7df0354d-249b-430f-820d-3d2a9bef4931}';

/** How much one Fragment carries: small enough that a test file takes several. */
const FRAGMENT_BYTES = 16 * 1024;

/** What an upload-reply job reports of its reply. */
export interface ReplyListener {
  /** The reply began, with its size when the server gave one. */
  started(bytes: number | undefined): void;
  advance(bytes: number): void;
}

/** Context of an upload failure: the server's answer is about the remote file, a read of ours about the local one. */
const REMOTE_FILE = 5;
const LOCAL_FILE = 4;

/** Uploads `localPath` to `url`; with `reply`, fetches and returns the server's reply (undefined when it sent none). */
export async function uploadFile(
  url: string,
  localPath: string,
  headers: string,
  signal: AbortSignal,
  progress: TransferProgress,
  auth: Authentication,
  reply: ReplyListener | undefined,
): Promise<Buffer | undefined> {
  let body: Buffer;
  try {
    body = await readFile(localPath);
  } catch {
    throw new TransferFailure(ERROR_FILE_NOT_FOUND, LOCAL_FILE, false);
  }
  const packet = async (type: string, extra: Array<[string, string]>, content?: Buffer): Promise<Headers> => {
    const response = await request(
      url,
      { method: 'POST', headers: [...headerPairs(headers), ['bits-packet-type', type], ...extra], ...(content === undefined ? {} : { body: content }) },
      auth,
      signal,
    );
    await response.arrayBuffer();
    if (!response.ok) throw new TransferFailure(hresultForHttpStatus(response.status), REMOTE_FILE, isTransientStatus(response.status));
    if (response.headers.get('bits-packet-type')?.toLowerCase() !== 'ack') throw invalidResponse();
    return response.headers;
  };
  const created = await packet('Create-Session', [['bits-supported-protocols', BITS_UPLOAD_PROTOCOL]]);
  const session = created.get('bits-session-id');
  if (session === null || created.get('bits-protocol')?.toLowerCase() !== BITS_UPLOAD_PROTOCOL) throw invalidResponse();
  const ids: Array<[string, string]> = [['bits-session-id', session]];
  progress.connected(body.length);
  let offset = 0;
  let replyUrl: string | undefined;
  do {
    const end = Math.min(body.length, offset + FRAGMENT_BYTES);
    const range = body.length === 0 ? 'bytes */0' : `bytes ${offset}-${end - 1}/${body.length}`;
    const ack = await packet('Fragment', [...ids, ['content-range', range]], body.subarray(offset, end));
    const received = Number(ack.get('bits-received-content-range'));
    if (!Number.isSafeInteger(received) || received < offset || received > body.length) throw invalidResponse();
    progress.advance(received - offset);
    offset = received;
    replyUrl = ack.get('bits-reply-url') ?? undefined;
  } while (offset < body.length);
  const answer = reply === undefined || replyUrl === undefined ? undefined : await fetchReply(new URL(replyUrl, url).href, headers, signal, auth, reply);
  await packet('Close-Session', ids);
  return answer;
}

async function fetchReply(url: string, headers: string, signal: AbortSignal, auth: Authentication, progress: ReplyListener): Promise<Buffer> {
  const response = await request(url, { headers: headerPairs(headers) }, auth, signal);
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new TransferFailure(hresultForHttpStatus(response.status), REMOTE_FILE, isTransientStatus(response.status));
  }
  const length = response.headers.get('content-length');
  progress.started(length === null ? undefined : Number(length));
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) {
    chunks.push(Buffer.from(chunk));
    progress.advance(chunk.length);
  }
  return Buffer.concat(chunks);
}

function invalidResponse(): TransferFailure {
  return new TransferFailure(BG_E_INVALID_SERVER_RESPONSE, REMOTE_FILE, false);
}
