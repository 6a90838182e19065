// What the running bootseq knows about itself right now, as one snapshot: the boot (from the event
// stream), the kept children (from the supervisor), each store's replication (from what the replicate
// task exposes), and the health verdict. `bootseq status`, /readyz and /metrics all read this one
// snapshot, so they never disagree. Reads only; changes nothing it looks at.

import { elapsed } from '../../core/format.js';
import type { BootEvent, TaskStatus } from '../../core/events.js';
import type { KeptView } from '../../core/supervisor/index.js';
import type { Config } from '../../config/schema.js';
import {
  taskId,
  type LiveViews,
  type LivenessView,
  type ReplicationView,
  type TaskId,
} from '../../core/task.js';
import {
  livenessStatus,
  withRehearsal,
  type HeartbeatStatus,
  type LivenessStatus,
  type RehearsalStatus,
} from './checks.js';

export type BootState = 'booting' | 'ready' | 'failed' | 'shutting-down';

/** The JSON `bootseq status --json` prints and the control socket's `/status` answers. */
export interface StatusSnapshot {
  readonly bootseq: {
    readonly pid: number;
    readonly version: string;
    readonly command: string;
    readonly config: string;
    readonly started_at: string;
  };
  readonly boot: {
    readonly state: BootState;
    readonly ready_at: string | null;
    /** From bootseq's start to ready (or until now while booting). */
    readonly duration_ms: number;
    /** The tasks running now (while booting). */
    readonly running: readonly string[];
    readonly tasks: readonly {
      readonly id: string;
      /** The task's phase, as the plan named it (the label /metrics gives its duration). */
      readonly phase: string;
      readonly status: TaskStatus | 'pending' | 'running';
      readonly duration_ms: number | null;
    }[];
    /** Each phase's wall-clock span: its first task's start to its last task's end (tasks run in parallel). */
    readonly phases: readonly { readonly phase: string; readonly duration_ms: number }[];
  };
  readonly processes: readonly {
    readonly name: string;
    readonly pid: number | null;
    readonly ready: boolean;
    readonly restarts: number;
    readonly uptime_ms: number | null;
    /** Its liveness check (processes.NAME.liveness), null without one (entrypoint/status/checks.ts). */
    readonly liveness: LivenessStatus | null;
  }[];
  /** null when no store is replicated by Litestream. */
  readonly litestream: {
    readonly pid: number | null;
    readonly up: boolean;
    readonly restarts: number;
    readonly uptime_ms: number | null;
  } | null;
  /** The replication lease (sqlite stores): this bootseq replicates, or waits for `holder`. */
  readonly lease: { readonly role: ReplicationView['role']; readonly holder: string | null } | null;
  readonly stores: readonly {
    readonly name: string;
    readonly kind: 'sqlite' | 'postgres';
    readonly generation: string | null;
    /** When the last change reached every replica (ISO time), null until seen or when not replicated here. */
    readonly last_sync: string | null;
    /** How long the oldest change not yet in every replica has waited; 0 caught up; null: not measured here. */
    readonly lag_ms: number | null;
    /** Every replica can restore the current generation (docs/litestream.md Q12); null: not checked yet. */
    readonly restorable: boolean | null;
    readonly replicas: readonly {
      readonly name: string;
      readonly restorable: boolean | null;
      /** Why not (`its snapshot is gone`); null while restorable or unchecked. */
      readonly reason: string | null;
      /** How many times the current generation was found unrestorable since bootseq started. */
      readonly unrestorable_total: number;
    }[];
  }[];
  readonly health: {
    readonly status: 'healthy' | 'degraded';
    /** Each failing check in one line; empty when healthy. */
    readonly problems: readonly string[];
    /** Replication trouble that does not fail readiness (health.ready_requires_replication: false). */
    readonly warnings: readonly string[];
    readonly max_lag_ms: number;
    readonly ready_requires_replication: boolean;
    /** The dead-man heartbeat (health.heartbeat): null when none is configured (checks.ts). */
    readonly heartbeat?: HeartbeatStatus | null;
  };
  /** Where /livez, /readyz and /metrics answer, when health.listen is set. */
  readonly health_url: string | null;
  /** Scheduled restore rehearsals (`rehearse:`), null when not configured (checks.ts). */
  readonly rehearsal?: RehearsalStatus | null;
}

export interface LiveOptions {
  readonly config: Config;
  readonly command: string;
  readonly version: string;
  /** The supervisor's kept children, read at each snapshot. */
  readonly kept: () => readonly KeptView[];
  readonly now?: () => number;
}

interface TaskState {
  /** From the plan; a task the plan did not list counts as a phase of its own. */
  phase: string;
  status: TaskStatus | 'pending' | 'running';
  startedAtMs: number | undefined;
  endedAtMs: number | undefined;
  durationMs: number | null;
}

