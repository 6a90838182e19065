// Runs a task graph: each task starts once everything it waits for succeeded, independent tasks run
// in parallel, and the first failure aborts the run signal, which stops every running child (the
// signal bootseq received is forwarded as is; otherwise SIGTERM, then SIGKILL after grace). Tasks
// that never started are `skipped`, those stopped midway `cancelled`. Owns no shutdown order: kept
// children belong to the supervisor.

import { BootseqError, InterruptedError, TaskFailedError } from './errors.js';
import type { BootEvent, Reporter, TaskStatus } from './events.js';
import { loadSpawner, startChild } from './spawn.js';
import type { Child, CommandSpec, Config, RestartPolicy, TaskContext, TaskId, TaskSpec } from './task.js';

export interface TaskRecord {
  readonly id: TaskId;
  readonly phase: string;
  readonly target: string;
  startedAtMs: number | undefined;
  endedAtMs: number | undefined;
  status: TaskStatus | 'pending' | 'running';
  exitCode: number | undefined;
  error: string | undefined;
  outputTail: string[] | undefined;
  facts: Record<string, unknown>;
}

export interface RunOptions {
  readonly config: Config;
  readonly reporter: Reporter;
  /** Aborted from outside: a signal to bootseq, or a kept child that died during boot. */
  readonly signal: AbortSignal;
  keep(child: Child, role: 'replication' | 'process', taskId: TaskId, restart?: RestartPolicy): void;
}

export interface RunResult {
  readonly records: TaskRecord[];
  readonly error: BootseqError | undefined;
}

export async function runTasks(tasks: readonly TaskSpec[], options: RunOptions): Promise<RunResult> {
  const { config, reporter } = options;
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(options.signal.reason);
  if (options.signal.aborted) forwardAbort();
  else options.signal.addEventListener('abort', forwardAbort, { once: true });

  const emit = (event: BootEvent) => reporter.emit(redactEvent(event, config.redact));
  const records = new Map<TaskId, TaskRecord>(
    tasks.map((t) => [
      t.id,
      {
        id: t.id,
        phase: t.phase,
        target: t.target,
        startedAtMs: undefined,
        endedAtMs: undefined,
        status: 'pending',
        exitCode: undefined,
        error: undefined,
        outputTail: undefined,
        facts: {},
      },
    ]),
  );
  let firstError: BootseqError | undefined;
  const running = new Map<TaskId, Promise<void>>();

  const execute = async (task: TaskSpec, record: TaskRecord): Promise<void> => {
    record.startedAtMs = Date.now();
    record.status = 'running';
    emit({ event: 'task-start', task: task.id });
    try {
      controller.signal.throwIfAborted();
      // Tasks that start long-running children use the synchronous ctx.start: have execa ready.
      if (task.phase === 'replicate' || task.phase === 'start') await loadSpawner();
      await task.run(createContext(task, record, controller.signal, options, emit));
      record.status = 'ok';
    } catch (error) {
      const failure = asBootseqError(task.id, error);
      if (controller.signal.aborted) {
        record.status = 'cancelled';
        record.error = failure.message;
      } else {
        record.status = 'failed';
        record.error = failure.message;
        if (failure instanceof TaskFailedError && failure.outputTail.length > 0)
          record.outputTail = [...failure.outputTail];
        firstError ??= failure;
        controller.abort(failure);
      }
    } finally {
      record.endedAtMs = Date.now();
      const status = record.status as TaskStatus;
      emit({
        event: 'task-end',
        task: task.id,
        status,
        duration_ms: record.endedAtMs - (record.startedAtMs ?? record.endedAtMs),
        ...(status === 'failed' && record.error ? { error: firstLine(record.error) } : {}),
      });
    }
  };

  for (;;) {
    for (const task of tasks) {
      const record = records.get(task.id);
      if (!record || record.status !== 'pending') continue;
      const deps = task.after.map((id) => records.get(id)?.status);
      if (
        controller.signal.aborted ||
        deps.some((s) => s === 'failed' || s === 'cancelled' || s === 'skipped')
      ) {
        record.status = 'skipped';
        emit({ event: 'task-end', task: task.id, status: 'skipped', duration_ms: 0 });
        continue;
      }
      if (deps.every((s) => s === 'ok')) {
        const promise = execute(task, record).finally(() => running.delete(task.id));
        running.set(task.id, promise);
      }
    }
    if (running.size === 0) {
      // Nothing runs and nothing could start: whatever is pending waits on a task that is not there.
      for (const r of records.values()) if (r.status === 'pending') r.status = 'skipped';
      break;
    }
    await Promise.race(running.values());
  }
  options.signal.removeEventListener('abort', forwardAbort);

  let error = firstError;
  if (!error && controller.signal.aborted) error = asBootseqError('run', controller.signal.reason);
  if (error === undefined && options.signal.aborted) error = asBootseqError('run', options.signal.reason);
  // An outside abort (a signal to bootseq) wins over the task failures it caused.
  if (options.signal.aborted && options.signal.reason instanceof BootseqError) error = options.signal.reason;
  return { records: [...records.values()], error };
}

