// The built-in migrator against a real PostgreSQL and real SQLite files: the history rows are what
// sqlx, Flyway and Rails write (checksums checked against independent tools: sha384sum, Python's
// zlib), drift is refused, a failing statement leaves nothing behind, concurrent migrators apply
// every migration exactly once (test/races/migrators.test.ts: eight at once, three rounds).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { APP_LITESTREAM, configFor, postgresStore, sqliteRows, sqliteStore } from '../helpers/builtin.js';
import { test } from '../helpers/fixtures.js';
import type { TmpProject } from '../helpers/project.js';
import { processesIn } from '../helpers/project.js';

/** Flyway's checksum computed by Python's zlib: an oracle independent of bootseq's code. */
function pythonFlywayChecksum(file: string): number {
  const script = [
    'import sys, zlib',
    'b = open(sys.argv[1], "rb").read()',
    'b = b[3:] if b.startswith(b"\\xef\\xbb\\xbf") else b',
    'b = b.replace(b"\\r", b"").replace(b"\\n", b"")',
    'c = zlib.crc32(b) & 0xffffffff',
    'print(c - (1 << 32) if c >= (1 << 31) else c)',
  ].join('\n');
  return Number(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }).trim());
}

function sha384sum(file: string): string {
  return execFileSync('sha384sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
}

const SQLX_FILES = {
  'db/migrations/20260115000001_create_users.sql':
    'CREATE TABLE users (\n  id BIGSERIAL PRIMARY KEY,\n  email TEXT NOT NULL UNIQUE\n);\n',
  'db/migrations/20260115000002_create_sessions.sql':
    'CREATE TABLE sessions (\n  id TEXT PRIMARY KEY,\n  user_id BIGINT NOT NULL REFERENCES users (id)\n);\r\nCREATE INDEX sessions_user_id ON sessions (user_id);\r\n',
  'db/migrations/20260116000001_add_users_name.up.sql': 'ALTER TABLE users ADD COLUMN name TEXT;\n',
  'db/migrations/20260116000001_add_users_name.down.sql': 'ALTER TABLE users DROP COLUMN name;\n',
  'db/migrations/20260117000001_index_users_email.sql':
    '-- no-transaction\nCREATE INDEX CONCURRENTLY users_email_lower ON users (lower(email));\n',
  'db/migrations/README.md': 'not a migration\n',
};

describe('sqlx history on PostgreSQL (seeds/000)', () => {
  test('checksums are SHA-384 of the files, a second run is a no-op, an edited file is refused', async ({
    project,
    database,
  }) => {
    project.write({
      'bootseq.yml': configFor(postgresStore, '{ dir: db/migrations, history: sqlx }'),
      ...SQLX_FILES,
    });
    const env = { APP_DATABASE_URL: database.url };
    const first = await project.run(['migrate'], env);
    expect(first.exitCode, first.output).toBe(0);
    expect(first.output).not.toContain('s3cret');

    const rows = await database.query<{
      version: string;
      description: string;
      success: boolean;
      checksum: Buffer;
      execution_time: string;
    }>(
      'SELECT version::text, description, success, checksum, execution_time::text FROM _sqlx_migrations ORDER BY version',
    );
    expect(rows.map((r) => [r.version, r.description, r.success])).toEqual([
      ['20260115000001', 'create users', true],
      ['20260115000002', 'create sessions', true],
      ['20260116000001', 'add users name', true],
      ['20260117000001', 'index users email', true],
    ]);
    const files = [
      '20260115000001_create_users.sql',
      '20260115000002_create_sessions.sql',
      '20260116000001_add_users_name.up.sql',
      '20260117000001_index_users_email.sql',
    ];
    rows.forEach((row, i) => {
      expect(row.checksum.length).toBe(48);
      expect(row.checksum.toString('hex')).toBe(sha384sum(project.path('db/migrations', files[i]!)));
      expect(BigInt(row.execution_time)).toBeGreaterThan(0n); // nanoseconds, updated after the commit
    });
    const columns = await database.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'email', 'name']);

    const second = await project.run(['migrate'], env);
    expect(second.exitCode).toBe(0);
    expect(second.output).toContain('0 applied, 4 in db/migrations (sqlx history in _sqlx_migrations)');

    fs.appendFileSync(
      project.path('db/migrations/20260115000001_create_users.sql'),
      '-- edited after it was applied\n',
    );
    project.write({ 'db/migrations/20260118000001_later.sql': 'CREATE TABLE later (id INT);\n' });
    const edited = await project.run(['migrate'], env);
    expect(edited.exitCode).toBe(1);
    expect(edited.stderr).toContain(
      'migration 20260115000001 (20260115000001_create_users.sql) was applied with checksum ',
    );
    expect(edited.stderr).toContain(
      `but the file's is ${sha384sum(project.path('db/migrations/20260115000001_create_users.sql'))} (VersionMismatch)`,
    );
    expect(edited.stderr).toContain('git checkout -- 20260115000001_create_users.sql');
    const later = await database.query("SELECT to_regclass('later') AS t");
    expect(later[0]?.['t']).toBeNull(); // nothing runs while the history does not match
  });

  test('a missing applied file and a dirty row are refused as sqlx refuses them', async ({
    project,
    database,
  }) => {
    project.write({
      'bootseq.yml': configFor(postgresStore, '{ dir: db/migrations, history: sqlx }'),
      'db/migrations/1_a.sql': 'CREATE TABLE a (id INT);\n',
    });
    const env = { APP_DATABASE_URL: database.url };
    expect((await project.run(['migrate'], env)).exitCode).toBe(0);
    await database.query(
      "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (7, 'seven', FALSE, '\\x00', 0)",
    );
    const result = await project.run(['migrate'], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('migration 7 is partially applied (success = false in _sqlx_migrations)');
    expect(result.stderr).toContain(
      'migration 7 was applied but its file is missing from the folder (VersionMissing)',
    );
  });
});

