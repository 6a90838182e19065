// How a run ends, in words and numbers: the reason shown in "shutting down (…)", the exit code
// (by the policy in core/exit.ts) and the error cli.ts prints. Pure: decides, stops nothing.

import {
  InterruptedError,
  ProcessExitedError,
  ReplicationError,
  UnfinishedStopError,
  type BootseqError,
} from '../errors.js';
import {
  describeExit,
  EXIT_OK,
  exitCodeAfterChildExit,
  exitCodeAfterSignal,
  exitCodeOf,
  exitCodeWhenForced,
} from '../exit.js';
import type { TaskId } from '../task.js';
import type { Outcome, RunEnd, StopRecord } from './types.js';

export interface Settlement {
  /** For "shutting down (…)". */
  readonly reason: string;
  readonly exitCode: number;
  readonly error: BootseqError | undefined;
  /** A line for the operator before shutdown begins, under the task that ended. */
  readonly note?: { readonly task: TaskId; readonly text: string };
}

/**
 * `bootAbort`: what aborted the boot from outside (a signal, a kept child's death), if anything did.
 * It wins over the task failures it caused, or that raced it.
 */
export function settle(end: RunEnd, bootAbort: BootseqError | undefined): Settlement {
  switch (end.kind) {
    case 'failed': {
      const error = bootAbort ?? end.error;
      const reason = error instanceof InterruptedError ? error.signal : 'boot failed';
      return { reason, exitCode: error.exitCode, error };
    }
    case 'done':
      return { reason: end.reason, exitCode: EXIT_OK, error: undefined };
    case 'supervised': {
      const outcome = end.outcome;
      if (outcome.kind === 'signal') {
        const reason = `received ${outcome.signal}`;
        return { reason, exitCode: exitCodeAfterSignal(outcome.signal), error: undefined };
      }
      if (outcome.kind === 'failed')
        return { reason: `${outcome.taskId} failed`, exitCode: outcome.error.exitCode, error: outcome.error };
      const reason = `${outcome.taskId} ended`;
      const exitCode = exitCodeAfterChildExit(outcome.role, outcome.exit);
      if (outcome.role === 'process' && exitCode === EXIT_OK) {
        const note = {
          task: outcome.taskId,
          text: `${describeExit(outcome.exit)}; stopping the rest in order`,
        };
        return { reason, exitCode, error: undefined, note };
      }
      const error = unexpectedExitError(outcome);
      return { reason, exitCode: error.exitCode, error };
    }
  }
}

/**
 * The exit code and error once everything stopped: the run's own failure first; then an operator's
 * forced kill (128+n); then work a child left unfinished on its way out (exit 1); else the settled code.
 */
export function finalExit(
  settled: Settlement,
  stops: readonly StopRecord[],
  forcedBy: string | undefined,
): { exitCode: number; error: BootseqError | undefined } {
  if (settled.error) return { exitCode: settled.exitCode, error: settled.error };
  if (forcedBy) return { exitCode: exitCodeWhenForced(settled.exitCode, forcedBy), error: undefined };
  const unfinished = stops.filter((st) => st.problem !== undefined);
  if (unfinished.length === 0) return { exitCode: settled.exitCode, error: undefined };
  const error = new UnfinishedStopError(
    unfinished.map((st) => `${st.task}: ${st.problem}`),
    unfinished[0]!.hint,
  );
  return { exitCode: error.exitCode, error };
}

/** What a signal or a kept child's death during boot aborts the run with. */
export function abortError(outcome: Outcome): BootseqError {
  if (outcome.kind === 'signal') return new InterruptedError(outcome.signal);
  if (outcome.kind === 'failed') return outcome.error;
  return unexpectedExitError(outcome);
}

/** A value set once (the first outcome wins), and a promise of it. */
export function createLatch<T>(): { readonly promise: Promise<T>; set(value: T): boolean } {
  let resolve!: (value: T) => void;
  let isSet = false;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return {
    promise,
    set(value) {
      if (isSet) return false;
      isSet = true;
      resolve(value);
      return true;
    },
  };
}

/** The error a kept child's own exit turns into (during boot, or what ends supervision). */
function unexpectedExitError(outcome: Extract<Outcome, { kind: 'exit' }>): BootseqError {
  const { taskId, role, exit, child } = outcome;
  const tail = child.outputTail();
  if (role === 'replication') {
    return new ReplicationError(
      taskId,
      `litestream ${describeExit(exit)} while the app was running; the app was stopped so it never runs without replication`,
      {
        outputTail: tail,
        hint: 'read the [litestream] lines above, fix the cause (replica path, credentials, litestream.yml), then start again',
      },
    );
  }
  const shown = tail.length ? `\n  last output:\n${tail.map((l) => `    ${l}`).join('\n')}` : '';
  return new ProcessExitedError(
    taskId,
    exitCodeOf(exit),
    `process ${outcome.target} ${describeExit(exit)}; the other processes and litestream were stopped in order${shown}`,
    `run \`${child.display}\` by hand to see why it stopped`,
  );
}
