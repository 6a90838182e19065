// The contract between the runner and the phases: what a task is and what it may use while it runs,
// the order of the phases (PHASES), and the one way to build a task id (taskId; nothing splits one
// back: TaskRef and the events carry a task's phase and target). Phases import this, errors.ts,
// events.ts and exit.ts of core/. The one import that goes up a floor is the Config type below
// (docs/architecture.md, "Who may import whom"): a task's context carries the resolved config.
// Everything else takes Config from config/.

import type { Config } from '../config/schema.js';

/** For core's own files (the runner, the context, the graph); the floors above import config/schema.ts. */
export type { Config };

/** How loud a note is: `info` routine, `warn` worth a look, `error` something is wrong. */
export type NoteLevel = 'info' | 'warn' | 'error';

export const PHASES = [
  'service',
  'lease',
  'restore',
  'migrate',
  'seed',
  'sync',
  'verify',
  'replicate',
  'start',
] as const;
export type PhaseName = (typeof PHASES)[number];

/** `phase:target` (`restore:primary`, `start:web`) or `replicate`. */
export type TaskId = string;

/**
 * A task's id, the one way to build it: `phase:target`, or the phase alone for a phase with one task
 * (`replicate`, `lease`). Code that needs a task's phase or target reads them from its TaskSpec
 * (`phase`, `target`) or its event, never by splitting the id.
 */
export function taskId(phase: PhaseName, target?: string): TaskId {
  return target === undefined ? phase : `${phase}:${target}`;
}

export interface CommandSpec {
  /** A shell command line (run by /bin/sh -c) or a file with arguments (no shell). */
  readonly command: string | { readonly file: string; readonly args: readonly string[] };
  readonly cwd?: string;
  /** Added to the environment bootseq was started with. */
  readonly env?: Readonly<Record<string, string>>;
  /** How the command appears in messages (secrets redacted); defaults to the command. */
  readonly display?: string;
  /**
   * Which output lines reach the log (default: all). The others still reach `onLine` listeners and
   * the output tail: Litestream's routine per-sync lines are read, not shown.
   */
  readonly relay?: (line: string) => boolean;
  /** What to do when it fails; default: run it by hand. */
  readonly hint?: string;
}

export interface ChildExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /**
   * With `signal`: whether bootseq itself had sent that signal to the child's group (a stop, a kill
   * after the grace), or something else did (the OOM killer, an operator's `kill -9`). Undefined when
   * unknown; core/exit.ts words each case.
   */
  readonly killedByBootseq?: boolean;
  /** The child was stopped (SIGSTOP, state T) when bootseq stopped it, so bootseq resumed it (SIGCONT). */
  readonly resumed?: boolean;
}

/** A child process leading its own process group. */
export interface Child {
  readonly pid: number;
  readonly display: string;
  /** Settles when the child has exited; never rejects. */
  readonly exited: Promise<ChildExit>;
  readonly hasExited: boolean;
  /** The last lines of its output, error-looking lines preferred. */
  outputTail(): string[];
  /** Calls `listener` with every output line from now on; returns the unsubscribe function. */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): () => void;
  /**
   * SIGTERM to the group (and SIGCONT if a member is stopped, so it can act on it), SIGKILL to the
   * group after `graceMs`; resolves once it has exited.
   */
  stop(graceMs: number, signal?: NodeJS.Signals): Promise<ChildExit>;
}

/** How the supervisor brings a kept child back when it exits on its own. */
export interface RestartPolicy {
  /** Starts a replacement (its output continues under the same task). */
  start(): Promise<Child>;
  /** Restart only after a non-zero exit or a signal; an exit 0 ends supervision. */
  readonly onFailureOnly: boolean;
  /** At most this many restarts within `windowMs`; older ones no longer count. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** Wait before the first restart (of those within the window); doubles each time, at most 30 s. */
  readonly backoffMs: number;
  /**
   * Resolves once the replacement does its job again (Litestream: it has opened every database);
   * rejects when it cannot. Shutdown waits for it, so writes made meanwhile are shipped.
   */
  readonly awaitReady?: (child: Child, signal: AbortSignal) => Promise<string>;
  /**
   * Why bootseq itself stopped this child to have it restarted (a failed liveness check), else
   * undefined: such an exit is restarted whatever its code, and past the limits ends supervision
   * with that reason (exit 1), not as a clean exit 0.
   */
  readonly stoppedBecause?: (child: Child) => string | undefined;
}

/** How a kept child reaches the supervisor, under the task that started it. */
export type KeepChild = (
  child: Child,
  role: 'replication' | 'process',
  task: TaskRef,
  options?: KeepOptions,
) => void;

/** How a task's background job reaches the supervisor. */
export type StartBackground = (taskId: TaskId, job: (signal: AbortSignal) => Promise<void>) => void;

/** What the supervisor does with a kept child besides stopping it in order. */
export interface KeepOptions {
  /** Bring it back when it exits on its own; without one, its exit ends supervision. */
  readonly restart?: RestartPolicy;
  /** Called right before the supervisor asks it to stop at shutdown (what happens after is not its work). */
  readonly beforeStop?: () => void;
  /**
   * Once the supervisor has stopped it at shutdown: whether it finished its work (Litestream: every
   * store's last writes are in the replica). A problem makes the run end with exit 1.
   */
  readonly afterStop?: (exit: ChildExit) => Promise<StopCheck>;
}

