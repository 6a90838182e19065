// Owns signals and shutdown order. Installs the SIGTERM/SIGINT/SIGHUP/SIGQUIT handlers for the whole
// run: during boot a signal aborts the run (the running task's child gets it), during supervise it
// starts the ordered shutdown, during shutdown a second SIGTERM/SIGINT SIGKILLs what is left.
// Shutdown stops processes in reverse start order, then Litestream last with replication_grace so it
// ships the final WAL (docs/litestream.md rule 4). Never starts anything.

import { setTimeout as wait } from 'node:timers/promises';
import {
  InterruptedError,
  ProcessExitedError,
  ReplicationError,
  signalNumber,
  type BootseqError,
} from './errors.js';
import type { BootEvent } from './events.js';
import { killAllGroups } from './groups.js';
import type { Child, ChildExit, RestartPolicy, TaskId } from './task.js';

const DUPLICATE_MS = 1000;
const HANDLED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const;

export type Outcome =
  | { readonly kind: 'signal'; readonly signal: string }
  | {
      readonly kind: 'exit';
      readonly taskId: TaskId;
      readonly role: 'replication' | 'process';
      readonly exit: ChildExit;
      readonly child: Child;
    };

export interface StopRecord {
  readonly task: TaskId;
  readonly role: 'replication' | 'process';
  readonly pid: number;
  /** When the stop began (SIGTERM sent, or the wait for a restarted Litestream). */
  readonly stoppingAtMs: number;
  readonly stoppedAtMs: number;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
}

interface Kept {
  child: Child;
  readonly role: 'replication' | 'process';
  readonly taskId: TaskId;
  readonly restart: RestartPolicy | undefined;
  restarts: number;
  /** Set while a restarted child has not proved it works again. */
  pendingReady: Promise<unknown> | undefined;
  /** Set while a restart waits out its backoff. */
  restarting: Promise<void> | undefined;
}

const MAX_BACKOFF_MS = 30_000;

export interface SupervisorOptions {
  readonly graceMs: number;
  readonly replicationGraceMs: number;
  emit(event: BootEvent): void;
}

export function exitCodeOf(exit: ChildExit): number {
  if (exit.signal) return 128 + signalNumber(exit.signal);
  return exit.exitCode ?? 1;
}

function describeExit(exit: ChildExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
}

