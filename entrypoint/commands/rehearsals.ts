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

export function startRehearsals(options: {
  readonly rehearse: RehearseConfig;
  readonly config: Config;
  readonly live: LiveState;
  readonly emit: (event: BootEvent) => void;
}): Rehearsals {
  const { rehearse, config, live, emit } = options;
  const note = (level: 'info' | 'warn' | 'error', text: string, hint?: string) =>
    emit({ event: 'note', level, text: config.redact(text), ...(hint ? { hint } : {}) });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: { child: Child; dir: string } | undefined;
  let done: Promise<void> = Promise.resolve();
  let nextAtMs: number | undefined;
  let lastSuccessMs: number | undefined;
  let lastFailure: { atMs: number; reason: string } | undefined;
  let lastDurationMs: number | undefined;
  let lastReport: string | undefined;
  let runsTotal = 0;
  let failuresTotal = 0;
  let postponedSaid = false;
  const postponeMs = Math.min(POSTPONE_MS, rehearse.everyMs);

  const schedule = (ms: number) => {
    if (stopped) return;
    nextAtMs = Date.now() + ms;
    timer = setTimeout(() => {
      done = tick();
    }, ms);
    timer.unref();
  };

  const tick = async (): Promise<void> => {
    const s = live.snapshot();
    const why =
      s.lease?.role === 'waiting'
        ? `another bootseq holds the replication lease (${s.lease.holder ?? 'a rolling deploy'})`
        : s.boot.state !== 'ready'
          ? `bootseq is ${s.boot.state}`
          : undefined;
    if (why !== undefined) {
      // Booting is not news; a handoff is, once.
      if (!postponedSaid && s.boot.state !== 'booting')
        note(
          'info',
          `restore rehearsal put off: ${why}; trying again every ${Math.round(postponeMs / 1000)} s`,
        );
      postponedSaid = s.boot.state !== 'booting';
      schedule(postponeMs);
      return;
    }
    postponedSaid = false;
    await rehearseOnce();
    schedule(rehearse.everyMs);
  };

  const rehearseOnce = async (): Promise<void> => {
    const startedAtMs = Date.now();
    const dir = path.join(rehearse.into, stampAt(startedAtMs));
    fs.mkdirSync(rehearse.into, { recursive: true });
    await spawner.load();
    if (stopped) return;
    const child = spawner.start(
      {
        command: lowPriority([
          process.execPath,
          process.argv[1] ?? 'bootseq',
          'rehearse',
          '--into',
          dir,
          '--config',
          config.file,
          '--log-format',
          'json',
        ]),
        cwd: config.dir,
        display: `bootseq rehearse --into ${dir}`,
      },
      { baseEnv: config.env, redact: config.redact },
    );
    running = { child, dir };
    note(
      'info',
      `restore rehearsal started (pid ${child.pid}): \`bootseq rehearse --into ${dir}\` at low priority`,
    );
    const exit = await child.exited;
    running = undefined;
    const report = keepReport(dir, rehearse);
    fs.rmSync(dir, { recursive: true, force: true });
    if (stopped) return;
    runsTotal += 1;
    lastDurationMs = Date.now() - startedAtMs;
    lastReport = report?.path;
    if (exit.exitCode === 0) {
      lastSuccessMs = Date.now();
      const wasFailing = lastFailure !== undefined && (lastSuccessMs ?? 0) > lastFailure.atMs;
      note(
        'info',
        `restore rehearsal passed in ${(lastDurationMs / 1000).toFixed(1)} s: every store restored from its replica, migrated and verified${report ? ` (report: ${report.path})` : ''}${wasFailing ? '; it had failed before' : ''}`,
      );
      return;
    }
    failuresTotal += 1;
    const reason = report?.error ?? `bootseq rehearse exited with code ${exit.exitCode ?? exit.signal}`;
    lastFailure = { atMs: Date.now(), reason: config.redact(reason) };
    note(
      'error',
      `restore rehearsal FAILED: ${reason}; the live databases and the replica were not touched${rehearse.failReady ? '; /readyz answers 503 until a rehearsal passes (rehearse.fail_ready)' : ''}`,
      report?.hint ??
        `run \`bootseq rehearse --into /tmp/rehearsal\` to see every step${report ? `; the report is ${report.path}` : ''}`,
    );
  };

  schedule(rehearse.everyMs);
  return {
    view: () => {
      const failing =
        lastFailure !== undefined && (lastSuccessMs === undefined || lastSuccessMs < lastFailure.atMs);
      return {
        every_ms: rehearse.everyMs,
        state: running ? 'running' : 'idle',
        next_at: running || stopped || nextAtMs === undefined ? null : new Date(nextAtMs).toISOString(),
        last_success: lastSuccessMs === undefined ? null : new Date(lastSuccessMs).toISOString(),
        last_failure: lastFailure
          ? { at: new Date(lastFailure.atMs).toISOString(), reason: lastFailure.reason }
          : null,
        last_duration_ms: lastDurationMs ?? null,
        runs_total: runsTotal,
        failures_total: failuresTotal,
        last_report: lastReport ?? null,
        fails_ready: rehearse.failReady && failing,
      };
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const current = running;
      if (current) {
        note(
          'info',
          `stopping the restore rehearsal in progress (pid ${current.child.pid}); its folder is removed`,
        );
        await current.child.stop(STOP_GRACE_MS);
      }
      await done;
    },
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
