// The supervisor's shared vocabulary: what it keeps, what ended supervision, what a stop recorded,
// and the outside world it is given (signals, a clock, the group killer), which unit tests fake.

import type { BootseqError } from '../errors.js';
import type { BootEvent } from '../events.js';
import type { Child, ChildExit, KeepOptions, PhaseName, RestartPolicy, TaskId } from '../task.js';

export type Role = 'replication' | 'process';

/**
 * What ended supervision: a signal to bootseq, a kept child that exited (past its restarts), or a
 * task's background job that failed.
 */
export type Outcome =
  | { readonly kind: 'signal'; readonly signal: string }
  | { readonly kind: 'failed'; readonly taskId: TaskId; readonly error: BootseqError }
  | {
      readonly kind: 'exit';
      readonly taskId: TaskId;
      /** The task's target: the process's name (a process), or `litestream`. */
      readonly target: string;
      readonly role: Role;
      readonly exit: ChildExit;
      readonly child: Child;
    };

/** Why the run is shutting down; `shutdown()` turns it into a reason, an exit code and an error. */
export type RunEnd =
  /** The boot failed or was interrupted (the runner's error). */
  | { readonly kind: 'failed'; readonly error: BootseqError }
  /** Supervision ended (`up`): a signal or a kept child's exit. */
  | { readonly kind: 'supervised'; readonly outcome: Outcome }
  /** Everything asked for ran (`--until`, `migrate`, `verify`…). */
  | { readonly kind: 'done'; readonly reason: string };

export interface StopRecord {
  readonly task: TaskId;
  readonly role: Role;
  readonly pid: number;
  /** When the stop began (SIGTERM sent, or the wait for a restarted Litestream). */
  readonly stoppingAtMs: number;
  readonly stoppedAtMs: number;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** How it ended, in words (core/exit.ts): who killed it, whether it had to be resumed first. */
  readonly ended: string;
  /** What its afterStop check found missing, if anything (Litestream: writes that did not reach the replica). */
  readonly problem?: string;
  readonly hint?: string;
}

export interface ShutdownResult {
  /** What was stopped, in order. */
  readonly stops: readonly StopRecord[];
  readonly exitCode: number;
  /** The failure that decided the exit code, if any (cli.ts prints it). */
  readonly error: BootseqError | undefined;
}

/** A kept child and its restart state. `child` changes when it is restarted. */
export interface Kept {
  child: Child;
  readonly role: Role;
  readonly taskId: TaskId;
  /** The phase and target of the task that kept it (a process's name is its start task's target). */
  readonly phase: PhaseName;
  readonly target: string;
  readonly restart?: RestartPolicy | undefined;
  readonly beforeStop?: KeepOptions['beforeStop'];
  readonly afterStop?: KeepOptions['afterStop'];
  /** When each restart happened, oldest first: those within the policy's window count. */
  restartTimes: number[];
  /** Every restart since it was kept (status and metrics; restartTimes forgets old ones). */
  restartsTotal: number;
  /** When the current child was started (or kept, for the first one). */
  startedAtMs: number;
  /** Set while a restarted child has not proved it works again. */
  pendingReady: Promise<unknown> | undefined;
  /** Set while a restart waits out its backoff. */
  restarting: Promise<void> | undefined;
}

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface SupervisorOptions {
  readonly graceMs: number;
  readonly replicationGraceMs: number;
  readonly emit: (event: BootEvent) => void;
  /** The run's one AbortController (shared with the runner): aborted by a signal during boot. */
  readonly controller: AbortController;
  /** Default: `process`. */
  readonly signals?: SignalSource;
  /** Default: Date.now and timers/promises. */
  readonly clock?: Clock;
  /** SIGKILLs every process group bootseq started. Default: core/groups.ts. */
  readonly killAll?: () => void;
}

/** A kept child as `bootseq status` and the health endpoints see it. */
export interface KeptView {
  readonly taskId: TaskId;
  readonly role: Role;
  readonly pid: number;
  /** Running, and not a restart that has yet to prove it works again. */
  readonly up: boolean;
  /** Waiting out a restart's backoff, or proving a restarted child works. */
  readonly restarting: boolean;
  readonly restarts: number;
  readonly startedAtMs: number;
}
