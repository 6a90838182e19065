// `bootseq rehearse --into DIR`: restores real data from the replica into DIR, migrates and verifies
// the copies, and leaves the live files' and the replica's bytes unchanged.

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { setKeys } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { READY, processesIn } from '../helpers/project.js';
import { countRows } from '../helpers/sqlite.js';
import { treeDigest } from '../helpers/tree.js';

describe('bootseq rehearse', () => {
  test('copies restored, migrated and verified in DIR; live files and replica untouched', async ({
    project,
  }) => {
    const boot = project.start(['up']);
    await boot.waitForLine(READY);
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
    setKeys(project, ['stores', 'queue', 'require'], { tables: '[jobs, missing_table]' });
    const failing = await project.run(['rehearse', '--into', 'rehearsal-2']);
    expect(failing.exitCode).toBe(1);
    expect(failing.output).toContain('[verify:queue] error: FAIL table missing_table: missing');
    const refused = await project.run(['rehearse', '--into', 'rehearsal']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--into rehearsal is not empty');
  });
});

describe('bootseq rehearse with a postgres store', () => {
  test('baseline dump and migrations rehearsed in a scratch database that is dropped; live untouched', async ({
    project,
    database,
  }) => {
    project.write({
      'bootseq.yml': `version: 1
stores:
  app:
    postgres: \${DATABASE_URL}
    restore: { dump: db/baseline.sql }
    migrate: { dir: db/flyway, history: flyway, baseline: "1" }
    require: { tables: [accounts, audit] }
backup: { postgres: false } # no pg_dump for the embedded PostgreSQL 17 here; see backup-postgres.test.ts
report: { dir: .bootseq/runs }
`,
      'db/baseline.sql':
        "CREATE TABLE accounts (id INT PRIMARY KEY, name TEXT);\nINSERT INTO accounts VALUES (1, 'a');\n",
      'db/flyway/V2__audit.sql': 'CREATE TABLE audit (id INT);\n',
    });
    const env = { DATABASE_URL: database.url };
    expect((await project.run(['up', '--until', 'verify'], env)).exitCode).toBe(0);
    await database.query("INSERT INTO accounts VALUES (2, 'live only')");
    project.write({ 'db/flyway/V3__audit_at.sql': 'ALTER TABLE audit ADD COLUMN at TIMESTAMPTZ;\n' });
    const scratchNames = async () =>
      (
        await database.query<{ datname: string }>(
          "SELECT datname FROM pg_database WHERE datname LIKE 'bootseq_rehearsal_%'",
        )
      ).map((r) => r.datname);
    const before = await scratchNames();

    const result = await project.run(['rehearse', '--into', 'rehearsal'], env);
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(result.output).toMatch(
      /\[restore:app\] applied db\/baseline\.sql to the empty database .*\/bootseq_rehearsal_app_/,
    );
    expect(result.output).toContain('[migrate:app] applied V3__audit_at.sql');
    expect(await scratchNames()).toEqual(before);
    // The live database did not get V3 and kept its own rows.
    expect(await database.query('SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 2 }]);
    expect(
      await database.query("SELECT count(*)::int AS n FROM flyway_schema_history WHERE version = '3'"),
    ).toEqual([{ n: 0 }]);
    expect(result.output).not.toContain(new URL(database.url).password);
  });
});
