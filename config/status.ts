// bootseq.yml's `status:` and `health:` resolved: where the control socket lives (a unix socket path
// has at most 107 bytes) and where the HTTP health endpoints listen. Only checks; never opens either
// (entrypoint/status/ does).

import path from 'node:path';
import type { ResolveContext } from './context.js';
import type { Config, ListenAddress, RawConfig } from './schema.js';

/** sun_path is 108 bytes on Linux, one of them the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/** The control socket's default place: a 0700 directory of its own under report.dir. */
export function defaultSocketPath(reportDir: string): string {
  return path.join(reportDir, 'control', 'bootseq.sock');
}

export function resolveStatus(ctx: ResolveContext, raw: RawConfig, reportDir: string): Config['status'] {
  const given = raw.status.socket;
  const socket = given === undefined ? defaultSocketPath(reportDir) : path.resolve(ctx.dir, given);
  const bytes = Buffer.byteLength(socket);
  if (bytes <= MAX_SOCKET_PATH) return { socket };
  const why = `${socket} is ${bytes} bytes; a unix socket path has at most ${MAX_SOCKET_PATH}`;
  if (given !== undefined) {
    ctx.issue('status.socket', `${why} (expected a shorter path, e.g. /run/bootseq/bootseq.sock)`);
  } else {
    ctx.warnings.push(
      `status.socket: the default, ${why}: \`bootseq status\` is unavailable; set status.socket to a shorter path`,
    );
  }
  return { socket: undefined };
}

export function resolveHealth(ctx: ResolveContext, raw: RawConfig): Config['health'] {
  const { listen, max_lag: maxLagMs, ready_requires_replication: readyRequiresReplication } = raw.health;
  const beat = raw.health.heartbeat;
  const heartbeat = beat && { url: beat.url, everyMs: beat.every };
  if (listen === undefined) return { listen: undefined, maxLagMs, readyRequiresReplication, heartbeat };
  const address = parseListen(listen);
  if (typeof address === 'string') {
    ctx.issue('health.listen', `"${listen}" ${address}`);
    return { listen: undefined, maxLagMs, readyRequiresReplication, heartbeat };
  }
  return { listen: address, maxLagMs, readyRequiresReplication, heartbeat };
}

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every interface); what is wrong otherwise. */
export function parseListen(text: string): ListenAddress | string {
  const expected =
    'is not an address to listen on (expected HOST:PORT such as 127.0.0.1:9090 or 0.0.0.0:9090)';
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d+)$/.exec(text);
  if (!match) return expected;
  const port = Number(match[3]);
  if (port > 65535) return `has port ${port} (expected 0 to 65535; 0 takes any free port)`;
  const host = match[1] ?? (match[2] || '0.0.0.0');
  return { host, port, shown: text };
}
