// One attempt at a service: a TCP connection that opens (tcp, amqp, amqps), a Redis PING answered
// PONG (redis, rediss; AUTH first when the URL has a password), or an HTTP GET answered 2xx. No
// client library: a minimal RESP exchange over node:net / node:tls is all a readiness check needs,
// and bootseq stays resident as the container's supervisor. Each attempt ends within its timeout
// or as soon as the run's signal aborts; it never throws.

import net from 'node:net';
import type { ServiceConfig } from '../../config/schema.js';
import { safeDecode } from '../../config/secrets.js';
import { waitFor, type WaitEnds } from '../../core/wait.js';

/** The answer that counts (`PONG`, `HTTP 200`, `connected`), or why there is none yet. */
export type ProbeResult =
  | { readonly ok: true; readonly answer: string }
  | { readonly ok: false; readonly problem: string };

/** The URL's credentials, percent-decoded (what AUTH sends); empty strings when it has none. */
export function credentialsOf(url: string): { user: string; password: string } {
  try {
    const u = new URL(url);
    return { user: safeDecode(u.username), password: safeDecode(u.password) };
  } catch {
    return { user: '', password: '' };
  }
}

export function describeCheck(service: ServiceConfig): string {
  if (service.scheme === 'redis' || service.scheme === 'rediss')
    return credentialsOf(service.url).password ? 'AUTH, then PING answered PONG' : 'PING answered PONG';
  if (service.scheme === 'http' || service.scheme === 'https') return 'GET answered 2xx';
  return 'a TCP connection opens';
}

export function probeOnce(
  service: ServiceConfig,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ProbeResult> {
  if (service.scheme === 'http' || service.scheme === 'https') return httpProbe(service, signal, timeoutMs);
  const redis = service.scheme === 'redis' || service.scheme === 'rediss';
  const secure = service.scheme === 'rediss';
  return socketProbe(service, signal, timeoutMs, secure, redis ? redisExchange(service.url) : undefined);
}

interface Exchange {
  /** What to send once connected. */
  readonly request: string;
  /** Given every byte received so far: the result, or undefined to read on. */
  readonly judge: (received: string) => ProbeResult | undefined;
}

/** `AUTH [user] password` when the URL has a password, then `PING`; replies come in order. */
function redisExchange(url: string): Exchange {
  const { user, password } = credentialsOf(url);
  const commands = password ? [user ? ['AUTH', user, password] : ['AUTH', password], ['PING']] : [['PING']];
  const request = commands
    .map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    .join('');
  return {
    request,
    judge(received) {
      const lines = received.split('\r\n');
      lines.pop(); // the incomplete rest
      for (const [i, line] of lines.entries()) {
        // -NOAUTH, -WRONGPASS, -LOADING (still loading its dataset): the server's own words.
        if (line.startsWith('-')) return { ok: false, problem: line.slice(1) };
        if (!line.startsWith('+'))
          return {
            ok: false,
            problem: `unexpected answer ${JSON.stringify(line.slice(0, 60))} (is it a Redis server?)`,
          };
        if (i === commands.length - 1)
          return line === '+PONG'
            ? { ok: true, answer: 'PONG' }
            : { ok: false, problem: `answered ${JSON.stringify(line.slice(0, 60))} to PING` };
      }
      return undefined;
    },
  };
}

async function socketProbe(
  service: ServiceConfig,
  signal: AbortSignal,
  timeoutMs: number,
  secure: boolean,
  exchange: Exchange | undefined,
): Promise<ProbeResult> {
  // node:tls costs ≈ 3 MB resident: loaded only for rediss/amqps, not by every boot that has no service.
  const tls = secure ? await import('node:tls') : undefined;
  // One bound for the whole attempt (connect, TLS, answer): a server that accepts and never answers
  // must not hold the wait past it.
  return waitFor<ProbeResult>(
    signal,
    (finish) => {
      const { host, port } = service;
      const socket = tls
        ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) })
        : net.connect({ host, port });
      let received = '';
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        if (!exchange) return finish({ ok: true, answer: 'connected' });
        socket.write(exchange.request);
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        const result = exchange?.judge(received);
        if (result) finish(result);
        else if (received.length > 64 * 1024)
          finish({ ok: false, problem: 'answered more than 64 KiB to PING' });
      });
      socket.once('end', () =>
        finish({
          ok: false,
          problem: exchange ? 'closed the connection before answering' : 'closed the connection',
        }),
      );
      socket.once('error', (error: NodeJS.ErrnoException) =>
        finish({ ok: false, problem: error.code ?? error.message }),
      );
      return () => socket.destroy();
    },
    attemptEnds(timeoutMs),
  );
}

/**
 * One GET; 2xx is an answer. node:http rather than fetch: fetch loads undici, several MB more in a
 * process that then stays resident as the container's supervisor.
 */
async function httpProbe(
  service: ServiceConfig,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<ProbeResult> {
  const client = service.scheme === 'https' ? await import('node:https') : await import('node:http');
  return waitFor<ProbeResult>(
    signal,
    (finish) => {
      const request = client.get(service.url, { headers: { connection: 'close' } }, (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        finish(
          status >= 200 && status < 300
            ? { ok: true, answer: `HTTP ${status}` }
            : { ok: false, problem: `HTTP ${status}` },
        );
      });
      request.once('error', (error: NodeJS.ErrnoException) =>
        finish({ ok: false, problem: error.code ?? error.message }),
      );
      return () => request.destroy();
    },
    attemptEnds(timeoutMs),
  );
}

/** How an attempt ends without an answer: past its bound, or interrupted by the run's signal. */
function attemptEnds(timeoutMs: number): WaitEnds<ProbeResult> {
  return {
    ms: timeoutMs,
    timeout: () => ({ ok: false, problem: `no answer within ${timeoutMs} ms` }),
    aborted: () => ({ ok: false, problem: 'interrupted' }),
  };
}
