// Where the live snapshot is read from outside bootseq, read-only: the control socket (a unix socket,
// owner-only: mode 0600 in a 0700 directory; `bootseq status` asks it for /status) and, when
// health.listen is set, HTTP on that address (/livez, /readyz, /metrics). Both answer GET and HEAD
// only; nothing sent to them changes anything. A socket left by a bootseq that is gone is found
// (nothing accepts on it) and replaced, never trusted.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import type { BootEvent } from '../core/events.js';
import type { Config, ListenAddress } from '../config/schema.js';
import type { StatusSnapshot } from './live.js';
import type { Metrics } from './metrics.js';

export interface StatusServers {
  /** `http://HOST:PORT` of the health endpoints (the port taken when health.listen asks for port 0). */
  readonly healthUrl: string | undefined;
  close(): Promise<void>;
}

interface ServeOptions {
  readonly config: Config;
  readonly snapshot: () => StatusSnapshot;
  readonly emit: (event: BootEvent) => void;
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;

export async function openStatusServers(options: ServeOptions): Promise<StatusServers> {
  const { config } = options;
  const health = config.health.listen;
  const routes = createRoutes(options.snapshot);
  const tcp = health ? await listenHealth(health, handler({ ...routes, '/status': undefined })) : undefined;
  const socket = config.status.socket
    ? await openSocket(config.status.socket, handler(routes), options.emit)
    : undefined;
  const healthUrl = tcp ? urlOf(tcp) : undefined;
  if (healthUrl)
    options.emit({
      event: 'note',
      level: 'info',
      text: `health on ${healthUrl}: /livez, /readyz, /metrics`,
    });
  return {
    healthUrl,
    async close() {
      await Promise.all([tcp && closeServer(tcp), socket?.close()]);
    },
  };
}

function createRoutes(snapshot: () => StatusSnapshot): Record<string, Route | undefined> {
  let metrics: Promise<Metrics> | undefined;
  return {
    '/livez': (_req, res) => {
      const s = snapshot();
      text(res, 200, `ok: bootseq pid ${s.bootseq.pid} is ${s.boot.state}\n`);
    },
    '/readyz': (_req, res) => {
      const s = snapshot();
      // Replication trouble that does not fail readiness is still said, under the 200.
      if (s.health.status === 'healthy')
        text(res, 200, `ok\n${s.health.warnings.map((w) => `warning: ${w}\n`).join('')}`);
      else text(res, 503, `${s.health.problems.join('\n')}\n`);
    },
    '/metrics': async (_req, res) => {
      metrics ??= import('./metrics.js').then((m) => m.createMetrics(snapshot));
      const m = await metrics;
      const body = await m.render();
      res.writeHead(200, { 'content-type': m.contentType });
      res.end(body);
    },
    '/status': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(snapshot())}\n`);
    },
  };
}

/** Read-only: GET and HEAD on a known path; anything else is refused without looking further. */
function handler(routes: Record<string, Route | undefined>): http.RequestListener {
  return (req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://bootseq').pathname];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      text(res, 405, 'read-only: GET or HEAD\n');
      return;
    }
    if (!route) {
      text(
        res,
        404,
        `not found (paths: ${Object.keys(routes)
          .filter((k) => routes[k])
          .join(', ')})\n`,
      );
      return;
    }
    Promise.resolve(route(req, res)).catch((error: unknown) => {
      if (!res.headersSent) text(res, 500, `${(error as Error).message}\n`);
      else res.destroy();
    });
  };
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

async function listenHealth(address: ListenAddress, listener: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(listener);
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why =
      code === 'EADDRINUSE'
        ? 'the address is already in use'
        : code === 'EADDRNOTAVAIL'
          ? 'no interface of this machine has that address'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : (error as Error).message;
    throw new UsageError(
      `health.listen: cannot listen on ${address.shown}: ${why}; nothing was started`,
      'choose a free address in bootseq.yml (health.listen), or remove health: to run without the endpoints',
    );
  }
  server.unref();
  return server;
}

function urlOf(server: http.Server): string {
  const a = server.address() as net.AddressInfo;
  // 0.0.0.0 and :: accept on every interface; a client on this machine reaches them on loopback.
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The control socket: its directory made (0700), whatever is at the path looked at first, then
 * listened on (0600). A dead bootseq's socket is replaced. A live one's is left to it (two containers
 * on one volume in a rolling deploy: the old one answers until it stops), and this bootseq takes the
 * path once it is free. Anything else at the path is left alone and status is unavailable. Closing
 * removes the socket only if it is still this one.
 */
async function openSocket(
  socketPath: string,
  listener: http.RequestListener,
  emit: (event: BootEvent) => void,
): Promise<{ close(): Promise<void> } | undefined> {
  const note = (level: 'info' | 'warn', text: string) => emit({ event: 'note', level, text });
  const server = http.createServer(listener);
  let inode: number | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  /** Listens when the path is free; true when done or given up, false to try again later. */
  const claim = async (first: boolean): Promise<boolean> => {
    const previous = await inspect(socketPath);
    if (closed) return true;
    if (previous === 'other') {
      note(
        'warn',
        `status.socket: ${socketPath} exists and is not a socket: left alone; \`bootseq status\` is unavailable`,
      );
      return true;
    }
    if (previous === 'live') {
      if (first)
        note('info', `another bootseq answers on ${socketPath}: this one answers there once that one stops`);
      return false;
    }
    if (previous === 'stale') fs.rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(socketPath, 0o600);
    inode = fs.statSync(socketPath).ino;
    if (!first) note('info', `\`bootseq status\` is answered here now (${socketPath})`);
    return true;
  };
  const fail = (error: unknown) =>
    note(
      'warn',
      `status.socket: cannot open ${socketPath}: ${(error as Error).message}; \`bootseq status\` is unavailable`,
    );
  try {
    prepareDir(path.dirname(socketPath));
    if (!(await claim(true))) {
      retry = setInterval(() => {
        claim(false).then(
          (done) => done && clearInterval(retry),
          (error: unknown) => {
            clearInterval(retry);
            fail(error);
          },
        );
      }, SOCKET_RETRY_MS).unref();
    }
  } catch (error) {
    fail(error);
    return undefined;
  }
  server.unref();
  return {
    async close() {
      closed = true;
      clearInterval(retry);
      if (inode === undefined) return;
      await closeServer(server);
      try {
        // A newer bootseq may have taken the path over: its socket is not this one's to remove.
        if (fs.statSync(socketPath).ino === inode) fs.rmSync(socketPath, { force: true });
      } catch {
        // already gone
      }
    },
  };
}

/** How often a bootseq waiting for another one's control socket looks whether it is free. */
const SOCKET_RETRY_MS = 2000;

/** The socket's directory: created owner-only, or made so when it is this user's; never someone else's. */
function prepareDir(dir: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(dir);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid())
    throw new Error(`${dir} belongs to another user (uid ${stat.uid})`);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** What is at the socket path: nothing, a socket something accepts on, a dead socket, or another file. */
async function inspect(socketPath: string): Promise<'absent' | 'live' | 'stale' | 'other'> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return 'absent';
  }
  if (!stat.isSocket()) return 'other';
  return (await connects(socketPath)) ? 'live' : 'stale';
}

export function connects(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    const done = (ok: boolean) => {
      probe.destroy();
      resolve(ok);
    };
    probe.setTimeout(timeoutMs, () => done(false));
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}
