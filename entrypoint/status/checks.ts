// The checks that keep running after boot (issue 30), as status, /metrics and the run report show them:
// each process's liveness check (what phases/start/liveness.ts exposes) and the dead-man heartbeat
// (heartbeat.ts). Shapes and words only; reads what it is given and changes nothing.

import type { LivenessView } from '../../core/task.js';

/** `processes[].liveness` in `bootseq status --json`. */
export interface LivenessStatus {
  /** `http http://127.0.0.1:3000/up every 10s (timeout 5s, 3 failures)`. */
  readonly check: string;
  /** `waiting-ready`: restarted, its ready check not passed yet (the process is not ready meanwhile). */
  readonly state: LivenessView['state'];
  readonly consecutive_failures: number;
  readonly failures_total: number;
  /** Times it was stopped (to be restarted) for failing its check `failures` times in a row. */
  readonly restarts_total: number;
  readonly last_failure: { readonly at: string; readonly reason: string } | null;
  readonly last_ok: string | null;
}

/** `health.heartbeat` in `bootseq status --json`; null when no heartbeat is configured. */
export interface HeartbeatStatus {
  /** Redacted: its scheme and host (`https://hc-ping.com/***`). */
  readonly url: string;
  readonly every_ms: number;
  /** `beating` while /readyz answers 200; `paused` (no calls) while it does not. */
  readonly state: 'beating' | 'paused';
  readonly last_success: string | null;
  readonly last_failure: { readonly at: string; readonly reason: string } | null;
  /** Failed calls in a row now, and since bootseq started. */
  readonly consecutive_failures: number;
  readonly failures_total: number;
  readonly beats_total: number;
}

export function livenessStatus(view: LivenessView | undefined): LivenessStatus | null {
  if (!view) return null;
  return {
    check: view.check,
    state: view.state,
    consecutive_failures: view.consecutiveFailures,
    failures_total: view.failuresTotal,
    restarts_total: view.restartsTotal,
    last_failure: view.lastFailure
      ? { at: new Date(view.lastFailure.atMs).toISOString(), reason: view.lastFailure.reason }
      : null,
    last_ok: view.lastOkMs === undefined ? null : new Date(view.lastOkMs).toISOString(),
  };
}

/** The run report's `checks` section: what an on-call reader looks for after the fact. */
export function checksReport(s: {
  readonly processes: readonly { readonly name: string; readonly liveness: LivenessStatus | null }[];
  readonly health: { readonly heartbeat?: HeartbeatStatus | null };
  readonly rehearsal?: RehearsalStatus | null;
}):
  | { liveness: unknown[]; heartbeat: HeartbeatStatus | null; rehearsal: RehearsalStatus | null }
  | undefined {
  const liveness = s.processes.flatMap((p) => (p.liveness ? [{ process: p.name, ...p.liveness }] : []));
  const heartbeat = s.health.heartbeat ?? null;
  const rehearsal = s.rehearsal ?? null;
  if (liveness.length === 0 && heartbeat === null && rehearsal === null) return undefined;
  return { liveness, heartbeat, rehearsal };
}

/** One sample: its labels and its value (metrics.ts's shape). */
type Sample = [Record<string, string>, number];

/** What the checks' metrics read of the snapshot. */
interface ChecksSnapshot {
  readonly processes: readonly { readonly name: string; readonly liveness: LivenessStatus | null }[];
  readonly health: { readonly heartbeat?: HeartbeatStatus | null };
  readonly rehearsal?: RehearsalStatus | null;
}

/** A metric as metrics.ts registers it: a `gauge` set to its samples, a `total` a counter set to a total. */
interface CheckMetric {
  readonly kind: 'gauge' | 'total';
  readonly name: string;
  readonly help: string;
  readonly labels: string[];
  readonly samples: (s: ChecksSnapshot) => Sample[];
}

