// Issue 24, "restorable, not just written" (docs/litestream.md Q12): a file replica's directory deleted
// while the demo runs under writes. Litestream itself says nothing and keeps writing WAL segments into a
// generation that has lost its snapshot; bootseq must notice, say so (log, status, /readyz, /metrics),
// restart Litestream in a new generation, and then a real `litestream restore` must bring back every
// note. Deleted right before shutdown, the run must end with exit 1 and say why.

import fs from 'node:fs';
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect } from 'vitest';
import { setKeys, useLitestream } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { postNotes } from '../helpers/notes.js';
import { READY, type TmpProject, pidOf, processesIn } from '../helpers/project.js';
import { countRows, restoreCopy } from '../helpers/sqlite.js';

interface Snapshot {
  litestream: { pid: number | null; up: boolean; restarts: number };
  stores: {
    name: string;
    generation: string | null;
    restorable: boolean | null;
    replicas: {
      name: string;
      restorable: boolean | null;
      reason: string | null;
      unrestorable_total: number;
    }[];
  }[];
  health: { status: string; problems: string[] };
}

/**
 * Adds keys to the demo's `litestream:` section of bootseq.yml, and makes ready require replication
 * (the demo, one instance, does not: health.ready_requires_replication), so that an unrestorable
 * replica is a problem here, not a warning.
 */
function useChecks(project: TmpProject, keys: Record<string, string>): void {
  useLitestream(project, keys);
  setKeys(project, ['health'], { ready_requires_replication: true });
}

async function status(project: TmpProject): Promise<Snapshot> {
  const r = await project.run(['status', '--json']);
  expect([0, 1], r.output).toContain(r.exitCode);
  return JSON.parse(r.output) as Snapshot;
}

/** Litestream's own words when `litestream restore` of the store fails ('' when it works). */
function restoreError(project: TmpProject, store: string): string {
  try {
    restoreCopy(project.dir, `.demo/storage/${store}.sqlite3`, project.path(`${store}-failed.sqlite3`));
    return '';
  } catch (error) {
    // Litestream logs its ERROR on stdout.
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    return `${String(stdout ?? '')}${String(stderr ?? '')}` || String(error);
  }
}

/**
 * What bootseq says about a replica that lost its start, per Litestream version: v0.3 judges the
 * current generation's snapshot listing, v0.5 `restore -dry-run` (docs/litestream-v05.md I).
 */
const V05 = litestreamSeries() === '0.5';
const GONE = V05
  ? {
      reason: 'it holds no complete chain of LTX files from a snapshot',
      finding:
        /cannot be restored: it holds no complete chain of LTX files from a snapshot \(litestream restore -dry-run: no matching backup files available\)/,
    }
  : {
      reason: 'its snapshot is gone',
      finding: /cannot be restored: its snapshot is gone \(generation [0-9a-f]{16} has no snapshot in it\)/,
    };
const regex = (prefix: string, re: RegExp) => new RegExp(`${prefix}${re.source}`);

const primaryOf = (s: Snapshot) => s.stores.find((st) => st.name === 'primary')!;

async function metric(base: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const family = parsePrometheus(text).find((m) => m.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) throw new Error(`no ${name}${JSON.stringify(labels)} in:\n${text}`);
  return Number(sample.value);
}

