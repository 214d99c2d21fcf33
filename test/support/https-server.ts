import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { content } from './http-server.js';
import { TLS_CERTIFICATE, TLS_KEY } from './tls-fixture.js';

/**
 * An HTTPS server on 127.0.0.1 with the self-signed certificate of tls-fixture.ts: `/files/<name>?size=N`
 * serves N bytes of {@link content}, for the loopback's transfers over TLS (server certificate
 * validation, security flags).
 */
export interface TlsTestServer {
  url(path: string): string;
  /** Requests that got past the TLS handshake, by path without the query. */
  requests(path: string): number;
  close(): Promise<void>;
}

export async function startTlsServer(): Promise<TlsTestServer> {
  const counts = new Map<string, number>();
  const server: Server = createServer({ key: TLS_KEY, cert: TLS_CERTIFICATE }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
    const size = Number(url.searchParams.get('size') ?? 1024);
    res.writeHead(200, { 'content-length': size });
    res.end(content(size));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `https://127.0.0.1:${port}${path}`,
    requests: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