function createContext(
  task: TaskSpec,
  record: TaskRecord,
  signal: AbortSignal,
  options: RunOptions,
  emit: (e: BootEvent) => void,
): TaskContext {
  const { config } = options;
  const start = (command: CommandSpec): Child => {
    signal.throwIfAborted();
    const child = startChild({ cwd: config.dir, ...command }, { baseEnv: config.env, redact: config.redact });
    child.onLine((line, stream) => emit({ event: 'task-output', task: task.id, stream, line }));
    return child;
  };
  return {
    signal,
    config,
    emit,
    start,
    async run(command) {
      await loadSpawner();
      const child = start(command);
      const onAbort = () => {
        const reason: unknown = signal.reason;
        void child.stop(
          config.shutdown.graceMs,
          reason instanceof InterruptedError ? (reason.signal as NodeJS.Signals) : 'SIGTERM',
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const exit = await child.exited;
      signal.removeEventListener('abort', onAbort);
      record.exitCode = exit.exitCode ?? (exit.signal ? 128 + signalNo(exit.signal) : undefined);
      const display = config.redact(child.display);
      if (signal.aborted) {
        await child.stop(config.shutdown.graceMs);
        throw new TaskFailedError(
          task.id,
          `\`${display}\` was stopped (${firstLine(errorMessage(signal.reason))})`,
          { command: display },
        );
      }
      if (exit.exitCode !== 0) {
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
        throw new TaskFailedError(task.id, `\`${display}\` ${how}`, {
          command: display,
          ...(exit.exitCode === undefined ? {} : { childExitCode: exit.exitCode }),
          outputTail: child.outputTail(),
          hint: command.hint ?? `run \`${display}\` in ${config.dir} to see the whole output`,
        });
      }
    },
    keep(child, role, restart) {
      options.keep(child, role, task.id, restart);
    },
    record(key, value) {
      record.facts[key] = value;
    },
  };
}

function signalNo(signal: string): number {
  return { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 0;
}

function asBootseqError(taskId: TaskId, error: unknown): BootseqError {
  if (error instanceof BootseqError) return error;
  return new TaskFailedError(taskId, errorMessage(error), { cause: error });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function redactEvent(event: BootEvent, redact: (t: string) => string): BootEvent {
  switch (event.event) {
    case 'task-output':
      return { ...event, line: redact(event.line) };
    case 'note':
      return {
        ...event,
        text: redact(event.text),
        ...(event.hint === undefined ? {} : { hint: redact(event.hint) }),
      };
    case 'task-end':
      return event.error === undefined ? event : { ...event, error: redact(event.error) };
    default:
      return event;
  }
}