const FLYWAY_BASELINE_DDL = `CREATE SEQUENCE facility_num START 100;
CREATE TABLE d_document (id INT PRIMARY KEY, admflag CHAR(1));
CREATE TABLE d_audit_event (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now());
`;
const FLYWAY_FILES: Record<string, string | Buffer> = {
  'db/flyway/V2__add_user_table.sql': 'CREATE TABLE app_user (\n  id INT PRIMARY KEY\n);\n',
  'db/flyway/V3__crlf_line_endings.sql':
    'ALTER TABLE app_user ADD COLUMN email TEXT;\r\nCREATE INDEX app_user_email ON app_user (email);\r\n',
  'db/flyway/sub/V220__with_bom.sql': Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('CREATE TABLE bom_table (id INT);\n'),
  ]),
  'db/flyway/V221__cr_only.sql': 'CREATE TABLE cr_table (id INT);\rINSERT INTO cr_table VALUES (1);\r',
  'db/flyway/R__refresh_view.sql': 'CREATE OR REPLACE VIEW user_emails AS SELECT email FROM app_user;\n',
  'db/flyway/V1_5__below_baseline.sql': 'CREATE TABLE never_applied (id INT);\n',
};

describe('Flyway history', () => {
  test('baseline on a non-empty PostgreSQL database, then migrate: the rows Flyway writes', async ({
    project,
    database,
  }) => {
    await database.query(FLYWAY_BASELINE_DDL);
    project.write({
      'bootseq.yml': configFor(postgresStore, '{ dir: db/flyway, history: flyway, baseline: "0" }'),
      ...(FLYWAY_FILES as Record<string, string>),
    });
    for (const [name, content] of Object.entries(FLYWAY_FILES)) fs.writeFileSync(project.path(name), content);
    // V1_5 is above baseline 0, so it is applied too; make the baseline 1.6 to prove lower versions are skipped.
    project.write({
      'bootseq.yml': configFor(postgresStore, '{ dir: db/flyway, history: flyway, baseline: "1.6" }'),
    });
    const env = { APP_DATABASE_URL: database.url };
    const result = await project.run(['migrate'], env);
    expect(result.exitCode, result.output).toBe(0);
    const rows = await database.query<Record<string, unknown>>(
      'SELECT installed_rank, version, description, type, script, checksum, installed_by, execution_time >= 0 AS timed, success FROM flyway_schema_history ORDER BY installed_rank',
    );
    const sum = (name: string) => pythonFlywayChecksum(project.path('db/flyway', name));
    expect(rows).toEqual([
      {
        installed_rank: 1,
        version: '1.6',
        description: '<< Flyway Baseline >>',
        type: 'BASELINE',
        script: '<< Flyway Baseline >>',
        checksum: null,
        installed_by: 'postgres',
        timed: true,
        success: true,
      },
      {
        installed_rank: 2,
        version: '2',
        description: 'add user table',
        type: 'SQL',
        script: 'V2__add_user_table.sql',
        checksum: sum('V2__add_user_table.sql'),
        installed_by: 'postgres',
        timed: true,
        success: true,
      },
      {
        installed_rank: 3,
        version: '3',
        description: 'crlf line endings',
        type: 'SQL',
        script: 'V3__crlf_line_endings.sql',
        checksum: sum('V3__crlf_line_endings.sql'),
        installed_by: 'postgres',
        timed: true,
        success: true,
      },
      {
        installed_rank: 4,
        version: '220',
        description: 'with bom',
        type: 'SQL',
        script: 'sub/V220__with_bom.sql',
        checksum: sum('sub/V220__with_bom.sql'),
        installed_by: 'postgres',
        timed: true,
        success: true,
      },
      {
        installed_rank: 5,
        version: '221',
        description: 'cr only',
        type: 'SQL',
        script: 'V221__cr_only.sql',
        checksum: sum('V221__cr_only.sql'),
        installed_by: 'postgres',
        timed: true,
        success: true,
      },
      {
        installed_rank: 6,
        version: null,
        description: 'refresh view',
        type: 'SQL',
        script: 'R__refresh_view.sql',
        checksum: sum('R__refresh_view.sql'),
        installed_by: 'postgres',
        timed: true,
        success: true,
      },
    ]);
    // CRLF and LF copies share a checksum in Flyway.
    expect(sum('V3__crlf_line_endings.sql')).toBe(
      pythonFlywayChecksum(
        writeTemp(
          project,
          'lf.sql',
          'ALTER TABLE app_user ADD COLUMN email TEXT;\nCREATE INDEX app_user_email ON app_user (email);\n',
        ),
      ),
    );
    expect(await database.query("SELECT to_regclass('never_applied') AS t")).toEqual([{ t: null }]);
    const constraints = await database.query<{ conname: string }>(
      "SELECT conname FROM pg_constraint WHERE conrelid = 'flyway_schema_history'::regclass",
    );
    expect(constraints.map((c) => c.conname)).toEqual(['flyway_schema_history_pk']);

    const again = await project.run(['migrate'], env);
    expect(again.exitCode).toBe(0);
    expect(await database.query('SELECT count(*)::int AS n FROM flyway_schema_history')).toEqual([{ n: 6 }]);

    fs.writeFileSync(
      project.path('db/flyway/R__refresh_view.sql'),
      'CREATE OR REPLACE VIEW user_emails AS SELECT id, email FROM app_user;\n',
    );
    project.write({ 'db/flyway/V2_5__late.sql': 'CREATE TABLE late (id INT);\n' });
    const outOfOrder = await project.run(['migrate'], env);
    expect(outOfOrder.exitCode).toBe(1);
    expect(outOfOrder.stderr).toContain(
      'Detected resolved migration not applied to database: 2.5 (V2_5__late.sql) is older than the newest applied version 221; set migrate.out_of_order: true',
    );
  });

  test('a non-empty database without baseline is refused; an edited file is a checksum mismatch', async ({
    project,
    database,
  }) => {
    await database.query('CREATE TABLE existing (id INT);');
    project.write({
      'bootseq.yml': configFor(postgresStore, '{ dir: db/flyway, history: flyway }'),
      'db/flyway/V1__a.sql': 'CREATE TABLE a (id INT);\n',
    });
    const env = { APP_DATABASE_URL: database.url };
    const refused = await project.run(['migrate'], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      'the database has tables but no flyway_schema_history; Flyway refuses to migrate it. Set migrate.baseline',
    );
    await database.query('DROP TABLE existing;');
    expect((await project.run(['migrate'], env)).exitCode).toBe(0);
    const before = pythonFlywayChecksum(project.path('db/flyway/V1__a.sql'));
    project.write({ 'db/flyway/V1__a.sql': 'CREATE TABLE a (id BIGINT);\n' });
    const mismatch = await project.run(['migrate'], env);
    expect(mismatch.exitCode).toBe(1);
    expect(mismatch.stderr).toContain(
      `Migration checksum mismatch for migration version 1 (V1__a.sql) -> Applied to database : ${before} -> Resolved locally : ${pythonFlywayChecksum(project.path('db/flyway/V1__a.sql'))}`,
    );
  });

  test('on SQLite: the table, the rows, installed_by empty', async ({ project }) => {
    project.write({
      'litestream.yml': APP_LITESTREAM,
      'bootseq.yml': configFor(sqliteStore, '{ dir: db/flyway, history: flyway }'),
      'db/flyway/V1__first.sql': 'CREATE TABLE first (id INTEGER);\r\n',
      'db/flyway/V2__second.sql': 'CREATE TABLE second (id INTEGER);\n',
    });
    fs.mkdirSync(project.path('data'));
    const result = await project.run(['migrate']);
    expect(result.exitCode, result.output).toBe(0);
    expect(
      sqliteRows(
        project,
        'SELECT installed_rank, version, description, type, script, checksum, installed_by, success FROM flyway_schema_history ORDER BY installed_rank',
      ),
    ).toEqual([
      {
        installed_rank: 1,
        version: '1',
        description: 'first',
        type: 'SQL',
        script: 'V1__first.sql',
        checksum: pythonFlywayChecksum(project.path('db/flyway/V1__first.sql')),
        installed_by: '',
        success: 1,
      },
      {
        installed_rank: 2,
        version: '2',
        description: 'second',
        type: 'SQL',
        script: 'V2__second.sql',
        checksum: pythonFlywayChecksum(project.path('db/flyway/V2__second.sql')),
        installed_by: '',
        success: 1,
      },
    ]);
    const ddl = sqliteRows<{ sql: string }>(
      project,
      "SELECT sql FROM sqlite_master WHERE name = 'flyway_schema_history'",
    )[0]?.sql;
    expect(ddl).toContain(`"installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now'))`);
  });
});

