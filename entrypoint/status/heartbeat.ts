// The dead-man heartbeat (issue 30, health.heartbeat): a GET to a healthchecks.io / Better Stack style
// URL every `every`, sent only while /readyz would answer 200 (the live snapshot's own verdict, never
// derived again here), so its silence means trouble whatever the cause: the host gone, Litestream
// stalled, a process hung. A call that fails is a warning, retried with backoff; it never stops or
// slows the app. The URL is a secret: it is printed only through config.redact. Reads the snapshot;
// changes nothing it looks at.

import type { BootEvent } from '../../core/events.js';
import { elapsed } from '../../core/format.js';
import type { HeartbeatConfig } from '../../config/schema.js';
import type { HeartbeatStatus } from './checks.js';
import type { StatusSnapshot } from './live.js';

/** How often the verdict is looked at while the heartbeat is paused (booting, or not ready). */
const PAUSED_LOOK_MS = 1000;
/** The first retry after a failed call; doubled each time, at most `every`. */
const FIRST_RETRY_MS = 5000;
/** A call without an answer by then failed (at most `every`). */
const CALL_TIMEOUT_MS = 10_000;

export interface HeartbeatOptions {
  readonly heartbeat: HeartbeatConfig;
  readonly redact: (text: string) => string;
  readonly snapshot: () => StatusSnapshot;
  readonly emit: (event: BootEvent) => void;
}

export interface Heartbeat {
  readonly view: () => HeartbeatStatus;
  /** No call after this; one in flight is aborted. */
  stop(): void;
}

/** The heartbeat's state: the next timer, whether it beats now, and what the calls found. */
interface Beat extends HeartbeatOptions {
  /** The URL as printed: `https://hc-ping.com/***`. */
  readonly shown: string;
  readonly stopped: AbortController;
  timer: NodeJS.Timeout | undefined;
  state: HeartbeatStatus['state'];
  /** Whether a pause was said (only one after the boot is ready; booting is not news). */
  pauseNoted: boolean;
  lastSuccessMs: number | undefined;
  lastFailure: { atMs: number; reason: string } | undefined;
  consecutive: number;
  failuresTotal: number;
  beatsTotal: number;
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const b: Beat = {
    ...options,
    shown: options.redact(options.heartbeat.url),
    stopped: new AbortController(),
    timer: undefined,
    state: 'paused',
    pauseNoted: false,
    lastSuccessMs: undefined,
    lastFailure: undefined,
    consecutive: 0,
    failuresTotal: 0,
    beatsTotal: 0,
  };
  schedule(b, 0);
  return {
    view: () => ({
      url: b.shown,
      every_ms: b.heartbeat.everyMs,
      state: b.state,
      last_success: b.lastSuccessMs === undefined ? null : new Date(b.lastSuccessMs).toISOString(),
      last_failure: b.lastFailure
        ? { at: new Date(b.lastFailure.atMs).toISOString(), reason: b.lastFailure.reason }
        : null,
      consecutive_failures: b.consecutive,
      failures_total: b.failuresTotal,
      beats_total: b.beatsTotal,
    }),
    stop() {
      b.stopped.abort();
      clearTimeout(b.timer);
    },
  };
}

function note(b: Beat, level: 'info' | 'warn', text: string): void {
  b.emit({ event: 'note', level, text: b.redact(text) });
}

function schedule(b: Beat, ms: number): void {
  if (b.stopped.signal.aborted) return;
  b.timer = setTimeout(() => void tick(b), ms);
  b.timer.unref();
}

/** Beats when the snapshot says healthy, else waits paused (said once after ready). */
async function tick(b: Beat): Promise<void> {
  const s = b.snapshot();
  if (s.health.status !== 'healthy') {
    if (b.state === 'beating' && s.boot.state === 'ready') {
      note(
        b,
        'warn',
        `heartbeat paused: not ready (${s.health.problems.join('; ')}); no calls to ${b.shown} until ready again, so the dead-man check alerts if this lasts`,
      );
      b.pauseNoted = true;
    }
    b.state = 'paused';
    schedule(b, PAUSED_LOOK_MS);
    return;
  }
  if (b.state === 'paused' && b.pauseNoted) note(b, 'info', `heartbeat resumed: ready again`);
  b.pauseNoted = false;
  b.state = 'beating';
  const problem = await call(
    b.heartbeat.url,
    Math.min(CALL_TIMEOUT_MS, b.heartbeat.everyMs),
    b.stopped.signal,
  );
  if (b.stopped.signal.aborted) return;
  if (problem === undefined) beaten(b);
  else failed(b, problem);
}

function beaten(b: Beat): void {
  if (b.consecutive > 0)
    note(
      b,
      'info',
      `heartbeat reaches ${b.shown} again after ${b.consecutive} failed call${plural(b.consecutive)}`,
    );
  b.consecutive = 0;
  b.lastSuccessMs = Date.now();
  b.beatsTotal += 1;
  schedule(b, b.heartbeat.everyMs);
}

/** A failed call: retried after 5 s, doubling up to `every`; said on the 1st, 2nd, 4th, 8th… in a row. */
function failed(b: Beat, problem: string): void {
  b.consecutive += 1;
  b.failuresTotal += 1;
  const reason = b.redact(problem);
  b.lastFailure = { atMs: Date.now(), reason };
  const retryMs = Math.min(b.heartbeat.everyMs, FIRST_RETRY_MS * 2 ** (b.consecutive - 1));
  if ((b.consecutive & (b.consecutive - 1)) === 0)
    note(
      b,
      'warn',
      `heartbeat to ${b.shown} failed (${b.consecutive} in a row): ${reason}; retrying in ${elapsed(retryMs)}; the app is not affected`,
    );
  schedule(b, retryMs);
}

/**
 * One GET; undefined when it answers 2xx, else why not. node:http rather than fetch (undici would
 * stay resident in the container's supervisor for one call a minute).
 */
async function call(url: string, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
  const client = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise<string | undefined>((resolve) => {
    const request = client.get(
      url,
      { signal, timeout: timeoutMs, headers: { 'user-agent': 'bootseq heartbeat', connection: 'close' } },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? undefined : `HTTP ${status}`);
      },
    );
    request.once('timeout', () => {
      request.destroy();
      resolve(`no answer within ${elapsed(timeoutMs)}`);
    });
    request.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
