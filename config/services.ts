// bootseq.yml's `services:` resolved: each URL checked at preflight (a scheme bootseq can wait on, a
// host, a port it can connect to) and who waits for it (the processes whose `after:` names it, else
// migrate). Never connects to anything (phases/service/ does); values are shown only redacted.

import type { ResolveContext } from './context.js';
import { normalizeUrl } from './secrets.js';
import { SERVICE_SCHEMES, type RawConfig, type ServiceConfig, type ServiceScheme } from './schema.js';

/** The port a scheme's clients use when the URL names none; tcp has no default. */
const DEFAULT_PORTS: Readonly<Record<ServiceScheme, number | undefined>> = {
  redis: 6379,
  rediss: 6379,
  amqp: 5672,
  amqps: 5671,
  tcp: undefined,
  http: 80,
  https: 443,
};

export interface ServiceAddress {
  readonly scheme: ServiceScheme;
  readonly host: string;
  readonly port: number;
}

/** Every service in the order written; problems go to `ctx` under `services.NAME.url`. */
export function resolveServices(ctx: ResolveContext, raw: RawConfig): ServiceConfig[] {
  return Object.entries(raw.services).map(([name, s]) => {
    // The user and password as people write them (secrets.ts splitUrl: to the last @, quotes, spaces
    // and a lone % allowed), encoded so the probe's URL parser reads the same ones.
    const url = normalizeUrl(s.url);
    const address = parseServiceUrl(url);
    if (typeof address === 'string')
      ctx.issue(`services.${name}.url`, `${address}, found ${JSON.stringify(ctx.redact(s.url))}`);
    const processes = Object.entries(raw.processes)
      .filter(([, p]) => (p.after ?? []).includes(name))
      .map(([process]) => process);
    // A refused URL still yields a whole ServiceConfig; the config is refused anyway.
    const { scheme, host, port } =
      typeof address === 'string' ? { scheme: 'tcp' as const, host: '', port: 0 } : address;
    return { name, url, scheme, host, port, waitMs: s.wait, processes };
  });
}

/**
 * What a service URL connects to, or what is wrong with it (the caller adds the redacted value).
 * WHATWG URL does the parsing, as the connection will; the checks before it give each refusal its
 * reason, since `new URL('localhost:6379')` parses as the scheme `localhost`.
 */
export function parseServiceUrl(text: string): ServiceAddress | string {
  const expected = `expected a URL such as redis://host:6379 (schemes: ${SERVICE_SCHEMES.join(', ')})`;
  const match = /^([a-z][a-z0-9+.-]*):(.*)$/is.exec(text);
  const scheme = match?.[1]?.toLowerCase();
  if (!match || scheme === undefined || !/^[a-z0-9+.-]+:\/\//i.test(text)) {
    // `redis:/x`, `redis:x`: a known scheme without `//` is a typo, not a host called "redis".
    if (scheme !== undefined && (SERVICE_SCHEMES as readonly string[]).includes(scheme))
      return `expected ${scheme}://HOST after the scheme`;
    return expected;
  }
  if (!(SERVICE_SCHEMES as readonly string[]).includes(scheme))
    return `has the scheme "${scheme}" (expected one of ${SERVICE_SCHEMES.join(', ')})`;
  const known = scheme as ServiceScheme;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return whyNotUrl(text.slice(scheme.length + 3), expected);
  }
  // Non-special schemes (redis, tcp, amqp) keep [brackets] around an IPv6 host.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return `has no host (${expected})`;
  const port = url.port === '' ? DEFAULT_PORTS[known] : Number(url.port);
  if (port === 0) return `has the port "0" (expected 1 to 65535)`;
  if (port === undefined) return `has no port (expected ${scheme}://HOST:PORT)`;
  return { scheme: known, host, port };
}

/** Why WHATWG URL refused what follows `scheme://`: a bad port or no host, else the general form. */
function whyNotUrl(rest: string, expected: string): string {
  // Diagnostics only: userinfo to the last @ (a password may hold one), then up to the path.
  const hostPort = rest.slice(rest.lastIndexOf('@') + 1).split(/[/?#]/)[0] ?? '';
  const portText = /:([^:\]]*)$/.exec(hostPort)?.[1];
  if (portText !== undefined && portText !== '' && !/^\d{1,5}$/.test(portText))
    return `has the port ${JSON.stringify(portText)} (expected 1 to 65535)`;
  if (portText !== undefined && Number(portText) > 65535)
    return `has the port ${JSON.stringify(portText)} (expected 1 to 65535)`;
  if (hostPort === '' || hostPort.startsWith(':')) return `has no host (${expected})`;
  return expected;
}
