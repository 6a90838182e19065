// Where the live snapshot is read from outside bootseq, read-only: the control socket (a unix socket,
// owner-only: mode 0600 in a folder of bootseq's user that no one else may write to, made 0700 when
// bootseq creates it; never another user's folder or socket; `bootseq status` asks it for /status) and, when
// health.listen is set, HTTP on that address (/livez, /readyz, /metrics). Both answer GET and HEAD
// only; nothing sent to them changes anything. A socket left by a bootseq that is gone is found
// (nothing accepts on it) and replaced, never trusted.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { escapeControl, UsageError } from '../../core/errors.js';
import type { BootEvent } from '../../core/events.js';
import type { Config, ListenAddress } from '../../config/schema.js';
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
  let socket: Awaited<ReturnType<typeof openSocket>>;
  try {
    socket = config.status.socket
      ? await openSocket(config.status.socket, handler(routes), options.emit)
      : undefined;
  } catch (error) {
    if (tcp) await closeServer(tcp);
    throw error;
  }
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
 * The control socket: its folder made (0700) or, when it exists, checked and left as it is; whatever
 * is at the path looked at first, then listened on (0600). A folder or a socket of another user is
 * refused (exit 2, nothing started): another user's socket would be waited for, and then answer in
 * bootseq's name. A dead bootseq's socket is replaced. A live one's is left to it (two containers on
 * one volume in a rolling deploy: the old one answers until it stops), and this bootseq takes the path
 * once it is free. Anything else at the path is left alone and status is unavailable. Closing removes
 * the socket only if it is still this one.
 */
