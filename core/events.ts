// The one event stream: runner, phases and supervisor only emit; reporters (log/) render.
// Events carry no secrets: everything is redacted before it is emitted.

import type { NoteLevel, PhaseName, TaskId } from './task.js';

export type TaskStatus = 'ok' | 'failed' | 'skipped' | 'cancelled';

interface PlannedTask {
  readonly id: TaskId;
  readonly phase: PhaseName;
  readonly target: string;
  readonly after: readonly TaskId[];
  readonly describe: string;
}

export type BootEvent =
  | { event: 'plan'; tasks: readonly PlannedTask[] }
  | { event: 'task-start'; task: TaskId }
  | {
      event: 'task-output';
      task: TaskId;
      /** The task's phase and target (its TaskSpec's), for the label in front of the line. */
      phase: PhaseName;
      target: string;
      stream: 'stdout' | 'stderr';
      line: string;
    }
  | { event: 'task-end'; task: TaskId; status: TaskStatus; duration_ms: number; error?: string }
  | {
      event: 'ready';
      processes: readonly string[];
      /** Where a process answered its tcp or http readiness check: `{ web: 'http://127.0.0.1:3000' }`. */
      addresses: Readonly<Record<string, string>>;
      /** From bootseq's start to ready. */
      duration_ms: number;
    }
  /** A kept child stopped at shutdown: how it ended, how long it took, what its own check said. */
  | {
      event: 'stopped';
      task: TaskId;
      phase: PhaseName;
      target: string;
      duration_ms: number;
      exit: string;
      note?: string;
    }
  /**
   * `summary`: the one line that sums a finished task up (`2 applied (sqlx)`, `7 gates passed`); the
   * pretty list shows it beside the task, the other formats print it as any note.
   */
  | { event: 'note'; level: NoteLevel; text: string; hint?: string; task?: TaskId; summary?: boolean };

export interface Reporter {
  emit(event: BootEvent): void;
  close(): Promise<void>;
}

/** The label an operator reads in front of a child's output: `web`, `litestream`, `migrate:queue`. */
export function outputLabel(event: {
  readonly task: TaskId;
  readonly phase: PhaseName;
  readonly target: string;
}): string {
  if (event.phase === 'replicate') return 'litestream';
  if (event.phase === 'start') return event.target;
  return event.task;
}
