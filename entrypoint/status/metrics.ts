// /metrics in the Prometheus text format, through prom-client (loaded on the first scrape, so a
// bootseq that is never scraped never loads it). Every value is read from the live snapshot at
// scrape time; nothing is counted twice or kept apart from it.

import { CHECK_METRICS } from './checks.js';
import type { StatusSnapshot } from './live.js';

export interface Metrics {
  readonly contentType: string;
  render(): Promise<string>;
}

/** One sample: its labels and its value. */
type Sample = [Record<string, string>, number];

/**
 * One metric and how its samples are read from the snapshot. A `gauge` is set to them; a `total` is
 * a counter set to a total the supervisor keeps.
 */
interface MetricSpec {
  readonly kind: 'gauge' | 'total';
  readonly name: string;
  readonly help: string;
  readonly labels: string[];
  readonly samples: (s: StatusSnapshot) => Sample[];
}

type Store = StatusSnapshot['stores'][number];

/** A sample for each store with a value (null: none, as for a store not replicated here). */
function perStore(s: StatusSnapshot, value: (store: Store) => number | null): Sample[] {
  return s.stores.flatMap((st): Sample[] => {
    const v = value(st);
    return v === null ? [] : [[{ store: st.name }, v]];
  });
}

/** A sample for each replica of every store with a value (null: not checked yet). */
function perReplica(
  s: StatusSnapshot,
  value: (replica: Store['replicas'][number]) => number | null,
): Sample[] {
  return s.stores.flatMap((st) =>
    st.replicas.flatMap((r): Sample[] => {
      const v = value(r);
      return v === null ? [] : [[{ store: st.name, replica: r.name }, v]];
    }),
  );
}

const METRICS: readonly MetricSpec[] = [
  {
    kind: 'gauge',
    name: 'bootseq_replication_lag_seconds',
    help: 'How long the oldest local change not yet in every replica has waited (0: caught up)',
    labels: ['store'],
    samples: (s) => perStore(s, (st) => (st.lag_ms === null ? null : st.lag_ms / 1000)),
  },
  {
    kind: 'gauge',
    name: 'bootseq_last_sync_timestamp_seconds',
    help: 'When the last change reached every replica of the store (Unix time)',
    labels: ['store'],
    samples: (s) => perStore(s, (st) => (st.last_sync === null ? null : Date.parse(st.last_sync) / 1000)),
  },
  {
    kind: 'gauge',
    name: 'bootseq_replica_unrestorable',
    help: "1 while the replica cannot restore the store's current generation (its snapshot or the start of its WAL is gone), else 0",
    labels: ['store', 'replica'],
    samples: (s) => perReplica(s, (r) => (r.restorable === null ? null : r.restorable ? 0 : 1)),
  },
  {
    kind: 'total',
    name: 'bootseq_replica_unrestorable_total',
    help: "Times the replica was found unable to restore the store's current generation since bootseq started",
    labels: ['store', 'replica'],
    samples: (s) => perReplica(s, (r) => r.unrestorable_total),
  },
  {
    kind: 'gauge',
    name: 'bootseq_litestream_up',
    help: '1 while the Litestream this bootseq runs is replicating (or another bootseq holds the replication lease), else 0',
    labels: [],
    samples: (s) => (s.litestream ? [[{}, s.litestream.up || s.lease?.role === 'waiting' ? 1 : 0]] : []),
  },
  {
    kind: 'total',
    name: 'bootseq_litestream_restarts_total',
    help: 'Restarts of Litestream since bootseq started',
    labels: [],
    samples: (s) => (s.litestream ? [[{}, s.litestream.restarts]] : []),
  },
  {
    kind: 'gauge',
    name: 'bootseq_process_up',
    help: '1 while the process is running and ready, else 0',
    labels: ['process'],
    samples: (s) => s.processes.map((p): Sample => [{ process: p.name }, p.ready ? 1 : 0]),
  },
  {
    kind: 'total',
    name: 'bootseq_process_restarts_total',
    help: 'Restarts of the process since bootseq started',
    labels: ['process'],
    samples: (s) => s.processes.map((p): Sample => [{ process: p.name }, p.restarts]),
  },
  {
    kind: 'gauge',
    name: 'bootseq_ready',
    help: '1 once the boot is done and every check of /readyz passes, else 0',
    labels: [],
    samples: (s) => [[{}, s.health.status === 'healthy' ? 1 : 0]],
  },
  {
    kind: 'gauge',
    name: 'bootseq_boot_duration_seconds',
    help: 'From bootseq start to ready (grows while booting)',
    labels: [],
    samples: (s) => [[{}, s.boot.duration_ms / 1000]],
  },
  {
    kind: 'gauge',
    name: 'bootseq_task_duration_seconds',
    help: 'How long each boot task took (restore:primary, migrate:queue, replicate, start:web…)',
    labels: ['task', 'phase'],
    samples: (s) =>
      s.boot.tasks.flatMap((t): Sample[] =>
        t.duration_ms === null ? [] : [[{ task: t.id, phase: t.phase }, t.duration_ms / 1000]],
      ),
  },
  {
    kind: 'gauge',
    name: 'bootseq_phase_duration_seconds',
    help: "How long each boot phase took: its first task's start to its last task's end",
    labels: ['phase'],
    samples: (s) => s.boot.phases.map((p): Sample => [{ phase: p.phase }, p.duration_ms / 1000]),
  },
];

export async function createMetrics(snapshot: () => StatusSnapshot): Promise<Metrics> {
  const loaded = await import('prom-client');
  // prom-client is CommonJS: Node names its exports, the bundle (scripts/build.mjs) puts them on default.
  const { Registry, Gauge, Counter } = (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
  const registry = new Registry();
  // One snapshot per scrape: every collect() below reads the same moment.
  let current: StatusSnapshot | undefined;
  const read = () => (current ??= snapshot());

  // Liveness, heartbeat and rehearsals (issue 30): checks.ts.
  for (const metric of [...METRICS, ...CHECK_METRICS]) {
    const options = {
      name: metric.name,
      help: metric.help,
      labelNames: metric.labels,
      registers: [registry],
    };
    const samples = () => metric.samples(read());
    // Reset, then set to what the snapshot says: a store or process gone since the last scrape is gone.
    if (metric.kind === 'gauge')
      new Gauge({
        ...options,
        collect() {
          this.reset();
          for (const [labels, value] of samples()) this.set(labels, value);
        },
      });
    else
      new Counter({
        ...options,
        collect() {
          this.reset();
          for (const [labels, value] of samples()) this.inc(labels, value);
        },
      });
  }

  return {
    contentType: registry.contentType,
    async render() {
      current = undefined;
      try {
        return await registry.metrics();
      } finally {
        current = undefined;
      }
    },
  };
}
