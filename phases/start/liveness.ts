// Liveness checks (issue 30): a process that hangs without exiting (a deadlocked web, a worker stuck on
// a lock, a SIGSTOPped one) is found and stopped. Once the process is ready its `liveness:` check (http,
// tcp or exec) runs every `every`, one at a time, each given `timeout` (a check that hangs fails then).
// `failures` failed checks in a row stop the process (SIGTERM to its group, SIGCONT if frozen, SIGKILL
// after shutdown.grace: core/spawn.ts) and the supervisor restarts it by its restart policy, within its
// limits; a restarted process is checked again once it passes its ready check. A process without
// `restart: on-failure` ends supervision instead (exit 1), as its exit would: the other processes and
// Litestream stop in order. Never restarts anything itself: the supervisor's restart policy does.

import { TaskFailedError, excerpt } from '../../core/errors.js';
import { describeExit } from '../../core/exit.js';
import { configDuration } from '../../core/format.js';
import type { Config, LivenessConfig, ProcessConfig } from '../../config/schema.js';
import type { Child, LivenessView, TaskContext } from '../../core/task.js';
import { withDeadline } from '../../core/wait.js';
import { httpProblem, splitHostPort, tcpProblem, waitReady } from './readiness.js';

/** Every watched process of one run, read together by status and health. */
interface Registry {
  readonly views: Map<string, () => LivenessView>;
  readonly read: () => LivenessView[];
}

// One registry per run, found by the run's config (every task of a run gets the same object).
const registries = new WeakMap<Config, Registry>();

function registryOf(config: Config): Registry {
  let registry = registries.get(config);
  if (!registry) {
    const views = new Map<string, () => LivenessView>();
    registry = { views, read: () => [...views.values()].map((v) => v()) };
    registries.set(config, registry);
  }
  return registry;
}

/** `http http://127.0.0.1:3000/up every 10s (timeout 5s, 3 failures)`, for plan, notes and status. */
export function describeLiveness(l: LivenessConfig, redact: (text: string) => string = (t) => t): string {
  const what =
    l.http !== undefined ? `http ${l.http}` : l.tcp !== undefined ? `tcp ${l.tcp}` : `exec \`${l.exec}\``;
  return `${redact(what)} every ${configDuration(l.everyMs)} (timeout ${configDuration(l.timeoutMs)}, ${l.failures} failure${l.failures === 1 ? '' : 's'})`;
}

export interface LivenessWatch {
  /** A restarted child, followed from now on (its ready check first); returns it. */
  follow(child: Child): Child;
  /** For the restart policy: why bootseq stopped this child, if it did. */
  readonly stoppedBecause: (child: Child) => string | undefined;
  /** Starts checking the first child (kept, so already ready) until shutdown. */
  start(child: Child): void;
}

/** One watched process: what it checks, the child it follows now, and its counts. */
interface Watch {
  readonly ctx: TaskContext;
  readonly p: ProcessConfig & { readonly liveness: LivenessConfig };
  /** The process has a restart policy; without one, a dead process ends supervision. */
  readonly restarts: boolean;
  /** `http … every 10s (timeout 5s, 3 failures)` and `http …`, redacted. */
  readonly check: string;
  readonly probe: string;
  current: Child | undefined;
  state: LivenessView['state'];
  consecutive: number;
  failuresTotal: number;
  restartsTotal: number;
  lastFailure: LivenessView['lastFailure'];
  lastOkMs: number | undefined;
  /** Why bootseq stopped each child it stopped (the restart policy asks). */
  readonly stopped: WeakMap<Child, string>;
  /** A restarted child's ready check, started as soon as it is (a `log` line may come at once). */
  readonly readyWaits: WeakMap<Child, Promise<void>>;
  /** Aborted when supervision ends: ready waits and checks stop. */
  readonly ended: AbortController;
  /** Woken when the supervisor starts a new child. */
  readonly waiters: Set<() => void>;
}

