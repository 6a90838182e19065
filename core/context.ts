// What a running task gets (TaskContext, task.ts): its id, the run's signal, notes under its name,
// commands run to completion, long-running children started and stopped, facts for the report.
// The context loads the spawner itself, so nothing above it needs to know which tasks start
// children. Owns no order and no shutdown: the runner and the supervisor do.

import { errorMessage, firstLine, InterruptedError, TaskFailedError } from './errors.js';
import type { BootEvent } from './events.js';
import { describeExit, exitCodeOf, EXIT_OK } from './exit.js';
import type { Spawner } from './spawn.js';
import type {
  Child,
  CommandSpec,
  Config,
  KeepChild,
  LiveViews,
  StartBackground,
  TaskContext,
  TaskRef,
} from './task.js';

export interface ContextOptions {
  readonly config: Config;
  /** The run's signal: aborted by the first failure, a signal to bootseq, or a kept child dying during boot. */
  readonly signal: AbortSignal;
  readonly spawner: Spawner;
  /** Emits an event; the runner redacts it. */
  readonly emit: (event: BootEvent) => void;
  /** Hands a child to the supervisor (core/supervisor). */
  readonly keep: KeepChild;
  /** Hands background work to the supervisor. */
  readonly background: StartBackground;
  /** Publishes a task's live views (status, health); default: nobody reads them. */
  readonly expose?: (views: LiveViews) => void;
  /** The exit code of the last command the task ran, for the report. */
  setExitCode(code: number | undefined): void;
  /** Facts for the run report under this task. */
  readonly facts: Record<string, unknown>;
}

export function createTaskContext(task: TaskRef, options: ContextOptions): TaskContext {
  const { config, signal } = options;
  const taskId = task.id;
  return {
    taskId,
    signal,
    config,
    note(level, text, hint) {
      options.emit({ event: 'note', level, task: taskId, text, ...(hint === undefined ? {} : { hint }) });
    },
    summarize(text) {
      options.emit({ event: 'note', level: 'info', task: taskId, text, summary: true });
    },
    run: (command) => runCommand(task, options, command),
    start: (command) => startChild(task, options, command),
    stop: (child, graceMs) => stopChild(options, child, graceMs),
    keep(child, role, keepOptions) {
      options.keep(child, role, task, keepOptions);
    },
    record(key, value) {
      options.facts[key] = value;
    },
    background(job) {
      options.background(taskId, job);
    },
    expose(views) {
      options.expose?.(views);
    },
  };
}

/** Starts a child in the config's folder; its output lines become this task's task-output events. */
async function startChild(task: TaskRef, options: ContextOptions, command: CommandSpec): Promise<Child> {
  const { config, signal, spawner } = options;
  await spawner.load();
  signal.throwIfAborted();
  const child = spawner.start(
    { cwd: config.dir, ...command },
    { baseEnv: config.env, redact: config.redact },
  );
  const relay = command.relay;
  child.onLine((line, stream) => {
    if (!relay || relay(line))
      options.emit({
        event: 'task-output',
        task: task.id,
        phase: task.phase,
        target: task.target,
        stream,
        line,
      });
  });
  return child;
}

function stopChild(options: ContextOptions, child: Child, graceMs = options.config.shutdown.graceMs) {
  const { signal } = options;
  // Interrupted by a signal to bootseq: the child gets that same signal, as it would in a shell.
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  return child.stop(
    graceMs,
    reason instanceof InterruptedError ? (reason.signal as NodeJS.Signals) : 'SIGTERM',
  );
}

/** Runs a command to completion, stopped if the run is aborted; throws TaskFailedError unless it exits 0. */
async function runCommand(task: TaskRef, options: ContextOptions, command: CommandSpec): Promise<void> {
  const { config, signal } = options;
  const child = await startChild(task, options, command);
  const onAbort = () => void stopChild(options, child);
  signal.addEventListener('abort', onAbort, { once: true });
  const exit = await child.exited;
  signal.removeEventListener('abort', onAbort);
  options.setExitCode(exit.exitCode === undefined && !exit.signal ? undefined : exitCodeOf(exit));
  const display = config.redact(child.display);
  if (signal.aborted) {
    await child.stop(config.shutdown.graceMs);
    throw new TaskFailedError(
      task.id,
      `\`${display}\` was stopped (${firstLine(errorMessage(signal.reason))})`,
      {
        command: display,
      },
    );
  }
  if (exit.exitCode !== EXIT_OK) {
    throw new TaskFailedError(task.id, `\`${display}\` ${describeExit(exit)}`, {
      command: display,
      ...(exit.exitCode === undefined ? {} : { childExitCode: exit.exitCode }),
      outputTail: child.outputTail(),
      hint: command.hint ?? `run \`${display}\` in ${config.dir} to see the whole output`,
    });
  }
}
