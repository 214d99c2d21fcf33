import { Agent, EnvHttpProxyAgent, ProxyAgent, interceptors, type Dispatcher } from 'undici';
import type { ProxyUsage } from '../com/enums.js';

export interface ProxySettings {
  readonly usage: ProxyUsage;
  /** 'http://host:port' or 'host:port'; several, separated by spaces or semicolons: the first is used. */
  readonly list: string;
  /** Hosts that go direct, separated by semicolons or spaces; `*` wildcards; '<local>' = hosts without a dot. */
  readonly bypass: string;
}

/** How one request reaches its server. */
type Route =
  | { readonly kind: 'direct' }
  | { readonly kind: 'proxy'; readonly uri: string }
  | { readonly kind: 'environment'; readonly httpProxy: string; readonly httpsProxy: string; readonly noProxy: string };

const MAX_REDIRECTIONS = 10;

/**
 * No TCP keep-alive probes: the transfer's own idle timeout already finds a dead peer, and under
 * Wine 8 (Windows Node) undici's keep-alive setup makes every connect fail with UNKNOWN.
 */
const SOCKET_OPTIONS = { keepAlive: false } as const;

interface CachedDispatcher {
  /** What requests go through: the transport, with redirects followed. */
  readonly dispatcher: Dispatcher;
  /** The transport itself, which owns the sockets and is what closing must reach. */
  readonly transport: Dispatcher;
}

const dispatchers = new Map<string, CachedDispatcher>();

function splitList(value: string): string[] {
  return value.split(/[;,\s]+/).filter((entry) => entry !== '');
}

/** The proxy to use for `target` from a WinHTTP-style list; `http=host:port` entries apply to their scheme only. */
function firstProxy(list: string, target: URL): string | undefined {
  const entries = splitList(list);
  const scheme = target.protocol.slice(0, -1);
  const forScheme = entries.find((entry) => entry.toLowerCase().startsWith(`${scheme}=`));
  const chosen = forScheme?.slice(scheme.length + 1) ?? entries.find((entry) => !entry.includes('='));
  if (chosen === undefined) return undefined;
  return chosen.includes('://') ? chosen : `http://${chosen}`;
}

function wildcardMatches(pattern: string, value: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i').test(value);
}

function bypassed(bypass: string, target: URL): boolean {
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  return splitList(bypass).some((entry) =>
    entry.toLowerCase() === '<local>' ? !hostname.includes('.') && !hostname.includes(':') : wildcardMatches(entry, hostname) || wildcardMatches(entry, target.host),
  );
}

/** The environment variables that set the proxy, each setting's lowercase name first. */
export const PROXY_VARIABLES = { http: ['http_proxy', 'HTTP_PROXY'], https: ['https_proxy', 'HTTPS_PROXY'], noProxy: ['no_proxy', 'NO_PROXY'] } as const;

export type ProxySetting = keyof typeof PROXY_VARIABLES;

/** Which variable sets each proxy setting, and to what, as curl and undici read them: lowercase first, empty is unset. */
export function environmentProxies(env: Readonly<Record<string, string | undefined>> = process.env): Record<ProxySetting, { variable: string; value: string } | undefined> {
  const pick = (setting: ProxySetting) => {
    const variable = PROXY_VARIABLES[setting].find((name) => env[name] !== undefined);
    const value = variable === undefined ? undefined : env[variable];
    return variable === undefined || value === undefined || value === '' ? undefined : { variable, value };
  };
  return { http: pick('http'), https: pick('https'), noProxy: pick('noProxy') };
}

function environmentRoute(): Route {
  const { http, https, noProxy } = environmentProxies();
  if (http === undefined && https === undefined) return { kind: 'direct' };
  return { kind: 'environment', httpProxy: http?.value ?? '', httpsProxy: https?.value ?? '', noProxy: noProxy?.value ?? '' };
}

/**
 * 'preconfig' and 'autodetect' both mean "what this machine is set up with": on Windows the IE/WinHTTP
 * settings and WPAD, here the HTTP_PROXY family of environment variables, read at each request.
 */
function routeFor(target: URL, proxy: ProxySettings): Route {
  switch (proxy.usage) {
    case 'noProxy':
      return { kind: 'direct' };
    case 'override': {
      const uri = firstProxy(proxy.list, target);
      return uri === undefined || bypassed(proxy.bypass, target) ? { kind: 'direct' } : { kind: 'proxy', uri };
    }
    case 'preconfig':
    case 'autodetect':
      return environmentRoute();
  }
}

function routeKey(route: Route): string {
  switch (route.kind) {
    case 'direct':
      return 'direct';
    case 'proxy':
      return `proxy ${route.uri}`;
    case 'environment':
      return `environment ${route.httpProxy} ${route.httpsProxy} ${route.noProxy}`;
  }
}

/**
 * proxyTunnel: false sends plain-HTTP requests to an HTTP proxy as absolute-URI requests, as
 * WinHTTP does; https still goes through a CONNECT tunnel.
 */
function createTransport(route: Route): Dispatcher {
  switch (route.kind) {
    case 'direct':
      return new Agent({ connect: SOCKET_OPTIONS });
    case 'proxy':
      return new ProxyAgent({ uri: route.uri, proxyTunnel: false, connect: SOCKET_OPTIONS });
    case 'environment':
      return new EnvHttpProxyAgent({ httpProxy: route.httpProxy, httpsProxy: route.httpsProxy, noProxy: route.noProxy, proxyTunnel: false, connect: SOCKET_OPTIONS });
  }
}

export interface ProxiedDispatcher {
  readonly dispatcher: Dispatcher;
  /** A proxy may stand between us and the server (decides who is blamed for a failed connection). */
  readonly viaProxy: boolean;
}

/** The shared dispatcher for a request to `target` under these settings (one per distinct route). */
export function dispatcherFor(target: URL, proxy: ProxySettings): ProxiedDispatcher {
  const route = routeFor(target, proxy);
  const key = routeKey(route);
  let cached = dispatchers.get(key);
  if (cached === undefined) {
    const transport = createTransport(route);
    cached = { transport, dispatcher: transport.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS })) };
    dispatchers.set(key, cached);
  }
  return { dispatcher: cached.dispatcher, viaProxy: route.kind !== 'direct' };
}

/** Closes every pooled connection (for tests and shutdown, once no transfer runs); later transfers open new ones. */
export async function closeTransferDispatchers(): Promise<void> {
  const closing = [...dispatchers.values()].map(({ transport }) => transport.close());
  dispatchers.clear();
  await Promise.all(closing);
}
