import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BITS_UPLOAD_PROTOCOL } from '../loopback/upload.js';

/**
 * The server side of a BITS upload ([MC-BUP], as the BITS server extension of IIS answers it), for
 * /upload/<name>: Ping, Create-Session, Fragment, Close-Session and Cancel-Session packets, told apart
 * by BITS-Packet-Type (sent with POST: see test/loopback/upload.ts for why not BITS_POST). The reply of
 * an upload-reply job is offered in the Ack of the fragment that completes the file, as BITS-Reply-URL
 * (/upload-reply/<session>), and stays there until the session closes.
 */

interface Session {
  readonly name: string;
  readonly url: URL;
  readonly chunks: Buffer[];
  received: number;
  reply: Buffer | undefined;
}

const RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

export class UploadServer {
  readonly #sessions = new Map<string, Session>();
  readonly #received = new Map<string, Buffer>();

  constructor(private readonly content: (size: number) => Buffer) {}

  /** The file the last closed session of /upload/<name> received. */
  received(name: string): Buffer | undefined {
    return this.#received.get(name);
  }

  handle(req: IncomingMessage, res: ServerResponse, route: string, name: string, url: URL): void {
    if (route === 'upload-reply') {
      const reply = this.#sessions.get(decodeURIComponent(name))?.reply;
      res.writeHead(reply === undefined ? 404 : 200, reply === undefined ? {} : { 'content-length': reply.length });
      res.end(reply);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.#packet(req, res, name, url, Buffer.concat(chunks)));
  }

  #packet(req: IncomingMessage, res: ServerResponse, name: string, url: URL, body: Buffer): void {
    const ack = (headers: Record<string, string | number> = {}) => {
      res.writeHead(200, { 'bits-packet-type': 'Ack', 'content-length': 0, ...headers });
      res.end();
    };
    const refuse = (status: number, headers: Record<string, string | number> = {}) => {
      res.writeHead(status, { 'bits-packet-type': 'Ack', 'content-length': 0, ...headers });
      res.end();
    };
    const type = String(req.headers['bits-packet-type'] ?? '').toLowerCase();
    const sessionId = String(req.headers['bits-session-id'] ?? '');
    const session = this.#sessions.get(sessionId);
    switch (type) {
      case 'ping':
        return ack();
      case 'create-session': {
        const status = url.searchParams.get('status');
        if (status !== null) return refuse(Number(status));
        const offered = String(req.headers['bits-supported-protocols'] ?? '').toLowerCase().split(/\s+/);
        if (!offered.includes(BITS_UPLOAD_PROTOCOL)) return refuse(400);
        const id = `{${randomUUID()}}`;
        this.#sessions.set(id, { name, url, chunks: [], received: 0, reply: undefined });
        return ack({ 'bits-protocol': BITS_UPLOAD_PROTOCOL, 'bits-session-id': id, 'accept-encoding': 'Identity' });
      }
      case 'fragment': {
        if (session === undefined) return refuse(400);
        const range = String(req.headers['content-range'] ?? '');
        const match = RANGE.exec(range);
        const [start, end, total] = match === null ? (range === 'bytes */0' ? [0, -1, 0] : [NaN, NaN, NaN]) : match.slice(1).map(Number);
        if (!Number.isSafeInteger(start) || body.length !== end! - start! + 1) return refuse(400);
        // A fragment past what arrived leaves a gap: 416 says where to go on from.
        if (start! > session.received) return refuse(416, { 'bits-received-content-range': session.received });
        const fresh = body.subarray(session.received - start!);
        session.chunks.push(fresh);
        session.received += fresh.length;
        const complete = session.received === total;
        if (complete && session.reply === undefined) session.reply = this.#reply(session);
        return ack({
          'bits-received-content-range': session.received,
          ...(complete && session.reply !== undefined ? { 'bits-reply-url': `/upload-reply/${sessionId}` } : {}),
        });
      }
      case 'close-session':
        if (session === undefined) return refuse(400);
        this.#received.set(session.name, Buffer.concat(session.chunks));
        this.#sessions.delete(sessionId);
        return ack();
      case 'cancel-session':
        this.#sessions.delete(sessionId);
        return ack();
      default:
        return refuse(400);
    }
  }

  /** The server application's answer to a complete upload, per the route's `reply` parameter. */
  #reply(session: Session): Buffer | undefined {
    const mode = session.url.searchParams.get('reply') ?? 'echo';
    if (mode === 'none') return undefined;
    if (mode !== 'echo') return this.content(Number(mode));
    const file = Buffer.concat(session.chunks);
    return Buffer.from(`received ${file.length} bytes, sha256 ${createHash('sha256').update(file).digest('hex')}`);
  }
}
