// docs/incidents.md (seeds/002) as a regression test: no replica, four stores created by their migrations,
// then Litestream. Its output must hold no `_litestream_seq` error, every database must have a generation in
// the replica, and rows written through the web process are in a restore made after shutdown.

import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { READY, processesIn } from '../helpers/project.js';
import { countRows, replicaHasBackup, restoreCopy } from '../helpers/sqlite.js';

const STORES = ['primary', 'queue', 'cache', 'cable'] as const;

describe('seeds/002: replication starts only after every store is migrated', () => {
  test('fresh boot, writes through web, SIGTERM, restore has every row', async ({ project }) => {
    const boot = project.start(['up']);
    await boot.waitForLine(READY);
    const notes = 25;
    for (let i = 0; i < notes; i += 1) {
      const response = await fetch(`http://127.0.0.1:${project.port}/notes`, {
        method: 'POST',
        body: `note ${i}`,
      });
      expect(response.status).toBe(201);
    }
    // The worker turns each note's job into a cache entry and a cable message.
    await expect
      .poll(() => countRows(project.path('.demo/storage/cable.sqlite3'), 'cable_messages'), {
        timeout: 15_000,
      })
      .toBe(notes);

    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode).toBe(0);
    expect(result.output).not.toMatch(/_litestream_seq/);
    expect(result.output).not.toMatch(/level=ERROR/);
    expect(processesIn(project.dir)).toEqual([]);

    // A generation (v0.3) or LTX files (v0.5) in each replica.
    for (const store of STORES)
      expect(replicaHasBackup(project.path('.demo/replica', store)), `backup of ${store}`).toBe(true);
    const restored = (store: string) =>
      restoreCopy(
        project.dir,
        `.demo/storage/${store}.sqlite3`,
        project.path('restored', `${store}.sqlite3`),
      );
    expect(countRows(restored('primary'), 'notes')).toBe(notes);
    expect(countRows(restored('queue'), 'jobs')).toBe(notes);
    expect(countRows(restored('cache'), 'cache_entries')).toBe(notes);
    expect(countRows(restored('cable'), 'cable_messages')).toBe(notes);
  });

  test('the run report shows migrate → replicate → worker → web for every store', async ({ project }) => {
    const result = await project.run(['up', '--until', 'ready']);
    expect(result.exitCode).toBe(0);
    const report = project.report();
    const task = (id: string) => {
      const t = report.tasks.find((x) => x.id === id);
      if (!t) throw new Error(`no task ${id} in the report`);
      return t;
    };
    const replicate = task('replicate');
    const worker = task('start:worker');
    const web = task('start:web');
    for (const store of STORES) {
      const migrate = task(`migrate:${store}`);
      const verify = task(`verify:${store}`);
      expect(migrate.status).toBe('ok');
      expect(migrate.ended_at_ms).not.toBeNull();
      expect(migrate.ended_at_ms as number).toBeLessThanOrEqual(verify.started_at_ms as number);
      expect(verify.ended_at_ms as number).toBeLessThanOrEqual(replicate.started_at_ms as number);
    }
    expect(replicate.ended_at_ms as number).toBeLessThanOrEqual(worker.started_at_ms as number);
    expect(worker.ended_at_ms as number).toBeLessThanOrEqual(web.started_at_ms as number);
    // Shutdown order: web, worker, then Litestream last.
    expect(report.shutdown.map((s) => s.task)).toEqual(['start:web', 'start:worker', 'replicate']);
    expect(report.exit_code).toBe(0);
  });
});