async function openSocket(
  socketPath: string,
  listener: http.RequestListener,
  emit: (event: BootEvent) => void,
): Promise<{ close(): Promise<void> } | undefined> {
  const socket: ControlSocket = {
    path: socketPath,
    server: http.createServer(listener),
    note: (level, text) => emit({ event: 'note', level, text }),
    inode: undefined,
    retry: undefined,
    closed: false,
  };
  // Refusals (another user's folder or socket) stop the boot: they are bootseq.yml's to fix. A folder
  // that cannot be created (a volume not writable, full, read-only) is the volume's problem: a warning
  // here, and the lease names the real cause with its advice.
  try {
    prepareDir(socketPath);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    socketUnavailable(socket, error);
    return undefined;
  }
  try {
    if (!(await claimSocket(socket, true))) {
      socket.retry = setInterval(() => {
        claimSocket(socket, false).then(
          (done) => done && clearInterval(socket.retry),
          (error: unknown) => {
            clearInterval(socket.retry);
            socketUnavailable(socket, error);
          },
        );
      }, SOCKET_RETRY_MS).unref();
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    socketUnavailable(socket, error);
    return undefined;
  }
  socket.server.unref();
  return { close: () => closeSocket(socket) };
}

/** The control socket while it is claimed, waited for, or closed. */
interface ControlSocket {
  readonly path: string;
  readonly server: http.Server;
  readonly note: (level: 'info' | 'warn', text: string) => void;
  /** The socket this bootseq made, once it listens: closing removes only that one. */
  inode: number | undefined;
  /** While another bootseq answers on the path: the timer that looks again. */
  retry: NodeJS.Timeout | undefined;
  closed: boolean;
}

/** Listens when the path is free; true when done or given up, false to try again later. */
async function claimSocket(socket: ControlSocket, first: boolean): Promise<boolean> {
  const { path: socketPath, server, note } = socket;
  const previous = await inspect(socketPath);
  if (socket.closed) return true;
  if (previous === 'other') {
    note(
      'warn',
      `status.socket: ${escapeControl(socketPath)} exists and is not a socket: left alone; \`bootseq status\` is unavailable`,
    );
    return true;
  }
  if (typeof previous === 'object') throw foreignSocket(socketPath, previous.uid);
  if (previous === 'live') {
    if (first)
      note(
        'info',
        `another bootseq answers on ${escapeControl(socketPath)}: this one answers there once that one stops`,
      );
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
  socket.inode = fs.statSync(socketPath).ino;
  if (!first) note('info', `\`bootseq status\` is answered here now (${escapeControl(socketPath)})`);
  return true;
}

/** A warning that `bootseq status` will not be answered here, and why. */
function socketUnavailable(socket: ControlSocket, error: unknown): void {
  socket.note(
    'warn',
    error instanceof UsageError
      ? `${error.message.replace(/; nothing was started$/, '')}; \`bootseq status\` is unavailable`
      : `status.socket: cannot open ${escapeControl(socket.path)}: ${(error as Error).message}; \`bootseq status\` is unavailable`,
  );
}

async function closeSocket(socket: ControlSocket): Promise<void> {
  socket.closed = true;
  clearInterval(socket.retry);
  if (socket.inode === undefined) return;
  await closeServer(socket.server);
  try {
    // A newer bootseq may have taken the path over: its socket is not this one's to remove.
    if (fs.statSync(socket.path).ino === socket.inode) fs.rmSync(socket.path, { force: true });
  } catch {
    // already gone
  }
}

/** How often a bootseq waiting for another one's control socket looks whether it is free. */
const SOCKET_RETRY_MS = 2000;

/**
 * The socket's folder: created owner-only (0700) when it is missing, else it must be this user's and
 * writable by no one else, unless it is sticky (`/tmp`'s 1777: nobody else may remove or rename what
 * is in it). An existing folder's mode is never changed: it may be shared (a 1777 folder made 0700
 * would lock every other user out of it).
 */
function prepareDir(socketPath: string): void {
  const dir = path.dirname(socketPath);
  const refuse = (why: string) =>
    new UsageError(
      `status.socket: ${escapeControl(socketPath)}: ${why}; nothing was started`,
      `set status.socket to a path in a folder of bootseq's own that does not exist yet (bootseq creates it, mode 0700), e.g. /run/bootseq/bootseq.sock, or remove status.socket for the default (<report.dir>/control/bootseq.sock)`,
    );
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.mkdirSync(dir, { mode: 0o700 });
    // Made by this bootseq: owner-only whatever the umask said.
    fs.chmodSync(dir, 0o700);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new Error(`cannot create its folder ${escapeControl(dir)}: ${code ?? (error as Error).message}`);
  }
  const stat = fs.statSync(dir);
  const uid = ownUid();
  if (!stat.isDirectory()) throw refuse(`${escapeControl(dir)} is not a folder`);
  if (uid !== undefined && stat.uid !== uid)
    throw refuse(
      `its folder ${escapeControl(dir)} belongs to ${describeUser(stat.uid)}, not to the user bootseq runs as (${describeUser(uid)})`,
    );
  if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0)
    throw refuse(
      `its folder ${escapeControl(dir)} can be written by other users (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}, not sticky): they could replace the socket`,
    );
}

/** The refusal of a socket another user made at the path: never waited for, never replaced. */
function foreignSocket(socketPath: string, uid: number): UsageError {
  return new UsageError(
    `status.socket: ${escapeControl(socketPath)} is a socket of ${describeUser(uid)}, not of the user bootseq runs as (${describeUser(ownUid() ?? -1)}): bootseq neither waits for it nor replaces it; nothing was started`,
    "find out who made it (`ls -l` on it) and remove it, or set status.socket to a path in a folder of bootseq's own (bootseq creates it, mode 0700)",
  );
}

function ownUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** `uid 65534 (nobody)`: the name when /etc/passwd has one. */
export function describeUser(uid: number): string {
  try {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    const name = line?.split(':')[0];
    return name ? `uid ${uid} (${escapeControl(name)})` : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

/**
 * What is at the socket path: nothing, a socket something accepts on, a dead socket, another file, or
 * a socket of another user (never connected to: its owner could answer anything).
 */
async function inspect(socketPath: string): Promise<'absent' | 'live' | 'stale' | 'other' | { uid: number }> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return 'absent';
  }
  if (!stat.isSocket()) return 'other';
  const uid = ownUid();
  if (uid !== undefined && stat.uid !== uid) return { uid: stat.uid };
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
