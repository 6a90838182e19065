// The live snapshot and its verdict, from events, kept children and the replication view, with a
// fake clock: what /readyz, /metrics and `bootseq status` all read.

import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../config/load.js';
import type { KeptView } from '../../../core/supervisor/index.js';
import type { ReplicationView } from '../../../core/task.js';
import { createLiveState, judgeHealth } from '../../../entrypoint/status/live.js';
import { renderStatus } from '../../../entrypoint/status/render.js';

const LITESTREAM_YML = 'dbs:\n  - path: a.sqlite3\n    replicas:\n      - path: rep/a\n';
const config = (() => {
  const result = parseConfig(
    [
      'version: 1',
      'litestream: { config: litestream.yml, bin: /bin/litestream }',
      'stores: { a: { sqlite: a.sqlite3 } }',
      'processes: { worker: { command: w }, web: { command: x } }',
      'health: { max_lag: 10s }',
    ].join('\n'),
    {
      file: 'bootseq.yml',
      dir: '/p',
      env: { PATH: '/bin' },
      fs: {
        readFile: (f) => (f === '/p/litestream.yml' ? LITESTREAM_YML : undefined),
        exists: (f) => f === '/p/litestream.yml',
        isDirectory: () => false,
        isExecutable: () => true,
        versionOf: () => 'v0.3.13',
      },
    },
  );
  if (!result.config) throw new Error(JSON.stringify(result.issues));
  return result.config;
})();

/** The tasks of a boot: id, phase, target. */
const PLANNED = [
  ['restore:a', 'restore', 'a'],
  ['replicate', 'replicate', 'litestream'],
  ['start:worker', 'start', 'worker'],
  ['start:web', 'start', 'web'],
] as const;

function setup() {
  let now = 1_000_000;
  const kept: KeptView[] = [];
  const live = createLiveState({ config, command: 'up', version: '0.1.0', kept: () => kept, now: () => now });
  let replication: ReplicationView = { role: 'replicating', stores: [] };
  const boot = () => {
    live.observe({
      event: 'plan',
      tasks: PLANNED.map(([id, phase, target]) => ({ id, phase, target, after: [], describe: id })),
    });
    for (const id of ['restore:a', 'replicate', 'start:worker', 'start:web']) {
      live.observe({ event: 'task-start', task: id });
      now += 100;
      live.observe({ event: 'task-end', task: id, status: 'ok', duration_ms: 100 });
    }
    kept.push(
      {
        taskId: 'replicate',
        role: 'replication',
        pid: 10,
        up: true,
        restarting: false,
        restarts: 0,
        startedAtMs: now,
      },
      {
        taskId: 'start:worker',
        role: 'process',
        pid: 11,
        up: true,
        restarting: false,
        restarts: 0,
        startedAtMs: now,
      },
      {
        taskId: 'start:web',
        role: 'process',
        pid: 12,
        up: true,
        restarting: false,
        restarts: 2,
        startedAtMs: now,
      },
    );
    live.expose({ replication: () => replication });
    replication = {
      role: 'replicating',
      stores: [{ store: 'a', generation: 'abcd', lastSyncMs: now, lagMs: 0 }],
    };
    live.observe({ event: 'ready', processes: ['worker', 'web'], addresses: {}, duration_ms: 400 });
  };
  return {
    live,
    kept,
    boot,
    advance: (ms: number) => (now += ms),
    setReplication: (r: ReplicationView) => (replication = r),
  };
}

