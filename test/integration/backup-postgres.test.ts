// Before the built-in migrator changes a postgres store it takes a pg_dump -Fc backup; `bootseq restore
// --from-backup` puts it back by restoring into a new database and swapping the names, keeping the
// current one aside. Runs on Debian's PostgreSQL 15, whose version the machine's pg_dump matches.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { startPostgres15, type Postgres15 } from '../helpers/postgres15.js';

let server: Postgres15;
beforeAll(async () => {
  server = await startPostgres15();
});
afterAll(async () => {
  await server?.stop();
});

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('postgres backups before migrating', () => {
  test('pg_dump -Fc before a change, and the rollback swaps databases without losing one', async ({
    project,
  }) => {
    await query(server.url, 'CREATE DATABASE app');
    const url = server.url.replace(/\/postgres$/, '/app');
    project.write({
      'bootseq.yml': `version: 1
stores:
  app:
    postgres: \${APP_URL}
    restore: { dump: db/baseline.sql }
    migrate: { dir: db/flyway, history: flyway, baseline: "1" }
report: { dir: .bootseq/runs }
`,
      'db/baseline.sql':
        "CREATE TABLE accounts (id INT PRIMARY KEY, name TEXT);\nINSERT INTO accounts VALUES (1, 'baseline');\n",
      'db/flyway/V2__audit.sql': 'CREATE TABLE audit (id INT);\n',
    });
    const env = { APP_URL: url };
    const first = await project.run(['migrate'], env);
    expect(first.exitCode, first.output.slice(-2000)).toBe(0);
    const task = project.report().tasks.find((t) => t.id === 'migrate:app') as unknown as {
      backup: { path: string; bytes: number };
    };
    expect(task.backup.path).toMatch(/\.bootseq\/runs\/backups\/app\/\d{4}-.*Z\.dump$/);
    expect(fs.readFileSync(task.backup.path).subarray(0, 5).toString()).toBe('PGDMP');
    const listing = execFileSync('pg_restore', ['-l', task.backup.path], { encoding: 'utf8' });
    expect(listing).toContain('TABLE public accounts');
    expect(listing).not.toContain('flyway_schema_history'); // taken before the history table was written
    expect(listing).not.toContain('audit');

    // Nothing pending: no second backup.
    expect((await project.run(['migrate'], env)).exitCode).toBe(0);
    expect(project.report().tasks.find((t) => t.id === 'migrate:app')).not.toHaveProperty('backup');

    await query(url, "INSERT INTO accounts VALUES (2, 'after the migration')");
    const rollback = await project.run(['restore', '--from-backup', task.backup.path, 'app'], env);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    const aside = /kept as (app_before_restore_\w+)/.exec(rollback.output)?.[1];
    expect(aside).toBeDefined();
    expect(await query(url, 'SELECT id, name FROM accounts ORDER BY id')).toEqual([
      { id: 1, name: 'baseline' },
    ]);
    expect(await query(url, "SELECT to_regclass('audit') AS t")).toEqual([{ t: null }]);
    const kept = server.url.replace(/\/postgres$/, `/${aside}`);
    expect(await query(kept, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 2 }]);

    // Refused while anything else is connected.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      const refused = await project.run(['restore', '--from-backup', task.backup.path, 'app'], env);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/has 1 other session\(s\) \(backend pid \d+\); nothing was changed/);
    } finally {
      await holder.end();
    }
  });
});

describe('rehearse from the newest postgres backup', () => {
  test('the scratch database gets the newest pg_dump backup, then the migrations', async ({ project }) => {
    await query(server.url, 'CREATE DATABASE shop');
    const url = server.url.replace(/\/postgres$/, '/shop');
    await query(url, 'CREATE TABLE orders (id INT PRIMARY KEY); INSERT INTO orders VALUES (1), (2), (3);');
    project.write({
      'bootseq.yml': `version: 1
stores:
  shop:
    postgres: \${SHOP_URL}
    migrate: { dir: db/flyway, history: flyway, baseline: "1" }
    require: { tables: [orders, refunds] }
report: { dir: .bootseq/runs }
`,
      'db/flyway/V2__refunds.sql': 'CREATE TABLE refunds (id INT);\n',
    });
    const env = { SHOP_URL: url };
    expect((await project.run(['migrate'], env)).exitCode).toBe(0); // takes the backup (3 orders, no refunds)
    await query(url, 'INSERT INTO orders VALUES (4)');
    project.write({ 'db/flyway/V3__refund_reason.sql': 'ALTER TABLE refunds ADD COLUMN reason TEXT;\n' });
    const result = await project.run(['rehearse', '--into', 'drill'], env);
    expect(result.exitCode, result.output.slice(-2500)).toBe(0);
    expect(result.output).toMatch(
      /\[restore:shop\] applied \.bootseq\/runs\/backups\/shop\/.*\.dump to the empty database .*bootseq_rehearsal_shop_.* \(pg_restore\)/,
    );
    expect(result.output).toContain('[migrate:shop] applied V2__refunds.sql');
    expect(result.output).toContain('[migrate:shop] applied V3__refund_reason.sql');
    // Live: untouched by the rehearsal (V3 not applied there), scratch dropped.
    expect(
      await query(url, "SELECT count(*)::int AS n FROM flyway_schema_history WHERE version = '3'"),
    ).toEqual([{ n: 0 }]);
    expect(
      await query(server.url, "SELECT datname FROM pg_database WHERE datname LIKE 'bootseq_rehearsal_%'"),
    ).toEqual([]);
  });
});
