// The ordered shutdown: processes in reverse start order, then Litestream last with
// replication_grace, so its final sync ships the last WAL (docs/litestream.md, rule 4); then each
// child's own afterStop check says whether it finished its work, so a run is not called clean when
// the last writes never reached the replica. Each stop is
// SIGTERM to the group → grace → SIGKILL (core/spawn.ts). A restart still in its backoff is let
// finish first (a Litestream that is down is started once more for that final sync), and a
// restarted Litestream gets up to its grace to take over before it is asked to stop.

import type { BootEvent } from '../events.js';
import { describeExit } from '../exit.js';
import type { Clock, Kept, StopRecord } from './types.js';

export interface StopOptions {
  readonly graceMs: number;
  readonly replicationGraceMs: number;
  readonly clock: Clock;
  readonly emit: (event: BootEvent) => void;
}

/** Processes in reverse start order, then replication. */
function stopOrder(kept: readonly Kept[]): Kept[] {
  return [
    ...kept.filter((k) => k.role === 'process').reverse(),
    ...kept.filter((k) => k.role === 'replication'),
  ];
}

export async function stopInOrder(
  kept: readonly Kept[],
  reason: string,
  options: StopOptions,
): Promise<StopRecord[]> {
  const ordered = stopOrder(kept);
  if (ordered.length > 0)
    options.emit({
      event: 'note',
      level: 'info',
      text: `shutting down (${reason}): ${ordered.map((k) => k.taskId).join(' → ')}`,
    });
  const stops: StopRecord[] = [];
  for (const k of ordered) stops.push(await stopOne(k, options));
  return stops;
}

async function stopOne(k: Kept, options: StopOptions): Promise<StopRecord> {
  const { clock, emit } = options;
  const graceMs = k.role === 'replication' ? options.replicationGraceMs : options.graceMs;
  if (k.restarting) await k.restarting;
  if (k.pendingReady && !k.child.hasExited) {
    // A restarted Litestream that has not opened the databases yet would ship nothing on SIGTERM.
    emit({
      event: 'note',
      level: 'info',
      task: k.taskId,
      text: `waiting up to ${graceMs} ms for the restarted process to take over before stopping it`,
    });
    const gaveUp = new AbortController();
    await Promise.race([k.pendingReady, clock.sleep(graceMs, gaveUp.signal)]);
    gaveUp.abort();
  }
  const wasRunning = !k.child.hasExited;
  const stoppingAtMs = clock.now();
  k.beforeStop?.();
  const exit = await k.child.stop(graceMs);
  // Whether the child finished its work (Litestream: the final sync shipped every store's last writes).
  const check = k.afterStop ? await k.afterStop(exit) : undefined;
  if (wasRunning)
    emit({
      event: 'stopped',
      task: k.taskId,
      phase: k.phase,
      target: k.target,
      duration_ms: clock.now() - stoppingAtMs,
      exit: describeExit(exit),
      ...(check?.ok && check.note ? { note: check.note } : {}),
    });
  if (check && !check.ok)
    emit({ event: 'note', level: 'error', task: k.taskId, text: check.problem, hint: check.hint });
  return {
    task: k.taskId,
    role: k.role,
    pid: k.child.pid,
    stoppingAtMs,
    stoppedAtMs: clock.now(),
    exitCode: exit.exitCode,
    signal: exit.signal,
    ended: describeExit(exit),
    ...(check && !check.ok ? { problem: check.problem, hint: check.hint } : {}),
  };
}

/** An operator insisted (a second SIGTERM/SIGINT): SIGKILL every kept child and every group left. */
export function killEverything(kept: readonly Kept[], killAll: () => void): void {
  for (const k of kept) void k.child.stop(0, 'SIGKILL');
  killAll();
}
