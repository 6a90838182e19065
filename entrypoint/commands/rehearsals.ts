// Scheduled restore rehearsals (issue 30, `rehearse:`): while `up` supervises, every `every` the
// `bootseq rehearse` pipeline runs as a child of its own (its own process group, under nice and
// ionice's idle class where they exist), restoring every store from its replica into a new folder
// under `into`, migrating and verifying the copy; the folder is deleted afterwards and its run report
// kept (the last `keep`). One at a time; never while another bootseq holds the replication lease (a
// rolling deploy's handoff) or while this one is not ready. A failed rehearsal is an error line naming
// what failed; with fail_ready it makes /readyz 503 until one passes. Never touches the live files or
// the replica: `bootseq rehearse` writes only inside its --into folder.

import fs from 'node:fs';
import path from 'node:path';
import { elapsed } from '../../core/format.js';
import { spawner } from '../../core/spawn.js';
import { pruneStamped, stampAt } from '../../core/stamped-files.js';
import type { BootEvent } from '../../core/events.js';
import type { Child } from '../../core/task.js';
import type { Config, RehearseConfig } from '../../config/schema.js';
import type { RehearsalStatus } from '../status/checks.js';
import type { LiveState } from '../status/live.js';

/** How long a rehearsal put off (not ready, a handoff) waits before it looks again. */
const POSTPONE_MS = 10_000;
/** A rehearsal stopped at shutdown: SIGTERM, then SIGKILL after this (it stops its own children first). */
const STOP_GRACE_MS = 10_000;

export interface Rehearsals {
  readonly view: () => RehearsalStatus;
  /** Stops a running rehearsal (its folder removed) and schedules no more. */
  stop(): Promise<void>;
}

interface RehearsalsOptions {
  readonly rehearse: RehearseConfig;
  readonly config: Config;
  readonly live: LiveState;
  readonly emit: (event: BootEvent) => void;
}

/** The schedule's state: the next timer, the rehearsal running now, and what the last ones found. */
interface Schedule extends RehearsalsOptions {
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  running: { child: Child; dir: string } | undefined;
  /** The tick in progress (or the last one): stop() waits for it. */
  done: Promise<void>;
  nextAtMs: number | undefined;
  lastSuccessMs: number | undefined;
  lastFailure: { atMs: number; reason: string } | undefined;
  lastDurationMs: number | undefined;
  lastReport: string | undefined;
  runsTotal: number;
  failuresTotal: number;
  /** A put-off was said (once until a rehearsal runs again). */
  postponedSaid: boolean;
}

export function startRehearsals(options: RehearsalsOptions): Rehearsals {
  const s: Schedule = {
    ...options,
    timer: undefined,
    stopped: false,
    running: undefined,
    done: Promise.resolve(),
    nextAtMs: undefined,
    lastSuccessMs: undefined,
    lastFailure: undefined,
    lastDurationMs: undefined,
    lastReport: undefined,
    runsTotal: 0,
    failuresTotal: 0,
    postponedSaid: false,
  };
  schedule(s, s.rehearse.everyMs);
  return {
    view: () => viewOf(s),
    async stop() {
      s.stopped = true;
      clearTimeout(s.timer);
      const current = s.running;
      if (current) {
        note(
          s,
          'info',
          `stopping the restore rehearsal in progress (pid ${current.child.pid}); its folder is removed`,
        );
        await current.child.stop(STOP_GRACE_MS);
      }
      await s.done;
    },
  };
}

function note(s: Schedule, level: 'info' | 'warn' | 'error', text: string, hint?: string): void {
  s.emit({ event: 'note', level, text: s.config.redact(text), ...(hint ? { hint } : {}) });
}

function schedule(s: Schedule, ms: number): void {
  if (s.stopped) return;
  s.nextAtMs = Date.now() + ms;
  s.timer = setTimeout(() => {
    s.done = tick(s);
  }, ms);
  s.timer.unref();
}

/** Rehearses now, or puts it off while bootseq is not ready or a handoff is in progress. */
async function tick(s: Schedule): Promise<void> {
  const snap = s.live.snapshot();
  const postponeMs = Math.min(POSTPONE_MS, s.rehearse.everyMs);
  const why =
    snap.lease?.role === 'waiting'
      ? `another bootseq holds the replication lease (${snap.lease.holder ?? 'a rolling deploy'})`
      : snap.boot.state !== 'ready'
        ? `bootseq is ${snap.boot.state}`
        : undefined;
  if (why !== undefined) {
    // Booting is not news; a handoff is, once.
    if (!s.postponedSaid && snap.boot.state !== 'booting')
      note(s, 'info', `restore rehearsal put off: ${why}; trying again every ${elapsed(postponeMs)}`);
    s.postponedSaid = snap.boot.state !== 'booting';
    schedule(s, postponeMs);
    return;
  }
  s.postponedSaid = false;
  await rehearseOnce(s);
  schedule(s, s.rehearse.everyMs);
}

