// The boot pipeline shared by `up`, `restore`, `migrate`, `verify` and `rehearse`: load config, build
// the graph, run it under the supervisor, supervise (up only), shut down in order, write the run
// report. Returns the exit code or throws the BootseqError that decided it; the supervisor decides
// which (core/exit.ts is the policy).

import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import type { BootEvent, Reporter } from '../../core/events.js';
import { describeBootseqExit, EXIT_FAILED, EXIT_OK } from '../../core/exit.js';
import { buildGraph, type GraphOptions } from '../../core/graph.js';
import {
  createRunReport,
  finishRunReport,
  toReportTasks,
  writeReport,
  type RunReport,
} from '../../core/report.js';
import { runTasks } from '../../core/runner.js';
import {
  createSupervisor,
  type RunEnd,
  type ShutdownResult,
  type Supervisor,
} from '../../core/supervisor/index.js';
import type { TaskSpec } from '../../core/task.js';
import { createReporter } from '../log/index.js';
import { createLiveState, type LiveState } from '../status/live.js';
import { checksReport } from '../status/checks.js';
import type { StatusServers } from '../status/server.js';
import type { Heartbeat } from '../status/heartbeat.js';
import type { Rehearsals } from './rehearsals.js';
import { PHASE_LIST } from '../../phases/index.js';
import type { CommandContext } from './context.js';

export interface BootOptions extends GraphOptions {
  readonly command: string;
  /** A config prepared by the command (rehearse); default: loaded from --config. */
  readonly config?: Config & { warnings: readonly string[] };
  /** Supervise the processes after boot until a signal or an exit (`up` without `--until`). */
  readonly supervise: boolean;
}

type LoadedConfig = Config & { warnings: readonly string[] };

export async function runBoot(cmd: CommandContext, options: BootOptions): Promise<number> {
  const startedAtMs = Date.now();
  const loaded = options.config ?? loadConfig(cmd.configPath);
  const tasks = buildGraph(PHASE_LIST, loaded, options);
  const log = await createReporter(cmd.logFormat);
  const controller = new AbortController();
  // The live state follows the same events the log renders: status and health never disagree with it.
  const live = createLiveState({
    config: loaded,
    command: options.command,
    version: cmd.version,
    kept: () => supervisor.view(),
  });
  const reporter: Reporter = {
    emit: (event) => {
      live.observe(event);
      log.emit(event);
    },
    close: () => log.close(),
  };
  const emit = reporter.emit.bind(reporter);
  const supervisor = createSupervisor({ ...loaded.shutdown, emit, controller });
  let servers: StatusServers | undefined;
  let config: LoadedConfig;
  let heartbeat: Heartbeat | undefined;
  let rehearsals: Rehearsals | undefined;
  try {
    ({ servers, config } = await openStatus(loaded, live, emit, options.supervise));
    heartbeat = options.supervise ? await startHeartbeatIfSet(loaded, live, emit) : undefined;
    rehearsals = options.supervise ? await startRehearsalsIfSet(loaded, live, emit) : undefined;
  } catch (error) {
    supervisor.dispose();
    await log.close();
    throw error;
  }
  const report = createRunReport({
    command: options.command,
    argv: cmd.argv,
    configFile: config.file,
    configHash: config.hash,
    bootseqVersion: cmd.version,
  });
  const run: BootRun = { config, reporter, supervisor, live, report, startedAtMs, rehearsals };
  let ended: ShutdownResult | undefined;
  try {
    ended = await runAndShutDown(run, tasks, controller, options);
  } finally {
    live.shuttingDown();
    heartbeat?.stop();
    await rehearsals?.stop();
    supervisor.dispose();
    await servers?.close();
    await closeRun(run, ended);
  }
  if (ended.error) throw ended.error;
  return ended.exitCode;
}

/** One boot's parts, once the config is final. */
interface BootRun {
  readonly config: LoadedConfig;
  readonly reporter: Reporter;
  readonly supervisor: Supervisor;
  readonly live: LiveState;
  readonly report: RunReport;
  readonly startedAtMs: number;
  /** Scheduled rehearsals (`rehearse:`), stopped before anything else at shutdown. */
  readonly rehearsals: Rehearsals | undefined;
}

/** Runs the tasks, supervises (`up`), then shuts down in order: how the run ended. */
async function runAndShutDown(
  run: BootRun,
  tasks: readonly TaskSpec[],
  controller: AbortController,
  options: BootOptions,
): Promise<ShutdownResult> {
  const { config, reporter, supervisor, live, report } = run;
  announce(reporter, config, tasks);
  const { keep, background } = supervisor;
  const result = await runTasks(tasks, {
    config,
    reporter,
    controller,
    keep,
    background,
    expose: (views) => live.expose(views),
  });
  report.tasks = toReportTasks(result.records);
  const end: RunEnd = result.error
    ? { kind: 'failed', error: result.error }
    : options.supervise
      ? {
          kind: 'supervised',
          outcome: await superviseUntilEnd(supervisor, reporter, config, report, run.startedAtMs),
        }
      : {
          kind: 'done',
          reason: options.until ? `--until ${options.until} reached` : `${options.command} done`,
        };
  live.shuttingDown();
  // A rehearsal in progress stops first: it is a copy, and must not outlive the app it rehearses.
  await run.rehearsals?.stop();
  return supervisor.shutdown(end);
}

