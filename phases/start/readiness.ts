// Readiness checks for a started process: a `log` regex on its output, a `tcp` port that accepts,
// an `http` URL that answers 2xx, a `file` written after the process started, or a fixed `delay`.
// Each check polls until it passes or the signal aborts; the caller owns the timeout.

import { setTimeout as wait } from 'node:timers/promises';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Child } from '../../core/task.js';
import { waitFor, withDeadline } from '../../core/wait.js';

interface ReadySpec {
  readonly log?: string | undefined;
  readonly tcp?: number | string | undefined;
  readonly http?: string | undefined;
  readonly file?: string | undefined;
  readonly delay?: number | undefined;
}

export function describeReady(ready: ReadySpec | undefined): string {
  if (!ready) return 'started (no ready check)';
  if (ready.log !== undefined) return `log /${ready.log}/`;
  if (ready.tcp !== undefined) return `tcp ${ready.tcp}`;
  if (ready.http !== undefined) return `http ${ready.http}`;
  if (ready.file !== undefined) return `file ${ready.file}`;
  return `delay ${ready.delay ?? 0} ms`;
}

/** Where a process answered its tcp or http check (`http://127.0.0.1:3000`, `127.0.0.1:5432`), else undefined. */
export function readyAddress(ready: ReadySpec | undefined): string | undefined {
  if (ready?.http !== undefined) return new URL(ready.http).origin;
  if (ready?.tcp === undefined) return undefined;
  const [host, port] = typeof ready.tcp === 'number' ? ['127.0.0.1', ready.tcp] : splitHostPort(ready.tcp);
  return `${host}:${port}`;
}

/** Resolves when the check passes; `lastProblem` says why it has not yet. Rejects only on abort. */
export async function waitReady(
  child: Child,
  ready: ReadySpec,
  options: { signal: AbortSignal; dir: string; startedAtMs: number; lastProblem: { text: string } },
): Promise<void> {
  const { signal, lastProblem } = options;
  if (ready.log !== undefined) {
    const pattern = new RegExp(ready.log);
    lastProblem.text = 'no matching output line yet';
    await waitFor<void>(signal, (settle) =>
      child.onLine((line) => {
        if (pattern.test(line)) settle();
      }),
    );
    return;
  }
  if (ready.delay !== undefined) {
    await wait(ready.delay, undefined, { signal }).catch(() => undefined);
    signal.throwIfAborted();
    return;
  }
  for (;;) {
    signal.throwIfAborted();
    const problem = await checkOnce(ready, options.dir, options.startedAtMs, signal);
    if (problem === undefined) return;
    // An attempt cut short by the deadline says nothing about the process: the last one that ended
    // does (a loaded machine once turned "HTTP 500" into "ABORT_ERR" here).
    if (signal.aborted && lastProblem.text !== '') break;
    lastProblem.text = problem;
    await wait(100, undefined, { signal }).catch(() => undefined);
  }
  signal.throwIfAborted();
}

async function checkOnce(
  ready: ReadySpec,
  dir: string,
  startedAtMs: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (ready.tcp !== undefined) {
    const [host, port] = typeof ready.tcp === 'number' ? ['127.0.0.1', ready.tcp] : splitHostPort(ready.tcp);
    return tcpProblem(host, port);
  }
  if (ready.http !== undefined) return httpProblem(ready.http, signal);
  if (ready.file !== undefined) {
    try {
      // A file left over from an earlier run does not count.
      const stat = fs.statSync(path.resolve(dir, ready.file));
      return stat.mtimeMs >= startedAtMs - 1000 ? undefined : 'the file is older than the process';
    } catch {
      return 'the file does not exist yet';
    }
  }
  return undefined;
}

/**
 * One GET; undefined when it answers 2xx. node:http rather than fetch: fetch loads undici, several MB
 * more in a process that then stays resident as the container's supervisor.
 */
export async function httpProblem(
  url: string,
  signal: AbortSignal,
  timeoutMs = 2000,
): Promise<string | undefined> {
  const client = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  const deadline = withDeadline(signal, timeoutMs);
  return new Promise<string | undefined>((resolve) => {
    const request = client.get(
      url,
      { signal: deadline.signal, headers: { connection: 'close' } },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? undefined : `HTTP ${status}`);
      },
    );
    request.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  }).finally(() => deadline.dispose());
}

export function splitHostPort(text: string): [string, number] {
  const index = text.lastIndexOf(':');
  if (index < 0) return ['127.0.0.1', Number(text)];
  return [text.slice(0, index) || '127.0.0.1', Number(text.slice(index + 1))];
}

export function tcpProblem(host: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done('connect timed out'));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}
