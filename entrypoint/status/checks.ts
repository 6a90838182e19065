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

type Labels = Record<string, string>;

/** What metrics.ts defines a metric with (its gauge and total helpers), as checkMetrics needs them. */
export interface MetricDefiners<S> {
  gauge(
    name: string,
    help: string,
    labelNames: string[],
    collect: (g: { set(labels: Labels, value: number): void }) => void,
  ): unknown;
  total(name: string, help: string, labelNames: string[], values: () => [Labels, number][]): unknown;
  read(): S;
}

/** The liveness and heartbeat metrics, read from the same snapshot as every other one. */
export function checkMetrics(
  m: MetricDefiners<{
    readonly processes: readonly { readonly name: string; readonly liveness: LivenessStatus | null }[];
    readonly health: { readonly heartbeat?: HeartbeatStatus | null };
    readonly rehearsal?: RehearsalStatus | null;
  }>,
): void {
  m.gauge(
    'bootseq_rehearsal_last_success_timestamp_seconds',
    'When a scheduled restore rehearsal (rehearse:) last passed: every store restored, migrated and verified (Unix time)',
    [],
    (g) => {
      const last = m.read().rehearsal?.last_success;
      if (last) g.set({}, Date.parse(last) / 1000);
    },
  );
  m.gauge(
    'bootseq_rehearsal_duration_seconds',
    'How long the last scheduled restore rehearsal took',
    [],
    (g) => {
      const ms = m.read().rehearsal?.last_duration_ms;
      if (ms !== null && ms !== undefined) g.set({}, ms / 1000);
    },
  );
  m.total(
    'bootseq_rehearsal_failures_total',
    'Scheduled restore rehearsals that failed since bootseq started',
    [],
    () => {
      const r = m.read().rehearsal;
      return r ? [[{}, r.failures_total]] : [];
    },
  );
  const watched = () =>
    m.read().processes.flatMap((p) => (p.liveness ? [{ name: p.name, ...p.liveness }] : []));
  m.total(
    'bootseq_liveness_failures_total',
    'Failed liveness checks of the process since bootseq started (processes.NAME.liveness)',
    ['process'],
    () => watched().map((p) => [{ process: p.name }, p.failures_total]),
  );
  m.total(
    'bootseq_liveness_restarts_total',
    'Times the process was stopped for failing its liveness check `failures` times in a row',
    ['process'],
    () => watched().map((p) => [{ process: p.name }, p.restarts_total]),
  );
  m.gauge(
    'bootseq_heartbeat_last_success_timestamp_seconds',
    'When the dead-man heartbeat URL (health.heartbeat) last answered 2xx (Unix time)',
    [],
    (g) => {
      const last = m.read().health.heartbeat?.last_success;
      if (last) g.set({}, Date.parse(last) / 1000);
    },
  );
  m.total(
    'bootseq_heartbeat_failures_total',
    'Calls to the dead-man heartbeat URL that failed (no 2xx answer) since bootseq started',
    [],
    () => {
      const beat = m.read().health.heartbeat;
      return beat ? [[{}, beat.failures_total]] : [];
    },
  );
}

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
