// What happens when a kept child exits on its own while bootseq is not shutting down: restart it by
// its policy (backoff doubling up to 30 s, at most `maxRestarts` times; a restarted Litestream must
// prove it took over again), or end supervision with that exit. Never stops anything: shutdown.ts does.

import { TaskFailedError } from '../errors.js';
import { configDuration } from '../format.js';
import type { BootEvent } from '../events.js';
import { describeExit, EXIT_FAILED, EXIT_OK } from '../exit.js';
import type { ChildExit, RestartPolicy } from '../task.js';
import type { Clock, Kept, Outcome } from './types.js';

const MAX_BACKOFF_MS = 30_000;

export interface RestartEnv {
  readonly clock: Clock;
  readonly emit: (event: BootEvent) => void;
  /** Aborted when shutdown begins: backoffs end at once, processes are not brought back. */
  readonly shutdownStarted: AbortSignal;
  /** Aborted when the supervisor is disposed: recovery checks give up. */
  readonly disposed: AbortSignal;
  isShuttingDown(): boolean;
  /**
   * A kept child ended supervision (the first outcome wins). `interruptsBoot`: its plain exit also
   * aborts a boot still in progress (a process that died before the app was up).
   */
  end(outcome: Outcome, interruptsBoot?: boolean): void;
}

/** The wait before restart number `restart` (1-based): backoff, doubled each time, at most 30 s. */
export function backoffMs(policy: Pick<RestartPolicy, 'backoffMs'>, restart: number): number {
  return Math.min(policy.backoffMs * 2 ** (restart - 1), MAX_BACKOFF_MS);
}

/** Restarts within the window, counted now; older ones are forgotten (a crash weeks ago is not the last straw). */
function recentRestarts(entry: Kept, policy: RestartPolicy, now: number): number {
  entry.restartTimes = entry.restartTimes.filter((t) => now - t < policy.windowMs);
  return entry.restartTimes.length;
}

function nameOf(entry: Kept): string {
  return entry.role === 'replication' ? 'litestream' : entry.target;
}

/** Watches the entry's current child until it exits, then restarts it or ends supervision. */
export function watch(entry: Kept, env: RestartEnv): void {
  const child = entry.child;
  void child.exited.then(async (exit) => {
    if (env.isShuttingDown() || entry.child !== child) return;
    const policy = entry.restart;
    const stoppedBecause = policy?.stoppedBecause?.(child);
    const failed = exit.signal !== undefined || exit.exitCode !== EXIT_OK || stoppedBecause !== undefined;
    const recent = policy ? recentRestarts(entry, policy, env.clock.now()) : 0;
    if (policy && (failed || !policy.onFailureOnly) && recent < policy.maxRestarts) {
      await restart(entry, policy, exit, env);
      return;
    }
    if (policy && recent >= policy.maxRestarts && failed) {
      env.emit({
        event: 'note',
        level: 'error',
        task: entry.taskId,
        text: `gave up after ${recent} restart${recent === 1 ? '' : 's'} within ${configDuration(policy.windowMs)}`,
      });
      if (stoppedBecause !== undefined) {
        const why = `${stoppedBecause}; gave up after ${recent} restart${recent === 1 ? '' : 's'} within ${configDuration(policy.windowMs)}, so the other processes and litestream were stopped in order`;
        const hint = `find why ${nameOf(entry)} stops answering (its last output is above), or raise processes.${nameOf(entry)}.max_restarts`;
        env.end(
          { kind: 'failed', taskId: entry.taskId, error: new TaskFailedError(entry.taskId, why, { hint }) },
          true,
        );
        return;
      }
    }
    env.end(
      { kind: 'exit', taskId: entry.taskId, target: entry.target, role: entry.role, exit, child },
      true,
    );
  });
}

async function restart(entry: Kept, policy: RestartPolicy, exit: ChildExit, env: RestartEnv): Promise<void> {
  const child = entry.child;
  entry.restartTimes.push(env.clock.now());
  entry.restartsTotal += 1;
  const count = entry.restartTimes.length;
  const waitMs = backoffMs(policy, count);
  const what = nameOf(entry);
  const replication = entry.role === 'replication';
  env.emit({
    event: 'note',
    level: replication ? 'error' : 'warn',
    task: entry.taskId,
    text: `${what} ${describeExit(exit)}; restarting in ${waitMs} ms (restart ${count} of ${policy.maxRestarts})${replication ? '; the app keeps running, writes wait in the WAL until litestream is back' : ''}`,
  });
  let restarted!: () => void;
  entry.restarting = new Promise<void>((resolve) => {
    restarted = resolve;
  });
  try {
    await env.clock.sleep(waitMs, env.shutdownStarted);
    // A Litestream that is down when shutdown begins is started once more anyway: its final sync is
    // what ships the writes made while it was down. Processes are not brought back.
    if (env.shutdownStarted.aborted && !replication) return;
    try {
      entry.child = await policy.start();
      entry.startedAtMs = env.clock.now();
    } catch (error) {
      env.emit({
        event: 'note',
        level: 'error',
        task: entry.taskId,
        text: `cannot restart ${what}: ${(error as Error).message}`,
      });
      env.end({ kind: 'exit', taskId: entry.taskId, target: entry.target, role: entry.role, exit, child });
      return;
    }
    watch(entry, env);
    if (policy.awaitReady) awaitRecovery(entry, policy.awaitReady, env);
  } finally {
    entry.restarting = undefined;
    restarted();
  }
}

/** A restarted child that cannot prove it works again ends supervision with exit 1. */
function awaitRecovery(
  entry: Kept,
  awaitReady: NonNullable<RestartPolicy['awaitReady']>,
  env: RestartEnv,
): void {
  const restarted = entry.child;
  const startedAt = env.clock.now();
  entry.pendingReady = awaitReady(restarted, env.disposed)
    .then(
      (message) => {
        env.emit({
          event: 'note',
          level: 'info',
          task: entry.taskId,
          text: `${message} ${env.clock.now() - startedAt} ms after the restart`,
        });
      },
      (error: unknown) => {
        if (env.shutdownStarted.aborted || entry.child !== restarted) return;
        env.emit({
          event: 'note',
          level: 'error',
          task: entry.taskId,
          text: `${nameOf(entry)} did not recover after the restart: ${(error as Error).message}`,
        });
        const exit = { exitCode: EXIT_FAILED, signal: undefined };
        env.end({
          kind: 'exit',
          taskId: entry.taskId,
          target: entry.target,
          role: entry.role,
          exit,
          child: restarted,
        });
      },
    )
    .finally(() => {
      if (entry.child === restarted) entry.pendingReady = undefined;
    });
}
