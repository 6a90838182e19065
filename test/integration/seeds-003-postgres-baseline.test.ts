// docs/incidents.md (seeds/003) end to end on a real PostgreSQL: an empty database gets the baseline SQL dump
// (tables, a sequence, a column), Flyway-format migrations run on top with `baseline: "0"`, and the gates for
// those tables, columns and the sequence pass. A second boot leaves everything as it is; a failing dump
// leaves the database empty (single transaction) and stops the boot.

import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import type { TmpProject } from '../helpers/project.js';

const BASELINE = `-- baseline DDL exported from the old server
CREATE SEQUENCE facility_num START 100;
CREATE TABLE d_document (id INT PRIMARY KEY, title TEXT NOT NULL, admflag CHAR(1) NOT NULL DEFAULT 'N');
CREATE TABLE d_audit_event (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now(), what TEXT);
INSERT INTO d_document (id, title) VALUES (1, 'first'), (2, 'second');
`;
const MIGRATIONS = {
  'db/flyway/V2__audit_document.sql':
    'ALTER TABLE d_audit_event ADD COLUMN document_id INT REFERENCES d_document (id);\n',
  'db/flyway/V3__facility.sql':
    "CREATE TABLE facility (num INT PRIMARY KEY DEFAULT nextval('facility_num'), name TEXT NOT NULL);\n",
  'db/flyway/V220__index_audit.sql': 'CREATE INDEX d_audit_event_at ON d_audit_event (at);\n',
  'db/flyway/V221__seed_facility.sql': "INSERT INTO facility (name) VALUES ('main');\n",
};

function configure(project: TmpProject, dump = 'db/baseline.sql'): void {
  project.write({
    'bootseq.yml': `version: 1
stores:
  app:
    postgres: \${DATABASE_URL}
    restore: { dump: ${dump} }
    migrate: { dir: db/flyway, history: flyway, baseline: "0" }
    require: { tables: [d_audit_event, facility], sequences: [facility_num], columns: { d_document: [admflag], d_audit_event: [document_id] } }
backup: { postgres: false } # no pg_dump for the embedded PostgreSQL 17 here; see backup-postgres.test.ts
report: { dir: .bootseq/runs }
`,
    'db/baseline.sql': BASELINE,
    ...MIGRATIONS,
  });
}

describe('seeds/003: PostgreSQL from a baseline dump, Flyway baseline + migrate, gates', () => {
  test('restore, baseline, migrate, gates pass; a second boot changes nothing', async ({
    project,
    database,
  }) => {
    configure(project);
    const env = { DATABASE_URL: database.url };
    const first = await project.run(['up', '--until', 'verify'], env);
    expect(first.exitCode, first.output.slice(-3000)).toBe(0);
    expect(first.output).toContain('[restore:app] applied db/baseline.sql to the empty database');
    expect(first.output).not.toContain(new URL(database.url).password);

    const history = await database.query<{
      installed_rank: number;
      version: string;
      type: string;
      success: boolean;
    }>('SELECT installed_rank, version, type, success FROM flyway_schema_history ORDER BY installed_rank');
    expect(history.map((r) => [r.installed_rank, r.version, r.type, r.success])).toEqual([
      [1, '0', 'BASELINE', true],
      [2, '2', 'SQL', true],
      [3, '3', 'SQL', true],
      [4, '220', 'SQL', true],
      [5, '221', 'SQL', true],
    ]);
    const gates = (
      project.report().tasks.find((t) => t.id === 'verify:app') as unknown as {
        gates: { gate: string; ok: boolean; detail: string }[];
      }
    ).gates;
    // The server's real version, not a placeholder: the gate reads the column SHOW returns.
    expect(gates[0]?.detail).toMatch(/^PostgreSQL \d+\.\d+/);
    expect(gates.map((g) => [g.gate, g.ok])).toEqual([
      ['connect', true],
      ['table d_audit_event', true],
      ['table facility', true],
      ['columns d_document', true],
      ['columns d_audit_event', true],
      ['sequence facility_num', true],
      ['migrations', true],
    ]);
    // The gate read the sequence without consuming a value: the seed row got 100.
    expect(await database.query('SELECT num FROM facility')).toEqual([{ num: 100 }]);

    const second = await project.run(['up', '--until', 'verify'], env);
    expect(second.exitCode).toBe(0);
    expect(second.output).toMatch(
      /\[restore:app\] .* has \d+ tables or sequences; left as it is \(db\/baseline\.sql not applied\)/,
    );
    expect(second.output).toContain('0 applied, 4 in db/flyway (flyway history in flyway_schema_history)');
    expect(await database.query('SELECT count(*)::int AS n FROM d_document')).toEqual([{ n: 2 }]);
    expect(await database.query('SELECT count(*)::int AS n FROM flyway_schema_history')).toEqual([{ n: 5 }]);
  });

  test('a missing required table: verify exits 1 with that gate FAIL', async ({ project, database }) => {
    configure(project);
    const env = { DATABASE_URL: database.url };
    expect((await project.run(['migrate'], env)).exitCode).toBe(0);
    await database.query('DROP TABLE facility');
    const verify = await project.run(['verify'], env);
    expect(verify.exitCode).toBe(1);
    expect(verify.output).toContain('[verify:app] error: FAIL table facility: missing');
    expect(verify.stderr).toContain('Error: verify:app failed: gate table facility: missing');
  });

  test('a dump that fails half-way leaves the database empty and stops the boot', async ({
    project,
    database,
  }) => {
    configure(project, 'db/broken.sql');
    project.write({ 'db/broken.sql': `${BASELINE}CREATE TABLE broken (id INT,, x);\n` });
    const result = await project.run(['up', '--until', 'verify'], { DATABASE_URL: database.url });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: restore:app failed: `psql … db/broken.sql into');
    expect(result.stderr).toContain('syntax error');
    expect(result.stderr).toContain('failed in a single transaction, so');
    expect(
      await database.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'",
      ),
    ).toEqual([{ n: 0 }]);
  });
});
