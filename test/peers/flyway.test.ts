// bootseq's Flyway history against the real Flyway library (the version the peers rig pins, through
// scripts/peers/FlywayPeer.java): what bootseq wrote, Flyway's info, validate and migrate accept; what
// Flyway applied, bootseq accepts; an edit, both refuse. With seeds/003's shapes (CRLF, CR only, a BOM,
// no final newline, a baseline on a database that already has tables) and seeds/001's dotted versions.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { jdbcPostgres, peerTool, runTool, useSqliteAppStore, type ToolResult } from '../helpers/peers.js';
import type { TmpProject } from '../helpers/project.js';

const DIR = 'db/flyway';
const BASELINE = '1.0.3';

const FILES: Record<string, string | Buffer> = {
  [`${DIR}/V1__below_baseline.sql`]: 'CREATE TABLE never_applied (id INT);\n',
  [`${DIR}/V1.0.4__dotted_version.sql`]: 'CREATE TABLE dotted (id INT);\n',
  [`${DIR}/V1_1__crlf_line_endings.sql`]:
    'CREATE TABLE app_user (id INT PRIMARY KEY, email TEXT);\r\nCREATE INDEX app_user_email ON app_user (email);\r\n',
  [`${DIR}/V2__no_final_newline.sql`]: 'CREATE TABLE no_final_newline (id INT);',
  [`${DIR}/sub/V220__with_bom.sql`]: Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('CREATE TABLE bom_table (id INT);\n'),
  ]),
  [`${DIR}/V221__cr_only.sql`]: 'CREATE TABLE cr_table (id INT);\rINSERT INTO cr_table VALUES (1);\r',
  [`${DIR}/R__user_emails.sql`]:
    'DROP VIEW IF EXISTS user_emails;\nCREATE VIEW user_emails AS SELECT email FROM app_user;\n',
};
/** Every migration above the baseline, as Flyway's info names them once applied. */
const APPLIED = [
  ['1.0.4', 'dotted version', 'V1.0.4__dotted_version.sql'],
  ['1.1', 'crlf line endings', 'V1_1__crlf_line_endings.sql'],
  ['2', 'no final newline', 'V2__no_final_newline.sql'],
  ['220', 'with bom', 'sub/V220__with_bom.sql'],
  ['221', 'cr only', 'V221__cr_only.sql'],
  [null, 'user emails', 'R__user_emails.sql'],
] as const;

interface Info {
  migrations: {
    version: string | null;
    description: string;
    type: string;
    script: string;
    state: string;
    checksum: number | null;
    installed_rank: number | null;
  }[];
}

interface Engine {
  name: string;
  setup(
    project: TmpProject,
    databaseUrl: string,
  ): { store: string; env: Record<string, string>; flywayArgs: string[]; legacyTable: () => Promise<void> };
}

