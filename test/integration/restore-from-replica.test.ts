// With a replica present and the local databases deleted, `bootseq up --until verify` brings all four
// back from the replica with the same rows, and starts neither Litestream nor the processes.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { READY, processesIn } from '../helpers/project.js';
import { countRows } from '../helpers/sqlite.js';

const TABLES = { primary: 'notes', queue: 'jobs', cache: 'cache_entries', cable: 'cable_messages' } as const;

describe('restore from the replica', () => {
  test('deleted databases come back with the same row counts', async ({ project }) => {
    const boot = project.start(['up']);
    await boot.waitForLine(READY);
    for (let i = 0; i < 12; i += 1) {
      expect(
        (await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: `n${i}` })).status,
      ).toBe(201);
    }
    await expect
      .poll(() => countRows(project.path('.demo/storage/cable.sqlite3'), 'cable_messages'), {
        timeout: 15_000,
      })
      .toBe(12);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);

    const before = Object.fromEntries(
      Object.entries(TABLES).map(([store, table]) => [
        store,
        countRows(project.path(`.demo/storage/${store}.sqlite3`), table),
      ]),
    );
    expect(before).toEqual({ primary: 12, queue: 12, cache: 12, cable: 12 });
    fs.rmSync(project.path('.demo/storage'), { recursive: true });

    const result = await project.run(['up', '--until', 'verify']);
    expect(result.exitCode, result.output).toBe(0);
    const after = Object.fromEntries(
      Object.entries(TABLES).map(([store, table]) => [
        store,
        countRows(project.path(`.demo/storage/${store}.sqlite3`), table),
      ]),
    );
    expect(after).toEqual(before);

    const report = project.report();
    for (const store of Object.keys(TABLES)) {
      const restore = report.tasks.find((t) => t.id === `restore:${store}`);
      expect(restore?.status).toBe('ok');
      expect(restore?.['restored']).toBe(true);
    }
    expect(report.tasks.map((t) => t.id)).not.toContain('replicate');
    expect(report.tasks.some((t) => t.id.startsWith('start:'))).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