function writeTemp(project: TmpProject, name: string, content: string): string {
  project.write({ [name]: content });
  return project.path(name);
}

describe('Rails history', () => {
  const files = {
    'db/migrate/20240101120000_create_posts.sql':
      'CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);\n',
    'db/migrate/20240102080000_add_body.sql': 'ALTER TABLE posts ADD COLUMN body TEXT;\n',
  };

  test('on SQLite: schema_migrations and ar_internal_metadata as Rails leaves them', async ({ project }) => {
    project.write({
      'litestream.yml': APP_LITESTREAM,
      'bootseq.yml': configFor(sqliteStore, '{ dir: db/migrate, history: rails }'),
      ...files,
    });
    fs.mkdirSync(project.path('data'));
    const result = await project.run(['migrate'], { RAILS_ENV: 'production' });
    expect(result.exitCode, result.output).toBe(0);
    expect(sqliteRows(project, 'SELECT version FROM schema_migrations ORDER BY version')).toEqual([
      { version: '20240101120000' },
      { version: '20240102080000' },
    ]);
    const meta = sqliteRows<{ key: string; value: string; created_at: string }>(
      project,
      'SELECT key, value, created_at FROM ar_internal_metadata',
    );
    expect(meta.map((m) => [m.key, m.value])).toEqual([['environment', 'production']]);
    expect(meta[0]?.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    const ddl = sqliteRows<{ sql: string }>(
      project,
      "SELECT sql FROM sqlite_master WHERE name IN ('schema_migrations', 'ar_internal_metadata') ORDER BY name",
    );
    expect(ddl.map((d) => d.sql)).toEqual([
      'CREATE TABLE "ar_internal_metadata" ("key" varchar NOT NULL PRIMARY KEY, "value" varchar, "created_at" datetime(6) NOT NULL, "updated_at" datetime(6) NOT NULL)',
      'CREATE TABLE "schema_migrations" ("version" varchar NOT NULL PRIMARY KEY)',
    ]);
  });

  test('on PostgreSQL: the same rows and column types', async ({ project, database }) => {
    project.write({
      'bootseq.yml': configFor(postgresStore, '{ dir: db/migrate, history: rails }'),
      ...files,
    });
    const result = await project.run(['migrate'], {
      APP_DATABASE_URL: database.url,
      RAILS_ENV: 'production',
    });
    expect(result.exitCode, result.output).toBe(0);
    expect(await database.query('SELECT version FROM schema_migrations ORDER BY version')).toEqual([
      { version: '20240101120000' },
      { version: '20240102080000' },
    ]);
    expect(await database.query('SELECT key, value FROM ar_internal_metadata')).toEqual([
      { key: 'environment', value: 'production' },
    ]);
    const types = await database.query(
      "SELECT column_name, data_type, datetime_precision FROM information_schema.columns WHERE table_name = 'ar_internal_metadata' ORDER BY ordinal_position",
    );
    expect(types).toEqual([
      { column_name: 'key', data_type: 'character varying', datetime_precision: null },
      { column_name: 'value', data_type: 'character varying', datetime_precision: null },
      { column_name: 'created_at', data_type: 'timestamp without time zone', datetime_precision: 6 },
      { column_name: 'updated_at', data_type: 'timestamp without time zone', datetime_precision: 6 },
    ]);
  });
});

describe('failures and concurrency', () => {
  const broken =
    'CREATE TABLE t1 (id INT);\nCREATE TABLE t2 (id INT);\n\nCREATE TABLE t3 (id INT,, broken);\n';

  test.for([['sqlite'], ['postgres']])(
    'a syntax error in the third statement leaves nothing behind (%s)',
    async ([kind], { project, database }) => {
      project.write({
        'litestream.yml': APP_LITESTREAM,
        'bootseq.yml': configFor(
          kind === 'sqlite' ? sqliteStore : postgresStore,
          '{ dir: db/migrations, history: sqlx }',
        ),
        'db/migrations/1_ok.sql': 'CREATE TABLE ok (id INT);\n',
        'db/migrations/2_broken.sql': broken,
      });
      fs.mkdirSync(project.path('data'));
      const result = await project.run(['migrate'], { APP_DATABASE_URL: database.url });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('Error: migrate:app failed: db/migrations/2_broken.sql:4: ');
      expect(result.stderr).toContain('syntax error');
      expect(result.stderr).toContain('it was rolled back, nothing of it remains');
      const tables =
        kind === 'sqlite'
          ? sqliteRows<{ name: string }>(
              project,
              "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            ).map((r) => r.name)
          : (
              await database.query<{ name: string }>(
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
              )
            ).map((r) => r.name);
      expect(tables).toEqual(['_sqlx_migrations', 'ok']);
    },
  );

  test.for([['sqlite'], ['postgres']])(
    '8 concurrent migrators apply every migration once (%s)',
    async ([kind], { project, database }) => {
      const migrations: Record<string, string> = {};
      for (let i = 1; i <= 12; i += 1)
        migrations[`db/migrations/${String(i).padStart(3, '0')}_step_${i}.sql`] =
          `${i === 1 ? 'CREATE TABLE log (step INT);\n' : ''}CREATE TABLE step_${i} (id INT);\nINSERT INTO log VALUES (${i});\n`;
      project.write({
        'litestream.yml': APP_LITESTREAM,
        'bootseq.yml': configFor(
          kind === 'sqlite' ? sqliteStore : postgresStore,
          '{ dir: db/migrations, history: flyway }',
        ),
        ...renameForFlyway(migrations),
      });
      fs.mkdirSync(project.path('data'));
      const runs = Array.from({ length: 8 }, () =>
        project.run(['migrate', '--log-format', 'json'], { APP_DATABASE_URL: database.url }),
      );
      const results = await Promise.all(runs);
      for (const r of results) expect(r.exitCode, r.output.slice(-1500)).toBe(0);
      const log =
        kind === 'sqlite'
          ? sqliteRows<{ step: number }>(project, 'SELECT step FROM log ORDER BY step')
          : await database.query<{ step: number }>('SELECT step FROM log ORDER BY step');
      expect(log.map((r) => Number(r.step))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      const ranks =
        kind === 'sqlite'
          ? sqliteRows<{ n: number }>(project, 'SELECT count(*) AS n FROM flyway_schema_history')
          : await database.query<{ n: number }>('SELECT count(*)::int AS n FROM flyway_schema_history');
      expect(Number(ranks[0]?.n)).toBe(12);
      const appliedPerRun = results.map((r) => (r.output.match(/"applied V\d+__/g) ?? []).length);
      expect(appliedPerRun.reduce((a, b) => a + b, 0)).toBe(12);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});

function renameForFlyway(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([name, sql]) => [
      name.replace(/\/(\d+)_/, (_m, n: string) => `/V${Number(n)}__`),
      sql,
    ]),
  );
}
