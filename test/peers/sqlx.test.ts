// bootseq's sqlx history against the real sqlx-cli (the version the peers rig pins): what bootseq wrote,
// sqlx accepts; what sqlx wrote, bootseq accepts; an edited file, both refuse. On SQLite and PostgreSQL.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { peerTool, runTool, useSqliteAppStore, type ToolResult } from '../helpers/peers.js';
import type { TmpProject } from '../helpers/project.js';

const DIR = 'db/migrations';

// Shapes a real folder has: CRLF endings, no final newline, a reversible pair, a file that is not a
// migration, a version beyond 2^53 (sqlx versions are i64; JavaScript numbers would round it).
const COMMON = {
  [`${DIR}/20260115000001_create_users.sql`]:
    'CREATE TABLE users (\n  id BIGINT PRIMARY KEY,\n  email TEXT NOT NULL\n);\n',
  [`${DIR}/20260115000002_create_sessions.sql`]:
    'CREATE TABLE sessions (\r\n  id TEXT PRIMARY KEY,\r\n  user_id BIGINT NOT NULL\r\n);\r\n',
  [`${DIR}/20260116000001_add_users_name.up.sql`]: 'ALTER TABLE users ADD COLUMN name TEXT;\n',
  [`${DIR}/20260116000001_add_users_name.down.sql`]: 'ALTER TABLE users DROP COLUMN name;\n',
  [`${DIR}/20260117000001_no_final_newline.sql`]: 'CREATE INDEX users_email ON users (email);',
  [`${DIR}/9007199254740993_beyond_double.sql`]:
    '-- a version no double can hold\nCREATE TABLE big (id INT);\n',
  [`${DIR}/README.md`]: 'not a migration\n',
};
const APPLIED = [
  ['20260115000001', 'create users'],
  ['20260115000002', 'create sessions'],
  ['20260116000001', 'add users name'],
  ['20260117000001', 'no final newline'],
  ['9007199254740993', 'beyond double'],
];

interface Engine {
  name: string;
  /** The bootseq.yml store line and the env it needs. */
  setup(
    project: TmpProject,
    databaseUrl: string,
  ): { store: string; env: Record<string, string>; url: string };
}

const engines: Engine[] = [
  {
    name: 'SQLite',
    setup(project) {
      useSqliteAppStore(project);
      return {
        store: 'sqlite: data/app.sqlite3',
        env: {},
        url: `sqlite://${project.path('data/app.sqlite3')}?mode=rwc`,
      };
    },
  },
  {
    name: 'PostgreSQL',
    setup(_project, databaseUrl) {
      return {
        store: 'postgres: ${APP_DATABASE_URL}',
        env: { APP_DATABASE_URL: databaseUrl },
        url: databaseUrl,
      };
    },
  },
];

function bootseqYml(store: string): string {
  const litestream = store.startsWith('sqlite:') ? 'litestream: { config: litestream.yml }\n' : '';
  const backup = store.startsWith('postgres:') ? 'backup: { postgres: false }\n' : '';
  return `version: 1\n${litestream}stores:\n  app:\n    ${store}\n    migrate: { dir: ${DIR}, history: sqlx }\n${backup}report: { dir: .bootseq/runs }\n`;
}

function sqlx(project: TmpProject, url: string, ...args: string[]): Promise<ToolResult> {
  return runTool(peerTool('sqlx'), ['migrate', ...args, '--source', DIR, '--database-url', url], {
    cwd: project.dir,
  });
}