/** What the live state has followed so far: the boot from its events, and what tasks exposed. */
interface Followed {
  readonly startedAtMs: number;
  readonly tasks: Map<TaskId, TaskState>;
  readyAtMs: number | undefined;
  failed: boolean;
  shuttingDown: boolean;
  healthUrl: string | null;
  views: LiveViews;
  /** The heartbeat's and the scheduled rehearsals' state (checks.ts), when configured. */
  heartbeat: (() => HeartbeatStatus) | undefined;
  rehearsal: (() => RehearsalStatus) | undefined;
}

export function createLiveState(options: LiveOptions) {
  const now = options.now ?? Date.now;
  const followed: Followed = {
    startedAtMs: now(),
    tasks: new Map(),
    readyAtMs: undefined,
    failed: false,
    shuttingDown: false,
    healthUrl: null,
    views: {},
    heartbeat: undefined,
    rehearsal: undefined,
  };
  return {
    /** Follows the run through its events (the same stream the log renders). */
    observe(event: BootEvent): void {
      observe(followed, event, now);
    },
    /** A task's views (replicate: each store's lag), read at every snapshot from now on. */
    expose(more: LiveViews): void {
      followed.views = { ...followed.views, ...more };
    },
    shuttingDown(): void {
      followed.shuttingDown = true;
    },
    setHealthUrl(url: string): void {
      followed.healthUrl = url;
    },
    /** The scheduled rehearsals' state (entrypoint/commands/rehearsals.ts), read at every snapshot. */
    setRehearsal(view: () => RehearsalStatus): void {
      followed.rehearsal = view;
    },
    /** The heartbeat's state (entrypoint/status/heartbeat.ts), read at every snapshot. */
    setHeartbeat(view: () => HeartbeatStatus): void {
      followed.heartbeat = view;
    },
    snapshot(): StatusSnapshot {
      return snapshotOf(followed, options, now());
    },
  };
}

function observe(followed: Followed, event: BootEvent, now: () => number): void {
  const { tasks } = followed;
  if (event.event === 'plan') {
    for (const t of event.tasks)
      tasks.set(t.id, {
        phase: t.phase,
        status: 'pending',
        startedAtMs: undefined,
        endedAtMs: undefined,
        durationMs: null,
      });
  } else if (event.event === 'task-start') {
    tasks.set(event.task, {
      phase: tasks.get(event.task)?.phase ?? event.task,
      status: 'running',
      startedAtMs: now(),
      endedAtMs: undefined,
      durationMs: null,
    });
  } else if (event.event === 'task-end') {
    const planned = tasks.get(event.task);
    tasks.set(event.task, {
      phase: planned?.phase ?? event.task,
      status: event.status,
      startedAtMs: planned?.startedAtMs,
      endedAtMs: now(),
      durationMs: event.duration_ms,
    });
    if (event.status === 'failed') followed.failed = true;
  } else if (event.event === 'ready') {
    followed.readyAtMs = now();
  }
}

function bootState(followed: Followed): BootState {
  if (followed.shuttingDown) return 'shutting-down';
  if (followed.failed) return 'failed';
  return followed.readyAtMs !== undefined ? 'ready' : 'booting';
}

function snapshotOf(followed: Followed, options: LiveOptions, at: number): StatusSnapshot {
  const { config } = options;
  const { startedAtMs, readyAtMs, tasks } = followed;
  const kept = options.kept();
  const taskList = [...tasks].map(([id, t]) => ({
    id,
    phase: t.phase,
    status: t.status,
    duration_ms: t.durationMs,
  }));
  const replication = followed.views.replication?.();
  const snapshot = {
    bootseq: {
      pid: process.pid,
      version: options.version,
      command: options.command,
      config: config.file,
      started_at: new Date(startedAtMs).toISOString(),
    },
    boot: {
      state: bootState(followed),
      ready_at: readyAtMs === undefined ? null : new Date(readyAtMs).toISOString(),
      duration_ms: (readyAtMs ?? at) - startedAtMs,
      running: taskList.filter((t) => t.status === 'running').map((t) => t.id),
      tasks: taskList,
      phases: phaseSpans(tasks),
    },
    processes: processesOf(config, kept, tasks, at, followed.views.liveness?.() ?? []),
    litestream: litestreamOf(config, kept, at),
    lease: replication ? { role: replication.role, holder: replication.holder ?? null } : null,
    stores: storesOf(config, replication),
    health_url: followed.healthUrl,
  };
  const rehearsal = followed.rehearsal?.() ?? null;
  const judged = withRehearsal(judgeHealth(snapshot, config.health), rehearsal);
  return { ...snapshot, rehearsal, health: { ...judged, heartbeat: followed.heartbeat?.() ?? null } };
}

/** Each process: its start task's kept child (`start:NAME`), ready once that task passed and it runs. */
function processesOf(
  config: Config,
  kept: readonly KeptView[],
  tasks: ReadonlyMap<TaskId, TaskState>,
  at: number,
  livenessViews: readonly LivenessView[],
): StatusSnapshot['processes'] {
  return config.processes.map((p) => {
    const id = taskId('start', p.name);
    const child = kept.find((k) => k.role === 'process' && k.taskId === id);
    const started = tasks.get(id)?.status === 'ok';
    const liveness = livenessStatus(livenessViews.find((l) => l.process === p.name));
    return {
      name: p.name,
      pid: child?.pid ?? null,
      // A restarted process is ready again once it passed its ready check (known where liveness follows it).
      ready: started && child !== undefined && child.up && liveness?.state !== 'waiting-ready',
      restarts: child?.restarts ?? 0,
      uptime_ms: child?.up ? at - child.startedAtMs : null,
      liveness,
    };
  });
}