export function createSupervisor(options: SupervisorOptions) {
  const controller = new AbortController();
  const kept: Kept[] = [];
  let phase: 'boot' | 'supervise' | 'shutdown' = 'boot';
  let outcome: Outcome | undefined;
  let settle: ((o: Outcome) => void) | undefined;
  const outcomePromise = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  const decide = (o: Outcome) => {
    if (outcome) return;
    outcome = o;
    settle?.(o);
  };

  let firstSignalAtMs: number | undefined;
  let forcedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (phase === 'shutdown' && firstSignalAtMs === undefined) {
      firstSignalAtMs = now;
      options.emit({
        event: 'note',
        level: 'info',
        text: `received ${signal} while shutting down; a second one kills what is left`,
      });
      return;
    }
    if (firstSignalAtMs !== undefined) {
      // `npm run` and `timeout` forward the signal the terminal already sent to the whole group, so
      // a repeat within DUPLICATE_MS is the same request, not an operator insisting.
      if (
        (signal === 'SIGTERM' || signal === 'SIGINT') &&
        firstSignalAtMs !== undefined &&
        now - firstSignalAtMs >= DUPLICATE_MS
      ) {
        options.emit({
          event: 'note',
          level: 'warn',
          text: `second ${signal} during shutdown: killing every remaining process now (SIGKILL)`,
        });
        forcedBy = signal;
        for (const k of kept) void k.child.stop(0, 'SIGKILL');
        killAllGroups();
      }
      return;
    }
    firstSignalAtMs = now;
    options.emit({ event: 'note', level: 'info', text: `received ${signal}` });
    decide({ kind: 'signal', signal });
    if (phase === 'boot') controller.abort(new InterruptedError(signal));
  };
  for (const s of HANDLED_SIGNALS) process.on(s, onSignal);

  const shutdownStarted = new AbortController();
  const disposed = new AbortController();
  const awaitRecovery = (entry: Kept, awaitReady: NonNullable<RestartPolicy['awaitReady']>, what: string) => {
    const restarted = entry.child;
    const startedAt = Date.now();
    entry.pendingReady = awaitReady(restarted, disposed.signal)
      .then(
        (message) => {
          options.emit({
            event: 'note',
            level: 'info',
            task: entry.taskId,
            text: `${message} ${Date.now() - startedAt} ms after the restart`,
          });
        },
        (error: unknown) => {
          if (shutdownStarted.signal.aborted || entry.child !== restarted) return;
          options.emit({
            event: 'note',
            level: 'error',
            task: entry.taskId,
            text: `${what} did not recover after the restart: ${(error as Error).message}`,
          });
          decide({
            kind: 'exit',
            taskId: entry.taskId,
            role: entry.role,
            exit: { exitCode: 1, signal: undefined },
            child: restarted,
          });
        },
      )
      .finally(() => {
        if (entry.child === restarted) entry.pendingReady = undefined;
      });
  };

  const watch = (entry: Kept) => {
    const child = entry.child;
    void child.exited.then(async (exit) => {
      if (phase === 'shutdown' || entry.child !== child) return;
      const failed = exit.signal !== undefined || exit.exitCode !== 0;
      const policy = entry.restart;
      if (policy && (failed || !policy.onFailureOnly) && entry.restarts < policy.maxRestarts) {
        entry.restarts += 1;
        const waitMs = Math.min(policy.backoffMs * 2 ** (entry.restarts - 1), MAX_BACKOFF_MS);
        const what = entry.role === 'replication' ? 'litestream' : entry.taskId.replace(/^start:/, '');
        options.emit({
          event: 'note',
          level: entry.role === 'replication' ? 'error' : 'warn',
          task: entry.taskId,
          text: `${what} ${describeExit(exit)}; restarting in ${waitMs} ms (restart ${entry.restarts} of ${policy.maxRestarts})${entry.role === 'replication' ? '; the app keeps running, writes wait in the WAL until litestream is back' : ''}`,
        });
        let restarted!: () => void;
        entry.restarting = new Promise<void>((resolve) => {
          restarted = resolve;
        });
        try {
          await wait(waitMs, undefined, { signal: shutdownStarted.signal }).catch(() => undefined);
          // A Litestream that is down when shutdown begins is started once more anyway: its final
          // sync is what ships the writes made while it was down. Processes are not brought back.
          if (shutdownStarted.signal.aborted && entry.role !== 'replication') return;
          try {
            entry.child = policy.start();
          } catch (error) {
            options.emit({
              event: 'note',
              level: 'error',
              task: entry.taskId,
              text: `cannot restart ${what}: ${(error as Error).message}`,
            });
            decide({ kind: 'exit', taskId: entry.taskId, role: entry.role, exit, child });
            return;
          }
          watch(entry);
          if (policy.awaitReady) awaitRecovery(entry, policy.awaitReady, what);
        } finally {
          entry.restarting = undefined;
          restarted();
        }
        return;
      }
      if (policy && entry.restarts >= policy.maxRestarts && failed) {
        options.emit({
          event: 'note',
          level: 'error',
          task: entry.taskId,
          text: `gave up after ${entry.restarts} restarts`,
        });
      }
      decide({ kind: 'exit', taskId: entry.taskId, role: entry.role, exit, child });
      if (phase === 'boot') controller.abort(unexpectedExitError(entry.taskId, entry.role, exit, child));
    });
  };

  return {
    /** The run signal: aborted by a signal to bootseq or a kept child that dies during boot. */
    signal: controller.signal as AbortSignal,

    keep(child: Child, role: 'replication' | 'process', taskId: TaskId, restart?: RestartPolicy): void {
      const entry: Kept = {
        child,
        role,
        taskId,
        restart,
        restarts: 0,
        pendingReady: undefined,
        restarting: undefined,
      };
      kept.push(entry);
      watch(entry);
    },

    /** After boot: resolves with what ended supervision (a signal, or a child that exited). */
    supervise(): Promise<Outcome> {
      phase = 'supervise';
      return outcomePromise;
    },

    /** Stops every kept child, processes in reverse start order, then Litestream. */
    async shutdown(reason: string): Promise<StopRecord[]> {
      phase = 'shutdown';
      shutdownStarted.abort();
      const stops: StopRecord[] = [];
      const ordered = [
        ...kept.filter((k) => k.role === 'process').reverse(),
        ...kept.filter((k) => k.role === 'replication'),
      ];
      if (ordered.length > 0)
        options.emit({
          event: 'note',
          level: 'info',
          text: `shutting down (${reason}): ${ordered.map((k) => k.taskId).join(' → ')}`,
        });
      for (const k of ordered) {
        const graceMs = k.role === 'replication' ? options.replicationGraceMs : options.graceMs;
        if (k.restarting) await k.restarting;
        if (k.pendingReady && !k.child.hasExited) {
          // A restarted Litestream that has not opened the databases yet would ship nothing on SIGTERM.
          options.emit({
            event: 'note',
            level: 'info',
            task: k.taskId,
            text: `waiting up to ${graceMs} ms for the restarted process to take over before stopping it`,
          });
          await Promise.race([k.pendingReady, wait(graceMs)]);
        }
        const wasRunning = !k.child.hasExited;
        const stoppingAtMs = Date.now();
        const exit = await k.child.stop(graceMs);
        stops.push({
          task: k.taskId,
          role: k.role,
          pid: k.child.pid,
          stoppingAtMs,
          stoppedAtMs: Date.now(),
          exitCode: exit.exitCode,
          signal: exit.signal,
        });
        if (wasRunning) {
          const benign = k.role === 'replication' && exit.exitCode === 1;
          options.emit({
            event: 'note',
            level: 'info',
            task: k.taskId,
            text: `stopped: ${describeExit(exit)}${benign ? ' (litestream exits 1 when its final sync checkpoints; its data was shipped)' : ''}`,
          });
        }
      }
      return stops;
    },

    /** The signal that forced a SIGKILL of everything, if an operator insisted. */
    forcedBy(): NodeJS.Signals | undefined {
      return forcedBy;
    },

    dispose(): void {
      disposed.abort();
      for (const s of HANDLED_SIGNALS) process.off(s, onSignal);
    },
  };
}

export type Supervisor = ReturnType<typeof createSupervisor>;

/** The error a kept child's own exit turns into (during boot, or what supervise reports). */
export function unexpectedExitError(
  taskId: TaskId,
  role: 'replication' | 'process',
  exit: ChildExit,
  child: Child,
): BootseqError {
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
  const name = taskId.replace(/^start:/, '');
  const code = exitCodeOf(exit);
  const shown = tail.length ? `\n  last output:\n${tail.map((l) => `    ${l}`).join('\n')}` : '';
  return new ProcessExitedError(
    taskId,
    code,
    `process ${name} ${describeExit(exit)}; the other processes and litestream were stopped in order${shown}`,
    `run \`${child.display}\` by hand to see why it stopped`,
  );
}