/** `sqlx migrate info` lines: `VERSION/STATUS DESCRIPTION`. */
function infoLines(result: ToolResult): string[] {
  return result.stdout.split('\n').filter((l) => /^\d+\//.test(l));
}

describe.each(engines)('sqlx-cli and bootseq on $name', (engine) => {
  test('bootseq migrates, sqlx sees it all applied; sqlx applies a file, bootseq accepts it; an edit is refused by both', async ({
    project,
    database,
  }) => {
    const { store, env, url } = engine.setup(project, database.url);
    project.write({ 'bootseq.yml': bootseqYml(store), ...COMMON });

    const first = await project.run(['migrate'], env);
    expect(first.exitCode, first.output).toBe(0);

    // 1. What bootseq wrote is what sqlx would have written: every file installed, no checksum differs.
    const info = await sqlx(project, url, 'info');
    expect(info.code, info.output).toBe(0);
    expect(infoLines(info)).toEqual(APPLIED.map(([v, d]) => `${v}/installed ${d}`));
    expect(info.output).not.toContain('different checksum');

    // 2. sqlx has nothing to apply (it would apply any version missing from the table).
    const run = await sqlx(project, url, 'run');
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toMatch(/Applied/);

    // 3. A file sqlx applies itself: bootseq's next run accepts sqlx's row and applies nothing.
    project.write({ [`${DIR}/20260118000001_added_by_sqlx.sql`]: 'CREATE TABLE added_by_sqlx (id INT);\n' });
    const added = await sqlx(project, url, 'run');
    expect(added.code, added.output).toBe(0);
    expect(added.stdout).toMatch(/Applied 20260118000001\/migrate added by sqlx/);
    const again = await project.run(['migrate'], env);
    expect(again.exitCode, again.output).toBe(0);
    expect(again.output).toContain(`0 applied, 6 in ${DIR} (sqlx history in _sqlx_migrations)`);
    const infoAfter = await sqlx(project, url, 'info');
    // Listed in version order: 20260118000001 < 9007199254740993.
    expect(infoLines(infoAfter)).toEqual([
      ...APPLIED.slice(0, 4).map(([v, d]) => `${v}/installed ${d}`),
      '20260118000001/installed added by sqlx',
      '9007199254740993/installed beyond double',
    ]);

    // 4. An applied file edited: sqlx and bootseq both name the version and refuse.
    fs.appendFileSync(
      project.path(DIR, '20260115000002_create_sessions.sql'),
      '-- edited after it was applied\r\n',
    );
    const infoEdited = await sqlx(project, url, 'info');
    expect(infoLines(infoEdited)).toContain('20260115000002/installed (different checksum) create sessions');
    const runEdited = await sqlx(project, url, 'run');
    expect(runEdited.code).not.toBe(0);
    expect(runEdited.output).toContain(
      'migration 20260115000002 was previously applied but has been modified',
    );
    const bootEdited = await project.run(['migrate'], env);
    expect(bootEdited.exitCode).toBe(1);
    expect(bootEdited.stderr).toContain(
      'migration 20260115000002 (20260115000002_create_sessions.sql) was applied with checksum ',
    );
    expect(bootEdited.stderr).toContain('(VersionMismatch)');
  });

  test('a file deleted after sqlx applied it: both refuse the same version (VersionMissing)', async ({
    project,
    database,
  }) => {
    const { store, env, url } = engine.setup(project, database.url);
    project.write({
      'bootseq.yml': bootseqYml(store),
      [`${DIR}/1_first.sql`]: 'CREATE TABLE first (id INT);\n',
      [`${DIR}/2_second.sql`]: 'CREATE TABLE second (id INT);\n',
    });
    const applied = await sqlx(project, url, 'run');
    expect(applied.code, applied.output).toBe(0);
    // A file deleted after sqlx applied it: sqlx refuses (VersionMissing), and so does bootseq.
    fs.rmSync(project.path(DIR, '2_second.sql'));
    const missing = await sqlx(project, url, 'run');
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain(
      'migration 2 was previously applied but is missing in the resolved migrations',
    );
    const bootMissing = await project.run(['migrate'], env);
    expect(bootMissing.exitCode).toBe(1);
    expect(bootMissing.stderr).toContain('(VersionMissing)');
  });
});

test('PostgreSQL: a `-- no-transaction` file (CREATE INDEX CONCURRENTLY) applied by bootseq is installed for sqlx', async ({
  project,
  database,
}) => {
  project.write({
    'bootseq.yml': bootseqYml('postgres: ${APP_DATABASE_URL}'),
    [`${DIR}/1_users.sql`]: 'CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT);\n',
    [`${DIR}/2_index_concurrently.sql`]:
      '-- no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n',
  });
  const env = { APP_DATABASE_URL: database.url };
  const boot = await project.run(['migrate'], env);
  expect(boot.exitCode, boot.output).toBe(0);
  const info = await sqlx(project, database.url, 'info');
  expect(infoLines(info)).toEqual(['1/installed users', '2/installed index concurrently']);
  expect((await sqlx(project, database.url, 'run')).output).not.toMatch(/Applied/);
  const valid = await database.query<{ indisvalid: boolean }>(
    "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email'::regclass",
  );
  expect(valid).toEqual([{ indisvalid: true }]);
});