describe('the live snapshot', () => {
  test('while booting: degraded, naming what runs; nothing started yet has no pid', () => {
    const t = setup();
    t.live.observe({
      event: 'plan',
      tasks: [{ id: 'restore:a', phase: 'restore', target: 'a', after: [], describe: '' }],
    });
    t.live.observe({ event: 'task-start', task: 'restore:a' });
    const s = t.live.snapshot();
    expect(s.boot.state).toBe('booting');
    expect(s.health).toEqual({
      status: 'degraded',
      problems: ['booting: restore:a running'],
      warnings: [],
      max_lag_ms: 10_000,
      ready_requires_replication: true,
      heartbeat: null,
    });
    expect(s.processes).toEqual([
      { name: 'worker', pid: null, ready: false, restarts: 0, uptime_ms: null, liveness: null },
      { name: 'web', pid: null, ready: false, restarts: 0, uptime_ms: null, liveness: null },
    ]);
    expect(s.stores).toEqual([
      {
        name: 'a',
        kind: 'sqlite',
        generation: null,
        last_sync: null,
        lag_ms: null,
        restorable: null,
        replicas: [],
      },
    ]);
  });

  test('booted: healthy, with pids, restarts, uptime, generation, last sync and phase spans', () => {
    const t = setup();
    t.boot();
    t.advance(5000);
    const s = t.live.snapshot();
    expect(s.health.status).toBe('healthy');
    expect(s.boot.state).toBe('ready');
    expect(s.boot.duration_ms).toBe(400);
    expect(s.boot.phases).toEqual([
      { phase: 'restore', duration_ms: 100 },
      { phase: 'replicate', duration_ms: 100 },
      { phase: 'start', duration_ms: 200 },
    ]);
    expect(s.processes[1]).toEqual({
      name: 'web',
      pid: 12,
      ready: true,
      restarts: 2,
      uptime_ms: 5000,
      liveness: null,
    });
    expect(s.litestream).toEqual({ pid: 10, up: true, restarts: 0, uptime_ms: 5000 });
    expect(s.lease).toEqual({ role: 'replicating', holder: null });
    expect(s.stores[0]).toMatchObject({ generation: 'abcd', lag_ms: 0 });
    expect(Date.parse(s.stores[0]!.last_sync!)).toBe(1_000_400);
  });

  test('degraded by each check: lag past max_lag, a process restarting, litestream down', () => {
    const t = setup();
    t.boot();
    t.setReplication({
      role: 'replicating',
      stores: [{ store: 'a', generation: 'abcd', lastSyncMs: 1, lagMs: 10_001 }],
    });
    expect(t.live.snapshot().health.problems).toEqual([
      'store a: a change has waited 10 s for the replica (health.max_lag 10 s)',
    ]);
    t.setReplication({
      role: 'replicating',
      stores: [{ store: 'a', generation: 'abcd', lastSyncMs: 1, lagMs: 10_000 }],
    });
    expect(t.live.snapshot().health.status).toBe('healthy');
    t.kept[2] = { ...t.kept[2]!, up: false, restarting: true };
    t.kept[0] = { ...t.kept[0]!, up: false, restarting: true };
    expect(t.live.snapshot().health.problems).toEqual([
      'process web is not ready (restarting)',
      'litestream is down (restarting)',
    ]);
  });

  test('health.ready_requires_replication: false: lag and Litestream down are warnings, a process not ready still fails', () => {
    const t = setup();
    t.boot();
    t.setReplication({
      role: 'replicating',
      stores: [{ store: 'a', generation: 'abcd', lastSyncMs: 1, lagMs: 60_000 }],
    });
    t.kept[0] = { ...t.kept[0]!, up: false, restarting: true };
    const lenient = { maxLagMs: 10_000, readyRequiresReplication: false };
    const health = judgeHealth(t.live.snapshot(), lenient);
    expect(health).toMatchObject({ status: 'healthy', problems: [], ready_requires_replication: false });
    expect(health.warnings).toEqual([
      'litestream is down (restarting)',
      'store a: a change has waited 60 s for the replica (health.max_lag 10 s)',
    ]);
    expect(renderStatus({ ...t.live.snapshot(), health })).toContain(
      '! store a: a change has waited 60 s for the replica (health.max_lag 10 s) (not failing',
    );
    t.kept[2] = { ...t.kept[2]!, up: false, restarting: true };
    expect(judgeHealth(t.live.snapshot(), lenient).problems).toEqual([
      'process web is not ready (restarting)',
    ]);
    // The default: the same snapshot fails on all three.
    expect(t.live.snapshot().health.problems).toHaveLength(3);
  });

  test('a replica that cannot be restored: degraded, in status and in its words, until checked again', () => {
    const t = setup();
    t.boot();
    const replica = (restorable: boolean | null, total: number) => ({
      name: 'file',
      restorable,
      reason: restorable === false ? 'its snapshot is gone' : null,
      unrestorableTotal: total,
    });
    const view = (r: ReturnType<typeof replica>) =>
      t.setReplication({
        role: 'replicating',
        stores: [{ store: 'a', generation: 'abcd', lastSyncMs: 1, lagMs: 0, replicas: [r] }],
      });
    view(replica(null, 0));
    expect(t.live.snapshot().stores[0]).toMatchObject({ restorable: null });
    expect(t.live.snapshot().health.status).toBe('healthy');
    view(replica(false, 1));
    const s = t.live.snapshot();
    expect(s.stores[0]).toMatchObject({
      restorable: false,
      replicas: [{ name: 'file', restorable: false, reason: 'its snapshot is gone', unrestorable_total: 1 }],
    });
    expect(s.health.problems).toEqual([
      'store a: the replica "file" cannot be restored (its snapshot is gone); litestream is restarted to write a new snapshot',
    ]);
    expect(renderStatus(s)).toMatch(/^a +sqlite +abcd .* NO: file \(its snapshot is gone\)$/m);
    view(replica(true, 1));
    expect(t.live.snapshot().stores[0]).toMatchObject({ restorable: true });
    expect(t.live.snapshot().health.status).toBe('healthy');
    expect(renderStatus(t.live.snapshot())).toMatch(/^a +sqlite +abcd .* yes$/m);
  });

  test('waiting for the replication lease (rolling deploy): healthy without a Litestream of its own', () => {
    const t = setup();
    t.boot();
    t.kept.splice(0, 1);
    t.setReplication({ role: 'waiting', holder: 'bootseq pid 7', stores: [] });
    const s = t.live.snapshot();
    expect(s.health.status).toBe('healthy');
    expect(s.litestream).toEqual({ pid: null, up: false, restarts: 0, uptime_ms: null });
    expect(s.stores[0]!.lag_ms).toBeNull();
    expect(renderStatus(s)).toContain('waiting for the replication lease (held by bootseq pid 7)');
  });

  test('shutting down is not ready', () => {
    const t = setup();
    t.boot();
    t.live.shuttingDown();
    expect(t.live.snapshot().health.problems).toEqual(['shutting down']);
  });
});