const watched = (s: ChecksSnapshot) =>
  s.processes.flatMap((p) => (p.liveness ? [{ name: p.name, ...p.liveness }] : []));
const at = (iso: string | null | undefined): Sample[] => (iso ? [[{}, Date.parse(iso) / 1000]] : []);

/** The liveness, heartbeat and rehearsal metrics, read from the same snapshot as every other one. */
export const CHECK_METRICS: readonly CheckMetric[] = [
  {
    kind: 'total',
    name: 'bootseq_liveness_failures_total',
    help: 'Failed liveness checks of the process since bootseq started (processes.NAME.liveness)',
    labels: ['process'],
    samples: (s) => watched(s).map((p): Sample => [{ process: p.name }, p.failures_total]),
  },
  {
    kind: 'total',
    name: 'bootseq_liveness_restarts_total',
    help: 'Times the process was stopped for failing its liveness check `failures` times in a row',
    labels: ['process'],
    samples: (s) => watched(s).map((p): Sample => [{ process: p.name }, p.restarts_total]),
  },
  {
    kind: 'gauge',
    name: 'bootseq_heartbeat_last_success_timestamp_seconds',
    help: 'When the dead-man heartbeat URL (health.heartbeat) last answered 2xx (Unix time)',
    labels: [],
    samples: (s) => at(s.health.heartbeat?.last_success),
  },
  {
    kind: 'total',
    name: 'bootseq_heartbeat_failures_total',
    help: 'Calls to the dead-man heartbeat URL that failed (no 2xx answer) since bootseq started',
    labels: [],
    samples: (s) => (s.health.heartbeat ? [[{}, s.health.heartbeat.failures_total]] : []),
  },
  {
    kind: 'gauge',
    name: 'bootseq_rehearsal_last_success_timestamp_seconds',
    help: 'When a scheduled restore rehearsal (rehearse:) last passed: every store restored, migrated and verified (Unix time)',
    labels: [],
    samples: (s) => at(s.rehearsal?.last_success),
  },
  {
    kind: 'gauge',
    name: 'bootseq_rehearsal_duration_seconds',
    help: 'How long the last scheduled restore rehearsal took',
    labels: [],
    samples: (s) =>
      s.rehearsal?.last_duration_ms == null ? [] : [[{}, s.rehearsal.last_duration_ms / 1000]],
  },
  {
    kind: 'total',
    name: 'bootseq_rehearsal_failures_total',
    help: 'Scheduled restore rehearsals that failed since bootseq started',
    labels: [],
    samples: (s) => (s.rehearsal ? [[{}, s.rehearsal.failures_total]] : []),
  },
];

/** `rehearsal` in `bootseq status --json`; null when `rehearse:` is not configured. */
export interface RehearsalStatus {
  readonly every_ms: number;
  /** `running` now, else `idle`. */
  readonly state: 'idle' | 'running';
  readonly next_at: string | null;
  readonly last_success: string | null;
  readonly last_failure: { readonly at: string; readonly reason: string } | null;
  /** How long the last finished rehearsal took. */
  readonly last_duration_ms: number | null;
  readonly runs_total: number;
  readonly failures_total: number;
  /** The last run report kept (under rehearse.into). */
  readonly last_report: string | null;
  /** rehearse.fail_ready: the last rehearsal failed, so /readyz answers 503 until one passes. */
  readonly fails_ready: boolean;
}

/** rehearse.fail_ready: the last rehearsal failed, so ready is not (a problem of its own). */
export function withRehearsal<H extends { status: 'healthy' | 'degraded'; problems: readonly string[] }>(
  health: H,
  rehearsal: RehearsalStatus | null,
): H {
  if (!rehearsal?.fails_ready || !rehearsal.last_failure) return health;
  const problem = `the last restore rehearsal failed (${rehearsal.last_failure.reason}); rehearse.fail_ready holds /readyz until one passes`;
  return { ...health, status: 'degraded', problems: [...health.problems, problem] };
}
