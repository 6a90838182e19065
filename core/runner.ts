// Runs a task graph: each task starts once everything it waits for succeeded, independent tasks run
// in parallel, and the first failure aborts the run's one AbortController, which stops every running
// child (the signal bootseq received is forwarded as is; otherwise SIGTERM, then SIGKILL after
// grace). Tasks that never started are `skipped`, those stopped midway `cancelled`. Knows no phase by
// name and owns no shutdown order: kept children belong to the supervisor.

import { createTaskContext } from './context.js';
import { BootseqError, errorMessage, firstLine, TaskFailedError } from './errors.js';
import type { BootEvent, Reporter, TaskStatus } from './events.js';
import { spawner as realSpawner, type Spawner } from './spawn.js';
import type { Config, KeepChild, LiveViews, StartBackground, TaskId, TaskSpec } from './task.js';

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
  /**
   * The run's one controller: the runner aborts it on the first failure; the supervisor aborts it on
   * a signal to bootseq or when a kept child dies during boot.
   */
  readonly controller: AbortController;
  /** Hands a child to the supervisor (core/supervisor). */
  readonly keep: KeepChild;
  /** Hands a task's background work to the supervisor. */
  readonly background: StartBackground;
  /** Default: execa through core/spawn.ts. */
  readonly spawner?: Spawner;
  /** Where tasks publish what status and health read (core/live.ts); default: nowhere. */
  readonly expose?: (views: LiveViews) => void;
}

export interface RunResult {
  readonly records: TaskRecord[];
  readonly error: BootseqError | undefined;
}

export async function runTasks(tasks: readonly TaskSpec[], options: RunOptions): Promise<RunResult> {
  const { config, controller } = options;
  const emit = (event: BootEvent) => options.reporter.emit(redactEvent(event, config.redact));
  const spawner = warnOnceAsPid1(options.spawner ?? realSpawner, emit);
  // Tasks that keep a child need the spawner: load it now, overlapping the tasks before them.
  if (tasks.some((t) => t.keepsChild)) spawner.load().catch(() => undefined);
  const run: Run = { options: { ...options, spawner }, emit, firstError: undefined };
  const records = new Map<TaskId, TaskRecord>(tasks.map((t) => [t.id, newRecord(t)]));
  const running = new Map<TaskId, Promise<void>>();
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
        run.emit({ event: 'task-end', task: task.id, status: 'skipped', duration_ms: 0 });
        continue;
      }
      if (deps.every((s) => s === 'ok'))
        running.set(
          task.id,
          execute(task, record, run).finally(() => running.delete(task.id)),
        );
    }
    if (running.size === 0) {
      // Nothing runs and nothing could start: whatever is pending waits on a task that is not there.
      for (const r of records.values()) if (r.status === 'pending') r.status = 'skipped';
      break;
    }
    await Promise.race(running.values());
  }
  // A failure of a task first; else what aborted the run from outside (a signal, a kept child's death).
  // The supervisor knows when an outside abort came after a task failure, and lets it win.
  let error = run.firstError;
  if (!error && controller.signal.aborted) error = asBootseqError('run', controller.signal.reason);
  return { records: [...records.values()], error };
}

/** One run's shared state: what every task's execution reads and the first failure it records. */
interface Run {
  readonly options: RunOptions & { readonly spawner: Spawner };
  readonly emit: (event: BootEvent) => void;
  firstError: BootseqError | undefined;
}

function newRecord(task: TaskSpec): TaskRecord {
  return {
    id: task.id,
    phase: task.phase,
    target: task.target,
    startedAtMs: undefined,
    endedAtMs: undefined,
    status: 'pending',
    exitCode: undefined,
    error: undefined,
    outputTail: undefined,
    facts: {},
  };
}

/** Runs one task: `ok`, or `failed` (the first failure aborts the run), or `cancelled` by an abort. */
async function execute(task: TaskSpec, record: TaskRecord, run: Run): Promise<void> {
  const { config, controller, spawner, keep, background, expose } = run.options;
  record.startedAtMs = Date.now();
  record.status = 'running';
  run.emit({ event: 'task-start', task: task.id });
  try {
    controller.signal.throwIfAborted();
    const setExitCode = (code: number | undefined) => (record.exitCode = code);
    const { signal } = controller;
    await task.run(
      createTaskContext(task, {
        config,
        signal,
        spawner,
        emit: run.emit,
        keep,
        background,
        expose,
        setExitCode,
        facts: record.facts,
      }),
    );
    record.status = 'ok';
  } catch (error) {
    const failure = asBootseqError(task.id, error);
    record.error = failure.message;
    if (controller.signal.aborted) {
      record.status = 'cancelled';
    } else {
      record.status = 'failed';
      if (failure instanceof TaskFailedError && failure.outputTail.length > 0)
        record.outputTail = [...failure.outputTail];
      run.firstError ??= failure;
      controller.abort(failure);
    }
  } finally {
    record.endedAtMs = Date.now();
    const status = record.status as TaskStatus;
    run.emit({
      event: 'task-end',
      task: task.id,
      status,
      duration_ms: record.endedAtMs - (record.startedAtMs ?? record.endedAtMs),
      ...(status === 'failed' && record.error ? { error: firstLine(record.error) } : {}),
    });
  }
}

/**
 * As PID 1, bootseq would have to reap the orphans of every child it starts, and it does not: say so
 * before the first child starts, whichever command starts it (`up`, `migrate`, `rehearse`…).
 */
function warnOnceAsPid1(spawner: Spawner, emit: (event: BootEvent) => void, pid = process.pid): Spawner {
  if (pid !== 1) return spawner;
  let warned = false;
  return {
    load: () => spawner.load(),
    start: (spec, options) => {
      if (!warned) {
        warned = true;
        emit({
          event: 'note',
          level: 'warn',
          text: 'bootseq is PID 1 without an init: orphaned grandchildren will stay zombies',
          hint: 'run it under an init that reaps them: ENTRYPOINT ["tini", "--", "bootseq", "up"] (or docker run --init)',
        });
      }
      return spawner.start(spec, options);
    },
  };
}

function asBootseqError(taskId: TaskId, error: unknown): BootseqError {
  if (error instanceof BootseqError) return error;
  return new TaskFailedError(taskId, errorMessage(error), { cause: error });
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
