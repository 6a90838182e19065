// `bootseq rehearse --into DIR`: restores real data from the replica into DIR, migrates and verifies
// the copies, and leaves the live files' and the replica's bytes unchanged.

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { processesIn } from '../helpers/project.js';
import { countRows } from '../helpers/sqlite.js';
import { treeDigest } from '../helpers/tree.js';

describe('bootseq rehearse', () => {
  test('copies restored, migrated and verified in DIR; live files and replica untouched', async ({
    project,
  }) => {
    const boot = project.start(['up']);
    await boot.waitForLine(/ready: worker, web running/);
    for (let i = 0; i < 7; i += 1)
      expect(
        (await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: `n${i}` })).status,
      ).toBe(201);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);

    project.write({
      'examples/demo/db/primary/20260102000001_add_title.sql': 'ALTER TABLE notes ADD COLUMN title TEXT;\n',
    });
    const live = treeDigest(project.path('.demo/storage'));
    const replica = treeDigest(project.path('.demo/replica'));

    const result = await project.run(['rehearse', '--into', 'rehearsal']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    const copy = project.path('rehearsal/primary.sqlite3');
    expect(countRows(copy, 'notes')).toBe(7);
    const db = new Database(copy, { readonly: true });
    const columns = (db.prepare('PRAGMA table_info(notes)').all() as { name: string }[]).map((c) => c.name);
    db.close();
    expect(columns).toContain('title');
    for (const store of ['queue', 'cache', 'cable'])
      expect(fs.existsSync(project.path(`rehearsal/${store}.sqlite3`))).toBe(true);

    expect(treeDigest(project.path('.demo/storage'))).toEqual(live);
    expect(treeDigest(project.path('.demo/replica'))).toEqual(replica);
    const reports = fs.readdirSync(project.path('rehearsal/runs'));
    expect(reports).toHaveLength(1);
    const report = JSON.parse(fs.readFileSync(project.path('rehearsal/runs', reports[0]!), 'utf8')) as {
      command: string;
      tasks: { id: string; status: string }[];
    };
    expect(report.command).toBe('rehearse');
    expect(report.tasks.filter((t) => t.status !== 'ok')).toEqual([]);
    expect(report.tasks.map((t) => t.id)).not.toContain('replicate');
    expect(processesIn(project.dir)).toEqual([]);

    // A gate that fails on the copy fails the rehearsal.
    const text = fs
      .readFileSync(project.path('bootseq.yml'), 'utf8')
      .replace('require: { tables: [jobs] }', 'require: { tables: [jobs, missing_table] }');
    project.write({ 'bootseq.yml': text });
    const failing = await project.run(['rehearse', '--into', 'rehearsal-2']);
    expect(failing.exitCode).toBe(1);
    expect(failing.output).toContain('[verify:queue] error: FAIL table missing_table: missing');
    const refused = await project.run(['rehearse', '--into', 'rehearsal']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--into rehearsal is not empty');
  });
});