/** What a child's afterStop found: its work done (a note may say so), or what may be missing. */
export type StopCheck =
  | { readonly ok: true; readonly note?: string }
  | { readonly ok: false; readonly problem: string; readonly hint: string };

export interface TaskContext {
  /** This task's id (`migrate:queue`), which its notes and errors name. */
  readonly taskId: TaskId;
  /** Aborted on the first failure elsewhere, or on a signal to bootseq (the reason says which). */
  readonly signal: AbortSignal;
  readonly config: Config;
  /** A line for the operator under this task; redacted before any reporter sees it. */
  note(level: NoteLevel, text: string, hint?: string): void;
  /** The task's outcome in a few words (`2 applied (sqlx)`, `7 gates passed`), shown beside it in a terminal. */
  summarize(text: string): void;
  /** Runs a command to completion; throws TaskFailedError on a non-zero exit or abort. */
  run(command: CommandSpec): Promise<void>;
  /** Starts a long-running child whose output becomes this task's output (loads the spawner first). */
  start(command: CommandSpec): Promise<Child>;
  /**
   * Stops a child this task started and has not kept: the signal bootseq received when the run was
   * interrupted (so the child sees what the operator sent), else SIGTERM; SIGKILL after `graceMs`
   * (default `shutdown.grace`).
   */
  stop(child: Child, graceMs?: number): Promise<ChildExit>;
  /** Hands a started child to the supervisor, which stops it in order at shutdown (and restarts it by `restart`). */
  keep(child: Child, role: 'replication' | 'process', options?: KeepOptions): void;
  /** Records a fact for the run report under this task (gates, checks). */
  record(key: string, value: unknown): void;
  /**
   * Work that goes on after the task has finished (waiting for the replication lease). When shutdown
   * begins the supervisor aborts `signal` and waits for the job before stopping anything; a job that
   * fails ends supervision as a crash would.
   */
  background(job: (signal: AbortSignal) => Promise<void>): void;
  /** Lets status and health read what this task measures from now on (replicate: each store's lag). */
  expose(views: LiveViews): void;
}

/** One sqlite store's replication as this bootseq measures it right now (docs/litestream.md Q9). */
export interface StoreReplicationView {
  readonly store: string;
  /** Litestream's current generation of the store, null before its first. */
  readonly generation: string | null;
  /** When the last change reached every replica (Litestream's `wal segment written`), if seen. */
  readonly lastSyncMs: number | undefined;
  /** How long the oldest local change not yet in every replica has waited; 0 when caught up. */
  readonly lagMs: number;
  /** Whether each replica can restore the current generation (docs/litestream.md Q12), when checked. */
  readonly replicas?: readonly ReplicaRestorabilityView[];
}

/** One replica of a store: can a restore from it work now? */
export interface ReplicaRestorabilityView {
  readonly name: string;
  /** null until checked (or while Litestream cannot be asked). */
  readonly restorable: boolean | null;
  /** Why not, in a few words (`its snapshot is gone`); null while restorable. */
  readonly reason: string | null;
  /** How many times its current generation was found unrestorable since bootseq started. */
  readonly unrestorableTotal: number;
}

/** Who replicates the sqlite stores, and how far behind each one is. */
export interface ReplicationView {
  /** `waiting`: another bootseq on the same files holds the replication lease (a rolling deploy). */
  readonly role: 'replicating' | 'waiting';
  readonly holder?: string;
  /** Measured only while this bootseq replicates; empty while it waits. */
  readonly stores: readonly StoreReplicationView[];
}

/** What a task lets `bootseq status`, /readyz and /metrics read while the run goes on (read-only views). */
export interface LiveViews {
  readonly replication?: () => ReplicationView;
  /** The processes' liveness checks (start: one view of every process that has one). */
  readonly liveness?: () => readonly LivenessView[];
}

/** One process's liveness check as it stands (issue 30). */
export interface LivenessView {
  readonly process: string;
  /** `http http://127.0.0.1:3000/up every 10s`, secrets redacted. */
  readonly check: string;
  /** `probing`; `waiting-ready`: a restarted process has not passed its ready check yet. */
  readonly state: 'probing' | 'waiting-ready';
  /** Failed checks in a row now (a passing check resets it). */
  readonly consecutiveFailures: number;
  /** Every failed check since bootseq started. */
  readonly failuresTotal: number;
  /** Times the process was stopped for failing `failures` checks in a row. */
  readonly restartsTotal: number;
  readonly lastFailure: { readonly atMs: number; readonly reason: string } | undefined;
  readonly lastOkMs: number | undefined;
}

export interface TaskSpec {
  readonly id: TaskId;
  readonly phase: PhaseName;
  readonly target: string;
  readonly after: readonly TaskId[];
  /** One line for `bootseq plan`, secrets redacted. */
  readonly describe: string;
  /**
   * The task starts a child that the supervisor keeps (Litestream, a process): the runner loads the
   * spawner as the run begins, overlapping the tasks before it, instead of when the child starts.
   */
  readonly keepsChild?: boolean;
  run(ctx: TaskContext): Promise<void>;
}

/**
 * A task as the kernel hands it around (the context, the supervisor, events): its id and the phase
 * and target it was built from, so nothing needs to split the id to know them.
 */
export type TaskRef = Pick<TaskSpec, 'id' | 'phase' | 'target'>;

export interface Phase {
  readonly name: PhaseName;
  tasks(config: Config): readonly TaskSpec[];
}
