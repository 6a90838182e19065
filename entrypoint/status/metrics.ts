// /metrics in the Prometheus text format, through prom-client (loaded on the first scrape, so a
// bootseq that is never scraped never loads it). Every value is read from the live snapshot at
// scrape time; nothing is counted twice or kept apart from it.

import type { StatusSnapshot } from './live.js';

export interface Metrics {
  readonly contentType: string;
  render(): Promise<string>;
}

export async function createMetrics(snapshot: () => StatusSnapshot): Promise<Metrics> {
  const loaded = await import('prom-client');
  // prom-client is CommonJS: Node names its exports, the bundle (scripts/build.mjs) puts them on default.
  const { Registry, Gauge, Counter } = (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
  const registry = new Registry();
  // One snapshot per scrape: every collect() below reads the same moment.
  let current: StatusSnapshot | undefined;
  const read = () => (current ??= snapshot());

  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    collect: (g: InstanceType<typeof Gauge>) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect(this);
      },
    });
  /** A counter whose value is a total the supervisor keeps: set to it at each scrape. */
  const total = (
    name: string,
    help: string,
    labelNames: string[],
    values: () => [Record<string, string>, number][],
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of values()) this.inc(labels, value);
      },
    });

  gauge(
    'bootseq_replication_lag_seconds',
    'How long the oldest local change not yet in every replica has waited (0: caught up)',
    ['store'],
    (g) => {
      for (const s of read().stores) if (s.lag_ms !== null) g.set({ store: s.name }, s.lag_ms / 1000);
    },
  );
  gauge(
    'bootseq_last_sync_timestamp_seconds',
    'When the last change reached every replica of the store (Unix time)',
    ['store'],
    (g) => {
      for (const s of read().stores)
        if (s.last_sync !== null) g.set({ store: s.name }, Date.parse(s.last_sync) / 1000);
    },
  );
  gauge(
    'bootseq_replica_unrestorable',
    "1 while the replica cannot restore the store's current generation (its snapshot or the start of its WAL is gone), else 0",
    ['store', 'replica'],
    (g) => {
      for (const s of read().stores)
        for (const r of s.replicas)
          if (r.restorable !== null) g.set({ store: s.name, replica: r.name }, r.restorable ? 0 : 1);
    },
  );
  total(
    'bootseq_replica_unrestorable_total',
    "Times the replica was found unable to restore the store's current generation since bootseq started",
    ['store', 'replica'],
    () =>
      read().stores.flatMap((s) =>
        s.replicas.map((r): [Record<string, string>, number] => [
          { store: s.name, replica: r.name },
          r.unrestorable_total,
        ]),
      ),
  );
  gauge(
    'bootseq_litestream_up',
    '1 while the Litestream this bootseq runs is replicating (or another bootseq holds the replication lease), else 0',
    [],
    (g) => {
      const s = read();
      if (s.litestream) g.set(s.litestream.up || s.lease?.role === 'waiting' ? 1 : 0);
    },
  );
  total('bootseq_litestream_restarts_total', 'Restarts of Litestream since bootseq started', [], () => {
    const l = read().litestream;
    return l ? [[{}, l.restarts]] : [];
  });
  gauge('bootseq_process_up', '1 while the process is running and ready, else 0', ['process'], (g) => {
    for (const p of read().processes) g.set({ process: p.name }, p.ready ? 1 : 0);
  });
  total('bootseq_process_restarts_total', 'Restarts of the process since bootseq started', ['process'], () =>
    read().processes.map((p) => [{ process: p.name }, p.restarts]),
  );
  gauge('bootseq_ready', '1 once the boot is done and every check of /readyz passes, else 0', [], (g) => {
    g.set(read().health.status === 'healthy' ? 1 : 0);
  });
  gauge('bootseq_boot_duration_seconds', 'From bootseq start to ready (grows while booting)', [], (g) => {
    g.set(read().boot.duration_ms / 1000);
  });
  gauge(
    'bootseq_task_duration_seconds',
    'How long each boot task took (restore:primary, migrate:queue, replicate, start:web…)',
    ['task', 'phase'],
    (g) => {
      for (const t of read().boot.tasks)
        if (t.duration_ms !== null) g.set({ task: t.id, phase: t.phase }, t.duration_ms / 1000);
    },
  );
  gauge(
    'bootseq_phase_duration_seconds',
    "How long each boot phase took: its first task's start to its last task's end",
    ['phase'],
    (g) => {
      for (const p of read().boot.phases) g.set({ phase: p.phase }, p.duration_ms / 1000);
    },
  );

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