describe('a replica that can no longer be restored', () => {
  test('its directory deleted under writes: reported, Litestream restarted in a new generation, every note restorable', async ({
    project,
  }) => {
    // A 1 s check, and a 6 s restart backoff so that the unrestorable state lasts long enough to be seen.
    useChecks(project, { snapshot_check: '1s', backoff: '6s' });
    const boot = project.start(['up', '--log-format', 'plain']);
    const line = await boot.waitForLine(/health on http:\/\/127\.0\.0\.1:\d+/);
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0];
    await boot.waitForLine(READY);
    const first = pidOf(project.report(), 'replicate');
    await postNotes(project.port, 20, 'note', 0);
    // The first check comes one interval after the takeover.
    await expect.poll(async () => primaryOf(await status(project)).restorable, { timeout: 5000 }).toBe(true);
    const before = primaryOf(await status(project));
    expect(before.replicas).toEqual([
      { name: 'file', restorable: true, reason: null, unrestorable_total: 0 },
    ]);

    fs.rmSync(project.path('.demo/replica/primary'), { recursive: true, force: true });
    await postNotes(project.port, 20, 'note', 20);

    await boot.waitForLine(regex('the replica "file" of primary ', GONE.finding), 15_000);
    // Until the restarted Litestream's new generation is checked, status, /readyz and /metrics say so.
    await expect.poll(async () => primaryOf(await status(project)).restorable, { timeout: 5000 }).toBe(false);
    const degraded = await status(project);
    expect(degraded.health.status).toBe('degraded');
    expect(degraded.health.problems).toContain(
      `store primary: the replica "file" cannot be restored (${GONE.reason}); litestream is restarted to write a new snapshot`,
    );
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('store primary: the replica "file" cannot be restored');
    expect(await metric(base, 'bootseq_replica_unrestorable', { store: 'primary', replica: 'file' })).toBe(1);
    expect(await metric(base, 'bootseq_replica_unrestorable', { store: 'queue', replica: 'file' })).toBe(0);

    await boot.waitForLine(/litestream has taken over primary, queue, cache, cable again/, 30_000);
    await expect
      .poll(async () => primaryOf(await status(project)).restorable, { timeout: 10_000 })
      .toBe(true);
    const after = await status(project);
    expect(after.health.status).toBe('healthy');
    expect(after.litestream.restarts).toBe(1);
    expect(after.litestream.pid).not.toBe(first);
    // v0.3 starts a new generation; v0.5 has one chain (`ltx`) and writes a new snapshot in it.
    if (V05) expect(primaryOf(after).generation).toBe('ltx');
    else expect(primaryOf(after).generation).not.toBe(before.generation);
    expect(primaryOf(after).replicas).toEqual([
      { name: 'file', restorable: true, reason: null, unrestorable_total: 1 },
    ]);
    expect(
      await metric(base, 'bootseq_replica_unrestorable_total', { store: 'primary', replica: 'file' }),
    ).toBe(1);
    expect(await metric(base, 'bootseq_replica_unrestorable', { store: 'primary', replica: 'file' })).toBe(0);
    await boot.waitForLine(
      V05
        ? /the replica "file" of primary can be restored again$/m
        : /the replica "file" of primary can be restored again \(generation [0-9a-f]{16}\)/,
    );

    await postNotes(project.port, 10, 'note', 40);
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(result.output).toContain("litestream's final sync put every store's last writes in the replica");
    // The real restore, of the replica as it is now: every note, those written before the delete too.
    const copy = restoreCopy(project.dir, '.demo/storage/primary.sqlite3', project.path('restored.sqlite3'));
    expect(countRows(copy, 'notes')).toBe(50);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('deleted, then Litestream restarted before any check: v0.3 (same generation, the WAL start gone) caught and renewed; v0.5 restorable again by its own new snapshot', async ({
    project,
  }) => {
    // docs/litestream.md Q12: a v0.3 restart in the same generation writes a snapshot, and the restore
    // still fails (`missing initial wal segment`). Only the WAL listing after each takeover can tell.
    // docs/litestream-v05.md I2: a v0.5 restart finds no snapshot at its TXID and writes one.
    useChecks(project, { snapshot_check: V05 ? '1s' : '5s' });
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    const first = pidOf(project.report(), 'replicate');
    await postNotes(project.port, 20, 'note', 0);
    // Gone, and at once a restart (as an operator or a crash would): before any check could see it.
    fs.rmSync(project.path('.demo/replica/primary'), { recursive: true, force: true });
    process.kill(first, 'SIGTERM');
    await boot.waitForLine(/litestream has taken over primary, queue, cache, cable again/, 30_000);
    await postNotes(project.port, 20, 'note', 20);
    if (V05) {
      // Checked every second from the takeover on: restorable each time, never a finding.
      await expect
        .poll(async () => primaryOf(await status(project)).restorable, { timeout: 10_000 })
        .toBe(true);
    } else {
      await boot.waitForLine(
        /the replica "file" of primary cannot be restored: the start of its WAL is gone \(generation ([0-9a-f]{16})'s WAL index 00000000 begins at offset [1-9]\d*, not 0\)/,
        20_000,
      );
      await boot.waitForLine(/the replica "file" of primary can be restored again/, 30_000);
    }
    await postNotes(project.port, 10, 'note', 40);
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(result.output).not.toMatch(V05 ? /cannot be restored/ : /its snapshot is gone/);
    const copy = restoreCopy(project.dir, '.demo/storage/primary.sqlite3', project.path('restored.sqlite3'));
    expect(countRows(copy, 'notes')).toBe(50);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('its directory deleted right before shutdown: exit 1, and the verdict says the replica cannot be restored', async ({
    project,
  }) => {
    // The default check interval (30 s) does not come round in this test: only shutdown's check can tell.
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    await postNotes(project.port, 10, 'note', 0);
    fs.rmSync(project.path('.demo/replica/queue'), { recursive: true, force: true });
    await postNotes(project.port, 10, 'note', 10);
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.output).not.toContain("final sync put every store's last writes in the replica");
    expect(result.output).toMatch(
      regex('replication did not complete at shutdown: the replica "file" of queue ', GONE.finding),
    );
    expect(result.output).toMatch(
      /Try: start bootseq again: litestream then starts over with a new snapshot/,
    );
    expect(processesIn(project.dir)).toEqual([]);
    // As the verdict says: a restore from it fails now.
    // Litestream's own words: v0.5 has L0 files again but no level-9 snapshot (docs/litestream-v05.md I2).
    expect(restoreError(project, 'queue')).toMatch(
      litestreamSeries() === '0.5' ? /no matching backup files available/ : /no snapshots available/,
    );

    // What the hint says: started again, the replica can restore queue.
    const again = project.start(['up', '--log-format', 'plain']);
    await again.waitForLine(READY);
    // v0.3 writes the new generation's snapshot before its takeover; v0.5 writes its level-9 snapshot
    // a moment after (docs/litestream-v05.md I2), and a shutdown before it would rightly say exit 1.
    if (V05) await again.waitForLine(/msg="snapshot complete" system=store db=queue\.sqlite3/, 15_000);
    process.kill(again.pid, 'SIGTERM');
    const second = await again.done;
    expect(second.exitCode, second.output.slice(-3000)).toBe(0);
    const copy = restoreCopy(project.dir, '.demo/storage/queue.sqlite3', project.path('queue-2.sqlite3'));
    expect(countRows(copy, 'jobs')).toBe(countRows(project.path('.demo/storage/queue.sqlite3'), 'jobs'));
    expect(processesIn(project.dir)).toEqual([]);
  });
});