/**
 * Writes the run report and says the last lines: where the report is, and the exit code. A bug
 * thrown before the run ended (`ended` undefined) still leaves a report, marked failed, and cli.ts
 * reports the bug.
 */
async function closeRun(run: BootRun, ended: ShutdownResult | undefined): Promise<void> {
  const { config, reporter, report } = run;
  const emit = (event: BootEvent) => reporter.emit(event);
  const exitCode = ended?.exitCode ?? EXIT_FAILED;
  // What kept being checked after boot (liveness, heartbeat, rehearsals), when anything was.
  const checks = checksReport(run.live.snapshot());
  if (checks) report.checks = checks;
  finishRunReport(report, {
    stops: ended?.stops ?? [],
    exitCode,
    error: ended?.error,
    redact: config.redact,
  });
  const written = await writeReport(config.report.dir, report, config.report.keep);
  if (written.problem) emit({ event: 'note', level: 'warn', text: written.problem });
  else if (written.path) emit({ event: 'note', level: 'info', text: `run report: ${written.path}` });
  emit({
    event: 'note',
    level: exitCode === EXIT_OK ? 'info' : 'error',
    text: describeBootseqExit(exitCode),
  });
  await reporter.close();
}

/**
 * The control socket and the health endpoints, for a supervising `up` only (a one-off `migrate` beside
 * it must not take its socket); and the config the tasks get: with the health address in the
 * children's environment, so an app behind a proxy that only probes its own port can relay /readyz.
 */
async function openStatus(
  loaded: LoadedConfig,
  live: LiveState,
  emit: (event: BootEvent) => void,
  supervise: boolean,
): Promise<{ servers: StatusServers | undefined; config: LoadedConfig }> {
  if (!supervise) return { servers: undefined, config: loaded };
  // node:http and node:net: loaded only by a supervising `up`, not by migrate, verify or rehearse.
  const { openStatusServers } = await import('../status/server.js');
  const servers = await openStatusServers({ config: loaded, snapshot: () => live.snapshot(), emit });
  if (!servers.healthUrl) return { servers, config: loaded };
  live.setHealthUrl(servers.healthUrl);
  return { servers, config: { ...loaded, env: { ...loaded.env, BOOTSEQ_HEALTH_URL: servers.healthUrl } } };
}

/** The dead-man heartbeat (health.heartbeat), for a supervising `up` only: loaded only when set. */
async function startHeartbeatIfSet(
  config: LoadedConfig,
  live: LiveState,
  emit: (event: BootEvent) => void,
): Promise<Heartbeat | undefined> {
  if (!config.health.heartbeat) return undefined;
  const { startHeartbeat } = await import('../status/heartbeat.js');
  const heartbeat = startHeartbeat({
    heartbeat: config.health.heartbeat,
    redact: config.redact,
    snapshot: () => live.snapshot(),
    emit,
  });
  live.setHeartbeat(heartbeat.view);
  return heartbeat;
}

/** Scheduled restore rehearsals (`rehearse:`), for a supervising `up` only: loaded only when set. */
async function startRehearsalsIfSet(
  config: LoadedConfig,
  live: LiveState,
  emit: (event: BootEvent) => void,
): Promise<Rehearsals | undefined> {
  if (!config.rehearse) return undefined;
  const { startRehearsals } = await import('./rehearsals.js');
  const rehearsals = startRehearsals({ rehearse: config.rehearse, config, live, emit });
  live.setRehearsal(rehearsals.view);
  return rehearsals;
}

/** Config warnings and the plan: what the operator reads before the first task. */
function announce(reporter: Reporter, config: LoadedConfig, tasks: readonly TaskSpec[]) {
  for (const warning of config.warnings) reporter.emit({ event: 'note', level: 'warn', text: warning });
  reporter.emit({
    event: 'plan',
    tasks: tasks.map(({ id, phase, target, after, describe }) => ({ id, phase, target, after, describe })),
  });
}

/** Writes the report (what has booted is evidence already), announces ready, waits for the end. */
async function superviseUntilEnd(
  supervisor: Supervisor,
  reporter: Reporter,
  config: Config,
  report: RunReport,
  startedAtMs: number,
) {
  await writeReport(config.report.dir, report, config.report.keep);
  // Where each process answered its readiness check, as the start tasks recorded it.
  const addresses = Object.fromEntries(
    (report.tasks as { phase: string; target: string; address?: unknown }[]).flatMap((t) =>
      t.phase === 'start' && typeof t.address === 'string' ? [[t.target, t.address]] : [],
    ),
  );
  reporter.emit({
    event: 'ready',
    processes: config.processes.map((p) => p.name),
    addresses,
    duration_ms: Date.now() - startedAtMs,
  });
  return supervisor.supervise();
}
