// The boot pipeline shared by `up`, `restore`, `migrate` and `verify`: load config, build the graph,
// run it under the supervisor, supervise (up only), shut down in order, write the run report.
// Returns the exit code or throws the BootseqError that decided it.

import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { BootseqError, InterruptedError, signalNumber } from '../core/errors.js';
import { buildGraph, type GraphOptions } from '../core/graph.js';
import { toReportStops, toReportTasks, writeReport, type RunReport } from '../core/report.js';
import { runTasks } from '../core/runner.js';
import { loadSpawner } from '../core/spawn.js';
import { createSupervisor, exitCodeOf, unexpectedExitError, type StopRecord } from '../core/supervisor.js';
import { createReporter } from '../log/index.js';
import { PHASE_LIST } from '../../phases/index.js';
import type { CommandContext } from './context.js';

export interface BootOptions extends GraphOptions {
  readonly command: string;
  /** A config prepared by the command (rehearse); default: loaded from --config. */
  readonly config?: Config & { warnings: readonly string[] };
  /** Supervise the processes after boot until a signal or an exit (`up` without `--until`). */
  readonly supervise: boolean;
}

export async function runBoot(cmd: CommandContext, options: BootOptions): Promise<number> {
  const config = options.config ?? loadConfig(cmd.configPath);
  const tasks = buildGraph(PHASE_LIST, config, options);
  // Runs that will start Litestream or processes load execa now, overlapping the first tasks; the
  // others load it only if a task runs a command (a restore that finds no replica needs none).
  if (tasks.some((t) => t.phase === 'replicate' || t.phase === 'start')) loadSpawner().catch(() => undefined);
  const reporter = await createReporter(cmd.logFormat);
  const emit = reporter.emit.bind(reporter);
  const supervisor = createSupervisor({
    graceMs: config.shutdown.graceMs,
    replicationGraceMs: config.shutdown.replicationGraceMs,
    emit,
  });
  const startedAtMs = Date.now();
  const report: RunReport = {
    version: 1,
    command: options.command,
    argv: cmd.argv,
    config_file: config.file,
    config_hash: config.hash,
    bootseq_version: cmd.version,
    node_version: process.version,
    started_at: new Date(startedAtMs).toISOString(),
    started_at_ms: startedAtMs,
    ended_at_ms: undefined,
    status: 'running',
    exit_code: undefined,
    error: undefined,
    tasks: [],
    shutdown: [],
  };
  let stops: StopRecord[] = [];
  let failure: BootseqError | undefined;
  let exitCode = 0;
  try {
    for (const warning of config.warnings) emit({ event: 'note', level: 'warn', text: warning });
    if (process.pid === 1 && options.supervise) {
      emit({
        event: 'note',
        level: 'warn',
        text: 'bootseq is PID 1 without an init: orphaned grandchildren will stay zombies',
        hint: 'run it under an init that reaps them: ENTRYPOINT ["tini", "--", "bootseq", "up"] (or docker run --init)',
      });
    }
    emit({ event: 'plan', tasks: tasks.map((t) => ({ id: t.id, after: t.after, describe: t.describe })) });
    const result = await runTasks(tasks, {
      config,
      reporter,
      signal: supervisor.signal,
      keep: (child, role, taskId, restart) => supervisor.keep(child, role, taskId, restart),
    });
    report.tasks = toReportTasks(result.records);
    if (result.error) {
      failure = result.error;
      stops = await supervisor.shutdown(
        `${failure instanceof InterruptedError ? failure.signal : 'boot failed'}`,
      );
    } else if (options.supervise) {
      const names = config.processes.map((p) => p.name);
      // The report is on disk before "ready" is announced: what has booted is evidence already.
      await writeReport(config.report.dir, report, config.report.keep);
      emit({ event: 'ready', processes: names });
      const outcome = await supervisor.supervise();
      if (outcome.kind === 'signal') {
        exitCode =
          outcome.signal === 'SIGTERM' || outcome.signal === 'SIGINT'
            ? 0
            : 128 + signalNumber(outcome.signal);
        stops = await supervisor.shutdown(`received ${outcome.signal}`);
      } else {
        const code = exitCodeOf(outcome.exit);
        if (outcome.role === 'process' && code === 0) {
          emit({
            event: 'note',
            level: 'info',
            task: outcome.taskId,
            text: 'exited with code 0; stopping the rest in order',
          });
        } else {
          failure = unexpectedExitError(outcome.taskId, outcome.role, outcome.exit, outcome.child);
          exitCode = outcome.role === 'process' ? code : 1;
        }
        stops = await supervisor.shutdown(`${outcome.taskId} ended`);
      }
    } else {
      stops = await supervisor.shutdown(
        options.until ? `--until ${options.until} reached` : `${options.command} done`,
      );
    }
  } finally {
    supervisor.dispose();
    report.shutdown = toReportStops(stops);
    const forced = supervisor.forcedBy();
    // Killed rather than stopped: not a clean shutdown, whatever ended supervision.
    if (forced && exitCode === 0 && !failure) exitCode = 128 + signalNumber(forced);
    report.ended_at_ms = Date.now();
    if (failure) {
      exitCode = failure.exitCode;
      report.error = { code: failure.code, message: config.redact(failure.message), hint: failure.hint };
    }
    report.exit_code = exitCode;
    report.status = exitCode === 0 ? 'ok' : 'failed';
    const written = await writeReport(config.report.dir, report, config.report.keep);
    if (written.problem) emit({ event: 'note', level: 'warn', text: written.problem });
    else if (written.path) emit({ event: 'note', level: 'info', text: `run report: ${written.path}` });
    emit({
      event: 'note',
      level: exitCode === 0 ? 'info' : 'error',
      text: `bootseq exits with code ${exitCode}`,
    });
    await reporter.close();
  }
  if (failure) throw failure;
  return exitCode;
}
