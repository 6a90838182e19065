// Background jobs: work a task leaves running after it finished (the replicate phase waiting for the
// replication lease while the app already runs). Shutdown aborts them and waits for them before it
// stops anything, so a job that was about to hand a child over either has or has not; a job that
// fails on its own ends supervision with its error, as a crash would.

import { BootseqError, errorMessage, TaskFailedError } from '../errors.js';
import type { BootEvent } from '../events.js';
import type { TaskId } from '../task.js';
import type { Outcome } from './types.js';

export interface BackgroundEnv {
  /** Aborted when shutdown begins. */
  readonly shutdownStarted: AbortSignal;
  readonly emit: (event: BootEvent) => void;
  readonly end: (outcome: Outcome, interruptsBoot?: boolean) => void;
}

export function createBackground(env: BackgroundEnv) {
  const running = new Set<Promise<void>>();
  return {
    start(taskId: TaskId, job: (signal: AbortSignal) => Promise<void>): void {
      const done = job(env.shutdownStarted)
        .catch((error: unknown) => {
          if (env.shutdownStarted.aborted) return; // stopped by shutdown: nothing more to say
          const failure =
            error instanceof BootseqError ? error : new TaskFailedError(taskId, errorMessage(error));
          env.emit({
            event: 'note',
            level: 'error',
            task: taskId,
            text: failure.message,
            hint: failure.hint,
          });
          env.end({ kind: 'failed', taskId, error: failure }, true);
        })
        .finally(() => running.delete(done));
      running.add(done);
    },
    /** Resolves once every job has ended (shutdown has aborted them). */
    async settled(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  };
}