/** `restarts`: the process has a restart policy; without one, a dead process ends supervision. */
export function watchLiveness(
  ctx: TaskContext,
  p: ProcessConfig & { readonly liveness: LivenessConfig },
  restarts: boolean,
): LivenessWatch {
  const { redact } = ctx.config;
  const w: Watch = {
    ctx,
    p,
    restarts,
    check: describeLiveness(p.liveness, redact),
    probe: describeProbe(p.liveness, redact),
    current: undefined,
    state: 'probing',
    consecutive: 0,
    failuresTotal: 0,
    restartsTotal: 0,
    lastFailure: undefined,
    lastOkMs: undefined,
    stopped: new WeakMap(),
    readyWaits: new WeakMap(),
    ended: new AbortController(),
    waiters: new Set(),
  };
  const registry = registryOf(ctx.config);
  registry.views.set(p.name, () => viewOf(w));
  ctx.expose({ liveness: registry.read });
  return {
    follow(child) {
      w.current = child;
      w.readyWaits.set(child, waitUntilReady(w, child));
      for (const wake of [...w.waiters]) wake();
      return child;
    },
    stoppedBecause: (child) => w.stopped.get(child),
    start(child) {
      w.current = child;
      ctx.background((signal) => checkUntilShutdown(w, signal));
    },
  };
}

function viewOf(w: Watch): LivenessView {
  return {
    process: w.p.name,
    check: w.check,
    state: w.state,
    consecutiveFailures: w.consecutive,
    failuresTotal: w.failuresTotal,
    restartsTotal: w.restartsTotal,
    lastFailure: w.lastFailure,
    lastOkMs: w.lastOkMs,
  };
}

/** The background job: each child the supervisor starts is checked until it is dead, gone or replaced. */
async function checkUntilShutdown(w: Watch, signal: AbortSignal): Promise<void> {
  signal.addEventListener('abort', () => w.ended.abort(), { once: true });
  for (;;) {
    const child = w.current!;
    const readyWait = w.readyWaits.get(child);
    if (readyWait) {
      w.state = 'waiting-ready';
      await readyWait;
      w.state = 'probing';
    }
    w.consecutive = 0;
    const dead = await checkUntilDead(w, child, signal);
    if (signal.aborted) return;
    if (dead !== undefined) await stopDead(w, child, dead);
    await nextChild(w, child, signal);
    if (signal.aborted) return;
  }
}

/**
 * A dead process: stopped so that its restart policy brings it back, or, without one, supervision ends
 * with the reason (the shutdown stops it with the rest, in order).
 */
async function stopDead(w: Watch, child: Child, dead: string): Promise<void> {
  const { ctx, p } = w;
  const graceMs = ctx.config.shutdown.graceMs;
  const display = ctx.config.redact(p.command);
  if (!w.restarts)
    throw new TaskFailedError(
      ctx.taskId,
      `${dead}; it has no restart policy, so it, the other processes and litestream were stopped in order`,
      {
        command: display,
        outputTail: child.outputTail(),
        hint: `add \`restart: on-failure\` to processes.${p.name} to have it restarted instead, or run \`${display}\` by hand to see why it stops answering`,
      },
    );
  w.restartsTotal += 1;
  w.stopped.set(child, dead);
  ctx.note(
    'error',
    `${dead}: stopping it (SIGTERM to its process group, SIGKILL after ${configDuration(graceMs)}) so that it is restarted`,
  );
  await child.stop(graceMs);
}

/** A restarted child's ready check, bounded by its timeout; checks begin after it either way. */
async function waitUntilReady(w: Watch, child: Child): Promise<void> {
  const { ctx, p } = w;
  const ready = p.ready;
  if (!ready) return;
  const lastProblem = { text: '' };
  const deadline = withDeadline(w.ended.signal, ready.timeout);
  const startedAtMs = Date.now();
  const outcome = await Promise.race([
    waitReady(child, ready, { signal: deadline.signal, dir: ctx.config.dir, startedAtMs, lastProblem }).then(
      () => 'ready' as const,
      () => 'not ready' as const,
    ),
    child.exited.then(() => 'exited' as const),
  ]);
  deadline.dispose();
  if (outcome === 'not ready' && !w.ended.signal.aborted)
    ctx.note(
      'warn',
      `${p.name} was not ready within ${configDuration(ready.timeout)} after its restart${lastProblem.text ? ` (last check: ${lastProblem.text})` : ''}; its liveness checks begin anyway`,
    );
}