/** The Litestream this bootseq runs; null when no store is replicated by it. */
function litestreamOf(config: Config, kept: readonly KeptView[], at: number): StatusSnapshot['litestream'] {
  const sqlite = config.stores.some((s) => s.kind === 'sqlite') && config.litestream !== undefined;
  if (!sqlite) return null;
  const replicator = kept.find((k) => k.role === 'replication');
  return {
    pid: replicator?.pid ?? null,
    up: replicator?.up ?? false,
    restarts: replicator?.restarts ?? 0,
    uptime_ms: replicator?.up ? at - replicator.startedAtMs : null,
  };
}

/** Each store, with what the replicate task measures of it (nothing while it is not replicated here). */
function storesOf(config: Config, replication: ReplicationView | undefined): StatusSnapshot['stores'] {
  const measured = new Map(replication?.stores.map((s) => [s.store, s]));
  return config.stores.map((s) => {
    const m = measured.get(s.name);
    const replicas = (m?.replicas ?? []).map((r) => ({
      name: r.name,
      restorable: r.restorable,
      reason: r.reason,
      unrestorable_total: r.unrestorableTotal,
    }));
    return {
      name: s.name,
      kind: s.kind,
      generation: m?.generation ?? null,
      last_sync: m?.lastSyncMs === undefined ? null : new Date(m.lastSyncMs).toISOString(),
      lag_ms: m ? Math.round(m.lagMs) : null,
      restorable: replicas.some((r) => r.restorable === false)
        ? false
        : replicas.length > 0 && replicas.every((r) => r.restorable === true)
          ? true
          : null,
      replicas,
    };
  });
}

export type LiveState = ReturnType<typeof createLiveState>;

/**
 * Healthy: booted, every process ready, Litestream up where this bootseq replicates, every store's
 * lag under max_lag, and no replica known to be unrestorable. While another bootseq holds the
 * replication lease (a rolling deploy), this one is healthy without a Litestream of its own: its app
 * must take traffic for the old one to stop. With `health.ready_requires_replication: false` the
 * replication checks (Litestream up, lag, restorable) are warnings, not problems.
 */
export function judgeHealth(
  s: Omit<StatusSnapshot, 'health'>,
  health: { readonly maxLagMs: number; readonly readyRequiresReplication: boolean },
): StatusSnapshot['health'] {
  const { maxLagMs, readyRequiresReplication } = health;
  const problems: string[] = [];
  const replication: string[] = [];
  if (s.boot.state === 'booting')
    problems.push(`booting${s.boot.running.length ? `: ${s.boot.running.join(', ')} running` : ''}`);
  else if (s.boot.state === 'failed') problems.push('the boot failed: shutting down');
  else if (s.boot.state === 'shutting-down') problems.push('shutting down');
  if (s.boot.state === 'ready') {
    for (const p of s.processes)
      if (!p.ready)
        problems.push(`process ${p.name} is not ready (${p.pid === null ? 'not running' : 'restarting'})`);
    if (s.litestream && !s.litestream.up && s.lease?.role !== 'waiting')
      replication.push(`litestream is down${s.litestream.pid === null ? '' : ' (restarting)'}`);
  }
  for (const store of s.stores)
    if (store.lag_ms !== null && store.lag_ms > maxLagMs)
      replication.push(
        `store ${store.name}: a change has waited ${elapsed(store.lag_ms)} for the replica (health.max_lag ${elapsed(maxLagMs)})`,
      );
  for (const store of s.stores)
    for (const r of store.replicas)
      if (r.restorable === false)
        replication.push(
          `store ${store.name}: the replica "${r.name}" cannot be restored (${r.reason ?? 'no snapshot'}); litestream is restarted to write a new snapshot`,
        );
  if (readyRequiresReplication) problems.push(...replication);
  return {
    status: problems.length === 0 ? 'healthy' : 'degraded',
    problems,
    warnings: readyRequiresReplication ? [] : replication,
    max_lag_ms: maxLagMs,
    ready_requires_replication: readyRequiresReplication,
  };
}

function phaseSpans(tasks: ReadonlyMap<TaskId, TaskState>): { phase: string; duration_ms: number }[] {
  const spans = new Map<string, { from: number; to: number }>();
  for (const t of tasks.values()) {
    if (t.startedAtMs === undefined || t.endedAtMs === undefined) continue;
    const phase = t.phase;
    const span = spans.get(phase);
    spans.set(phase, {
      from: Math.min(span?.from ?? Infinity, t.startedAtMs),
      to: Math.max(span?.to ?? -Infinity, t.endedAtMs),
    });
  }
  return [...spans].map(([phase, { from, to }]) => ({ phase, duration_ms: to - from }));
}