const engines: Engine[] = [
  {
    name: 'SQLite',
    setup(project) {
      const file = useSqliteAppStore(project);
      return {
        store: 'sqlite: data/app.sqlite3',
        env: {},
        flywayArgs: [`-url=jdbc:sqlite:${file}`],
        legacyTable: async () => {
          const { default: Database } = await import('better-sqlite3');
          const db = new Database(file);
          db.pragma('journal_mode = WAL');
          db.exec('CREATE TABLE legacy (id INT)');
          db.close();
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    setup(_project, databaseUrl) {
      const jdbc = jdbcPostgres(databaseUrl);
      return {
        store: 'postgres: ${APP_DATABASE_URL}',
        env: { APP_DATABASE_URL: databaseUrl },
        flywayArgs: [`-url=${jdbc.url}`, `-user=${jdbc.user}`, `-password=${jdbc.password}`],
        legacyTable: async () => {},
      };
    },
  },
];

function bootseqYml(store: string): string {
  const litestream = store.startsWith('sqlite:') ? 'litestream: { config: litestream.yml }\n' : '';
  const backup = store.startsWith('postgres:') ? 'backup: { postgres: false }\n' : '';
  return `version: 1\n${litestream}stores:\n  app:\n    ${store}\n    migrate: { dir: ${DIR}, history: flyway, baseline: "${BASELINE}" }\n${backup}report: { dir: .bootseq/runs }\n`;
}

async function flyway(
  project: TmpProject,
  args: string[],
  verb: string,
): Promise<ToolResult & { json: Record<string, unknown> }> {
  const result = await runTool(
    peerTool('flyway'),
    [
      verb,
      ...args,
      `-locations=filesystem:${project.path(DIR)}`,
      `-baselineVersion=${BASELINE}`,
      '-baselineOnMigrate=true',
    ],
    { cwd: project.dir },
  );
  const line = result.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // left empty: the assertion on the exit code shows the output
  }
  return { ...result, json };
}

describe.each(engines)('Flyway and bootseq on $name', (engine) => {
  test('bootseq baselines and migrates; Flyway validates it and applies nothing; Flyway applies a file, bootseq accepts it; an edit is refused by both', async ({
    project,
    database,
  }) => {
    const { store, env, flywayArgs, legacyTable } = engine.setup(project, database.url);
    // A database that already has tables: the baseline is what lets either tool start on it.
    if (engine.name === 'PostgreSQL') await database.query('CREATE TABLE legacy (id INT)');
    else await legacyTable();
    project.write({ 'bootseq.yml': bootseqYml(store) });
    for (const [name, content] of Object.entries(FILES)) {
      fs.mkdirSync(project.path(name, '..'), { recursive: true });
      fs.writeFileSync(project.path(name), content);
    }

    const first = await project.run(['migrate'], env);
    expect(first.exitCode, first.output).toBe(0);

    // 1. Flyway's validate accepts what bootseq wrote, and info shows each file applied, with its checksum.
    const validate = await flyway(project, flywayArgs, 'validate');
    expect(validate.code, validate.output).toBe(0);
    expect(validate.json).toEqual({ valid: true, errors: [] });
    const info = (await flyway(project, flywayArgs, 'info')).json as unknown as Info;
    const byScript = new Map(info.migrations.map((m) => [m.script, m]));
    expect(info.migrations.filter((m) => m.type === 'BASELINE')).toEqual([
      expect.objectContaining({ version: BASELINE, state: 'Baseline', installed_rank: 1 }),
    ]);
    expect(byScript.get('V1__below_baseline.sql')?.state).toBe('Below Baseline');
    for (const [version, description, script] of APPLIED) {
      expect(byScript.get(script), script).toMatchObject({ version, description, state: 'Success' });
    }
    expect(info.migrations.filter((m) => m.state !== 'Success' && m.state !== 'Baseline')).toHaveLength(1);

    // 2. Flyway's migrate has nothing to do.
    const migrate = await flyway(project, flywayArgs, 'migrate');
    expect(migrate.code, migrate.output).toBe(0);
    expect(migrate.json['executed']).toBe(0);

    // 3. A file Flyway applies itself: bootseq's next run accepts Flyway's row and applies nothing.
    project.write({ [`${DIR}/V222__added_by_flyway.sql`]: 'CREATE TABLE added_by_flyway (id INT);\n' });
    const added = await flyway(project, flywayArgs, 'migrate');
    expect(added.code, added.output).toBe(0);
    expect(added.json['executed']).toBe(1);
    const again = await project.run(['migrate'], env);
    expect(again.exitCode, again.output).toBe(0);
    expect(again.output).toMatch(/0 applied, \d+ in db\/flyway \(flyway history in flyway_schema_history\)/);

    // 4. Line endings are not an edit for either (Flyway hashes lines without their ends)...
    fs.writeFileSync(
      project.path(DIR, 'V1_1__crlf_line_endings.sql'),
      'CREATE TABLE app_user (id INT PRIMARY KEY, email TEXT);\nCREATE INDEX app_user_email ON app_user (email);\n',
    );
    expect((await flyway(project, flywayArgs, 'validate')).code).toBe(0);
    expect((await project.run(['migrate'], env)).exitCode).toBe(0);
    // ... but a changed statement is, for both.
    fs.writeFileSync(
      project.path(DIR, 'V1_1__crlf_line_endings.sql'),
      'CREATE TABLE app_user (id BIGINT PRIMARY KEY, email TEXT);\nCREATE INDEX app_user_email ON app_user (email);\n',
    );
    const invalid = await flyway(project, flywayArgs, 'validate');
    expect(invalid.code).toBe(1);
    const errors = invalid.json['errors'] as { version: string; message: string }[];
    expect(errors.map((e) => e.version)).toEqual(['1.1']);
    expect(errors[0]?.message).toContain('Migration checksum mismatch for migration version 1.1');
    const refused = await flyway(project, flywayArgs, 'migrate');
    expect(refused.code).toBe(1);
    const boot = await project.run(['migrate'], env);
    expect(boot.exitCode).toBe(1);
    expect(boot.stderr).toContain(
      'Migration checksum mismatch for migration version 1.1 (V1_1__crlf_line_endings.sql)',
    );
  });

  test('a repeatable migration changed: both apply it again, and each accepts the other’s row', async ({
    project,
    database,
  }) => {
    const { store, env, flywayArgs } = engine.setup(project, database.url);
    project.write({
      'bootseq.yml': bootseqYml(store),
      [`${DIR}/V1_1__t.sql`]: 'CREATE TABLE t (id INT, email TEXT);\n',
      [`${DIR}/R__v.sql`]: 'DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id FROM t;\n',
    });
    expect((await project.run(['migrate'], env)).exitCode).toBe(0);
    project.write({
      [`${DIR}/R__v.sql`]: 'DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id, email FROM t;\n',
    });
    const outdated = (await flyway(project, flywayArgs, 'info')).json as unknown as Info;
    expect(outdated.migrations.find((m) => m.script === 'R__v.sql' && m.state === 'Outdated')).toBeDefined();
    const reapplied = await flyway(project, flywayArgs, 'migrate');
    expect(reapplied.json['executed']).toBe(1);
    const boot = await project.run(['migrate'], env);
    expect(boot.exitCode, boot.output).toBe(0);
    expect(boot.output).toContain('0 applied');
    // Now bootseq applies the next change and Flyway finds nothing outdated.
    project.write({ [`${DIR}/R__v.sql`]: 'DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT email FROM t;\n' });
    const boot2 = await project.run(['migrate'], env);
    expect(boot2.exitCode, boot2.output).toBe(0);
    expect(boot2.output).toContain('1 applied');
    const info = (await flyway(project, flywayArgs, 'info')).json as unknown as Info;
    expect(info.migrations.filter((m) => m.state === 'Outdated' || m.state === 'Pending')).toEqual([]);
    expect((await flyway(project, flywayArgs, 'validate')).code).toBe(0);
  });
});

test('PostgreSQL: bootseq and Flyway migrating at once take the same advisory lock; each file is applied once', async ({
  project,
  database,
}) => {
  // Slow files, so that the two overlap: with different lock keys both would run V1 and one would fail
  // on "relation already exists" or a duplicate installed_rank.
  project.write({
    'bootseq.yml': bootseqYml('postgres: ${APP_DATABASE_URL}').replace(`, baseline: "${BASELINE}"`, ''),
    [`${DIR}/V1__slow_first.sql`]: 'SELECT pg_sleep(2);\nCREATE TABLE first (id INT);\n',
    [`${DIR}/V2__slow_second.sql`]: 'SELECT pg_sleep(2);\nCREATE TABLE second (id INT);\n',
    [`${DIR}/V3__third.sql`]: 'CREATE TABLE third (id INT);\n',
  });
  const jdbc = jdbcPostgres(database.url);
  const [boot, fly] = await Promise.all([
    project.run(['migrate'], { APP_DATABASE_URL: database.url }),
    runTool(peerTool('flyway'), [
      'migrate',
      `-url=${jdbc.url}`,
      `-user=${jdbc.user}`,
      `-password=${jdbc.password}`,
      `-locations=filesystem:${project.path(DIR)}`,
    ]),
  ]);
  expect(boot.exitCode, boot.output).toBe(0);
  expect(fly.code, fly.output).toBe(0);
  const rows = await database.query<{ version: string; installed_rank: number }>(
    'SELECT version, installed_rank FROM flyway_schema_history ORDER BY installed_rank',
  );
  expect(rows.map((r) => r.version)).toEqual(['1', '2', '3']);
  expect(rows.map((r) => r.installed_rank)).toEqual([1, 2, 3]);
});
