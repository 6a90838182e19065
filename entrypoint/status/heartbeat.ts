// The dead-man heartbeat (issue 30, health.heartbeat): a GET to a healthchecks.io / Better Stack style
// URL every `every`, sent only while /readyz would answer 200 (the live snapshot's own verdict, never
// derived again here), so its silence means trouble whatever the cause: the host gone, Litestream
// stalled, a process hung. A call that fails is a warning, retried with backoff; it never stops or
// slows the app. The URL is a secret: it is printed only through config.redact. Reads the snapshot;
// changes nothing it looks at.

import type { BootEvent } from '../../core/events.js';
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

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { heartbeat, redact } = options;
  const shown = redact(heartbeat.url);
  const note = (level: 'info' | 'warn', text: string) =>
    options.emit({ event: 'note', level, text: redact(text) });
  const stopped = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let state: HeartbeatStatus['state'] = 'paused';
  /** Whether a pause was said (only one after the boot is ready; booting is not news). */
  let pauseNoted = false;
  let lastSuccessMs: number | undefined;
  let lastFailure: { atMs: number; reason: string } | undefined;
  let consecutive = 0;
  let failuresTotal = 0;
  let beatsTotal = 0;

  const schedule = (ms: number) => {
    if (stopped.signal.aborted) return;
    timer = setTimeout(() => void tick(), ms);
    timer.unref();
  };

  const tick = async (): Promise<void> => {
    const s = options.snapshot();
    if (s.health.status !== 'healthy') {
      if (state === 'beating' && s.boot.state === 'ready') {
        note(
          'warn',
          `heartbeat paused: not ready (${s.health.problems.join('; ')}); no calls to ${shown} until ready again, so the dead-man check alerts if this lasts`,
        );
        pauseNoted = true;
      }
      state = 'paused';
      schedule(PAUSED_LOOK_MS);
      return;
    }
    if (state === 'paused' && pauseNoted) note('info', `heartbeat resumed: ready again`);
    pauseNoted = false;
    state = 'beating';
    const problem = await call(heartbeat.url, Math.min(CALL_TIMEOUT_MS, heartbeat.everyMs), stopped.signal);
    if (stopped.signal.aborted) return;
    if (problem === undefined) {
      if (consecutive > 0)
        note(
          'info',
          `heartbeat reaches ${shown} again after ${consecutive} failed call${plural(consecutive)}`,
        );
      consecutive = 0;
      lastSuccessMs = Date.now();
      beatsTotal += 1;
      schedule(heartbeat.everyMs);
      return;
    }
    consecutive += 1;
    failuresTotal += 1;
    const reason = redact(problem);
    lastFailure = { atMs: Date.now(), reason };
    const retryMs = Math.min(heartbeat.everyMs, FIRST_RETRY_MS * 2 ** (consecutive - 1));
    // Said on the 1st, 2nd, 4th, 8th… failure in a row: an unreachable service does not flood the log.
    if ((consecutive & (consecutive - 1)) === 0)
      note(
        'warn',
        `heartbeat to ${shown} failed (${consecutive} in a row): ${reason}; retrying in ${retryMs < 1000 ? `${retryMs} ms` : `${Math.round(retryMs / 1000)} s`}; the app is not affected`,
      );
    schedule(retryMs);
  };

  schedule(0);
  return {
    view: () => ({
      url: shown,
      every_ms: heartbeat.everyMs,
      state,
      last_success: lastSuccessMs === undefined ? null : new Date(lastSuccessMs).toISOString(),
      last_failure: lastFailure
        ? { at: new Date(lastFailure.atMs).toISOString(), reason: lastFailure.reason }
        : null,
      consecutive_failures: consecutive,
      failures_total: failuresTotal,
      beats_total: beatsTotal,
    }),
    stop() {
      stopped.abort();
      clearTimeout(timer);
    },
  };
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
      resolve(`no answer within ${Math.round(timeoutMs / 1000)} s`);
    });
    request.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
