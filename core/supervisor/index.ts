// The supervisor: owns the kept children (Litestream and the app's processes) from the moment a task
// hands one over until the ordered shutdown, and the process signals for the whole run. Composes
// signals.ts (what a signal means when), restarts.ts (a child that exits on its own), shutdown.ts
// (the order things stop in) and outcome.ts (the reason, exit code and error). Never starts a child
// of its own: restart policies, given by the phases, do.

import { setTimeout as sleep } from 'node:timers/promises';
import type { BootseqError } from '../errors.js';
import { killAllGroups } from '../groups.js';
import type { Child, KeepOptions, TaskId, TaskRef } from '../task.js';
import { abortError, createLatch, finalExit, settle } from './outcome.js';
import { watch, type RestartEnv } from './restarts.js';
import { killEverything, stopInOrder } from './shutdown.js';
import { listenForSignals } from './signals.js';
import { createBackground } from './background.js';
import type {
  Clock,
  Kept,
  KeptView,
  Outcome,
  Role,
  RunEnd,
  ShutdownResult,
  SupervisorOptions,
} from './types.js';

export type {
  Outcome,
  RunEnd,
  ShutdownResult,
  StopRecord,
  SupervisorOptions,
  Clock,
  SignalSource,
  KeptView,
} from './types.js';

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

export function createSupervisor(options: SupervisorOptions) {
  const { controller, emit } = options;
  const clock = options.clock ?? systemClock;
  const killAll = options.killAll ?? killAllGroups;
  const kept: Kept[] = [];
  let phase: 'boot' | 'supervise' | 'shutdown' = 'boot';
  /** What aborted the boot from outside; it wins over the task failures it caused. */
  let bootAbort: BootseqError | undefined;
  let forcedBy: NodeJS.Signals | undefined;
  const first = createLatch<Outcome>();
  const end = (o: Outcome, interruptsBoot = false) => {
    if (!first.set(o) || phase !== 'boot' || !interruptsBoot) return;
    bootAbort = abortError(o);
    controller.abort(bootAbort);
  };
  const signals = listenForSignals({
    source: options.signals ?? process,
    clock,
    emit,
    isShuttingDown: () => phase === 'shutdown',
    onFirst: (signal) => end({ kind: 'signal', signal }, true),
    onForce: (signal) => {
      forcedBy = signal;
      killEverything(kept, killAll);
    },
  });
  const shutdownStarted = new AbortController();
  const disposed = new AbortController();
  const jobs = createBackground({ shutdownStarted: shutdownStarted.signal, emit, end });
  const isShuttingDown = () => phase === 'shutdown';
  const restartEnv: RestartEnv = {
    clock,
    emit,
    shutdownStarted: shutdownStarted.signal,
    disposed: disposed.signal,
    isShuttingDown,
    end,
  };
  return {
    /** Hands a started child over: watched (and restarted by `restart`) until shutdown stops it. */
    keep: (child: Child, role: Role, task: TaskRef, keepOptions: KeepOptions = {}): void => {
      const entry = newKept(child, role, task, keepOptions, clock.now());
      kept.push(entry);
      watch(entry, restartEnv);
    },
    /** Runs a task's background job until it ends or shutdown aborts it. */
    background: (taskId: TaskId, job: (signal: AbortSignal) => Promise<void>): void =>
      jobs.start(taskId, job),
    /** After boot: resolves with what ended supervision (a signal, or a child that exited). */
    supervise(): Promise<Outcome> {
      phase = 'supervise';
      return first.promise;
    },
    /**
     * Stops every kept child in order and decides how the run ends: what stopped, the exit code, and
     * the error to report (the boot's failure, or the child whose exit ended supervision).
     */
    async shutdown(runEnd: RunEnd): Promise<ShutdownResult> {
      phase = 'shutdown';
      shutdownStarted.abort();
      // A background job may be handing a child over right now: let it finish or give up first.
      await jobs.settled();
      const settled = settle(runEnd, bootAbort);
      if (settled.note) emit({ event: 'note', level: 'info', ...settled.note });
      const stops = await stopInOrder(kept, settled.reason, { ...options, clock });
      return { stops, ...finalExit(settled, stops, forcedBy) };
    },
    /** What is kept right now, for status and health: read-only. */
    view(): KeptView[] {
      return kept.map(viewOf);
    },
    dispose(): void {
      disposed.abort();
      signals.dispose();
    },
  };
}

export type Supervisor = ReturnType<typeof createSupervisor>;

/** A child just handed over, with no restart yet. */
function newKept(child: Child, role: Role, task: TaskRef, options: KeepOptions, nowMs: number): Kept {
  return {
    child,
    role,
    taskId: task.id,
    phase: task.phase,
    target: task.target,
    ...options,
    restartTimes: [],
    restartsTotal: 0,
    startedAtMs: nowMs,
    pendingReady: undefined,
    restarting: undefined,
  };
}

/** A kept child as status and health see it. */
function viewOf(k: Kept): KeptView {
  return {
    taskId: k.taskId,
    role: k.role,
    pid: k.child.pid,
    up: !k.child.hasExited && k.pendingReady === undefined && k.restarting === undefined,
    restarting: k.restarting !== undefined || k.pendingReady !== undefined,
    restarts: k.restartsTotal,
    startedAtMs: k.startedAtMs,
  };
}