/** One rehearsal: `bootseq rehearse` into a new folder at low priority, its report kept, the folder removed. */
async function rehearseOnce(s: Schedule): Promise<void> {
  const { config, rehearse } = s;
  const startedAtMs = Date.now();
  const dir = path.join(rehearse.into, stampAt(startedAtMs));
  fs.mkdirSync(rehearse.into, { recursive: true });
  await spawner.load();
  if (s.stopped) return;
  const argv = ['rehearse', '--into', dir, '--config', config.file, '--log-format', 'json'];
  const child = spawner.start(
    {
      command: lowPriority([process.execPath, process.argv[1] ?? 'bootseq', ...argv]),
      cwd: config.dir,
      display: `bootseq rehearse --into ${dir}`,
    },
    { baseEnv: config.env, redact: config.redact },
  );
  s.running = { child, dir };
  note(
    s,
    'info',
    `restore rehearsal started (pid ${child.pid}): \`bootseq rehearse --into ${dir}\` at low priority`,
  );
  const exit = await child.exited;
  s.running = undefined;
  const report = keepReport(dir, rehearse);
  fs.rmSync(dir, { recursive: true, force: true });
  if (s.stopped) return;
  s.runsTotal += 1;
  s.lastDurationMs = Date.now() - startedAtMs;
  s.lastReport = report?.path;
  if (exit.exitCode === 0) {
    const wasFailing = isFailing(s);
    s.lastSuccessMs = Date.now();
    note(
      s,
      'info',
      `restore rehearsal passed in ${elapsed(s.lastDurationMs)}: every store restored from its replica, migrated and verified${report ? ` (report: ${report.path})` : ''}${wasFailing ? '; the last one had failed' : ''}`,
    );
    return;
  }
  s.failuresTotal += 1;
  const reason = report?.error ?? `bootseq rehearse exited with code ${exit.exitCode ?? exit.signal}`;
  s.lastFailure = { atMs: Date.now(), reason: config.redact(reason) };
  note(
    s,
    'error',
    `restore rehearsal FAILED: ${reason}; the live databases and the replica were not touched${rehearse.failReady ? '; /readyz answers 503 until a rehearsal passes (rehearse.fail_ready)' : ''}`,
    report?.hint ??
      `run \`bootseq rehearse --into /tmp/rehearsal\` to see every step${report ? `; the report is ${report.path}` : ''}`,
  );
}

/** The last rehearsal that ended failed. */
function isFailing(s: Schedule): boolean {
  return (
    s.lastFailure !== undefined && (s.lastSuccessMs === undefined || s.lastSuccessMs < s.lastFailure.atMs)
  );
}

function viewOf(s: Schedule): RehearsalStatus {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    every_ms: s.rehearse.everyMs,
    state: s.running ? 'running' : 'idle',
    next_at: s.running || s.stopped ? null : iso(s.nextAtMs),
    last_success: iso(s.lastSuccessMs),
    last_failure: s.lastFailure
      ? { at: new Date(s.lastFailure.atMs).toISOString(), reason: s.lastFailure.reason }
      : null,
    last_duration_ms: s.lastDurationMs ?? null,
    runs_total: s.runsTotal,
    failures_total: s.failuresTotal,
    last_report: s.lastReport ?? null,
    fails_ready: s.rehearse.failReady && isFailing(s),
  };
}

/** `nice -n 19 ionice -c 3 …` where they are installed (ionice's idle class needs no privilege). */
function lowPriority(argv: readonly string[]): { file: string; args: string[] } {
  const prefix = [
    ...(onPath('nice') ? ['nice', '-n', '19'] : []),
    ...(onPath('ionice') ? ['ionice', '-c', '3'] : []),
  ];
  const [file, ...args] = [...prefix, ...argv] as [string, ...string[]];
  return { file, args };
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The rehearsal's run report, moved out of its folder under `into` (the last `keep` are kept). */
function keepReport(
  dir: string,
  rehearse: RehearseConfig,
): { path: string; error: string | undefined; hint: string | undefined } | undefined {
  const runs = path.join(dir, 'runs');
  let name: string | undefined;
  try {
    name = fs
      .readdirSync(runs)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .at(-1);
  } catch {
    return undefined;
  }
  if (!name) return undefined;
  const target = path.join(rehearse.into, name);
  try {
    fs.renameSync(path.join(runs, name), target);
    pruneStamped(rehearse.into, 'json', rehearse.keep);
    const report = JSON.parse(fs.readFileSync(target, 'utf8')) as {
      error?: { message?: string; hint?: string };
    };
    return { path: target, error: report.error?.message, hint: report.error?.hint };
  } catch {
    return undefined;
  }
}