/** Resolves once the supervisor has started a child other than `child`, or supervision ended. */
function nextChild(w: Watch, child: Child, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (w.current !== child || signal.aborted) return resolve();
    const done = () => {
      w.waiters.delete(done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    w.waiters.add(done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Checks `child` until `failures` in a row (the reason), or until it is gone or replaced (undefined). */
async function checkUntilDead(w: Watch, child: Child, signal: AbortSignal): Promise<string | undefined> {
  const { ctx, p } = w;
  const spec = p.liveness;
  const gone = () => signal.aborted || child.hasExited || w.current !== child;
  let lastStartMs = Date.now();
  for (;;) {
    await pause(Math.max(0, lastStartMs + spec.everyMs - Date.now()), signal);
    if (gone()) return undefined;
    lastStartMs = Date.now();
    const problem = await probeOnce(ctx, p, spec, signal);
    if (gone()) return undefined;
    if (problem === undefined) {
      w.consecutive = 0;
      w.lastOkMs = Date.now();
      continue;
    }
    w.consecutive += 1;
    w.failuresTotal += 1;
    w.lastFailure = { atMs: Date.now(), reason: problem };
    if (w.consecutive >= spec.failures)
      return `${p.name} failed its liveness check ${w.consecutive} time${w.consecutive === 1 ? '' : 's'} in a row (${w.probe}: ${problem})`;
    ctx.note(
      'warn',
      `${p.name} failed its liveness check (${w.consecutive} of ${spec.failures} in a row): ${w.probe}: ${problem}`,
    );
  }
}

/** `http http://…` / `tcp 127.0.0.1:5432` / `exec \`…\``: which check failed, in a note. */
function describeProbe(l: LivenessConfig, redact: (text: string) => string): string {
  return redact(
    l.http !== undefined ? `http ${l.http}` : l.tcp !== undefined ? `tcp ${l.tcp}` : `exec \`${l.exec}\``,
  );
}

/**
 * One check, bounded by the timeout: undefined when it passed, else why not. Resolves only once the
 * attempt has ended (an exec check is killed first), so two never overlap.
 */
async function probeOnce(
  ctx: TaskContext,
  p: ProcessConfig,
  spec: LivenessConfig,
  signal: AbortSignal,
): Promise<string | undefined> {
  const deadline = withDeadline(signal, spec.timeoutMs);
  try {
    const attempt = attemptOnce(ctx, p, spec, deadline.signal);
    const problem = await attempt;
    if (deadline.signal.aborted && !signal.aborted)
      return `no answer within ${configDuration(spec.timeoutMs)}`;
    return problem;
  } finally {
    deadline.dispose();
  }
}

async function attemptOnce(
  ctx: TaskContext,
  p: ProcessConfig,
  spec: LivenessConfig,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (spec.http !== undefined) return httpProblem(spec.http, signal, spec.timeoutMs);
  if (spec.tcp !== undefined) {
    const [host, port] = typeof spec.tcp === 'number' ? ['127.0.0.1', spec.tcp] : splitHostPort(spec.tcp);
    return tcpProblem(host, port, spec.timeoutMs);
  }
  const display = ctx.config.redact(spec.exec ?? '');
  // Its output is not relayed (a check every few seconds would flood the log); the last line says why.
  const child = await ctx.start({ command: spec.exec ?? 'true', env: p.env, display, relay: () => false });
  const onAbort = () => void child.stop(0, 'SIGKILL');
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const exit = await child.exited;
  signal.removeEventListener('abort', onAbort);
  if (exit.exitCode === 0) return undefined;
  const last = child.outputTail().at(-1);
  return `\`${display}\` ${describeExit(exit)}${last ? `: ${excerpt(last, 200)}` : ''}`;
}

/** Waits `ms`, or less when `signal` aborts; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
