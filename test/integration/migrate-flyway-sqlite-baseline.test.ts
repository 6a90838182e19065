// A Flyway baseline on a SQLite database that already has tables (seeds/003's runbook on SQLite). The
// baseline INSERT once reused a placeholder, which SQLite binds by position: every such boot failed
// with "Too few parameter values were provided". Found by the Flyway peer test (test/peers/).

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { test } from '../helpers/fixtures.js';

test('baseline on a non-empty SQLite database: the BASELINE row, then the files above it', async ({
  project,
}) => {
  project.write({
    'litestream.yml':
      'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - type: file\n        path: replica/app\n',
    'bootseq.yml':
      'version: 1\nlitestream: { config: litestream.yml }\nstores:\n  app:\n    sqlite: data/app.sqlite3\n    migrate: { dir: db/flyway, history: flyway, baseline: "1" }\nreport: { dir: .bootseq/runs }\n',
    'db/flyway/V1__existing.sql': 'CREATE TABLE legacy (id INTEGER);\n',
    'db/flyway/V2__next.sql': 'CREATE TABLE next (id INTEGER);\n',
  });
  fs.mkdirSync(project.path('data'));
  const existing = new Database(project.path('data/app.sqlite3'));
  existing.exec('CREATE TABLE legacy (id INTEGER)');
  existing.close();

  const result = await project.run(['migrate']);
  expect(result.exitCode, result.output).toBe(0);
  const db = new Database(project.path('data/app.sqlite3'), { readonly: true });
  try {
    expect(
      db
        .prepare(
          'SELECT installed_rank, version, description, type, script, checksum, installed_by, success FROM flyway_schema_history ORDER BY installed_rank',
        )
        .all(),
    ).toEqual([
      {
        installed_rank: 1,
        version: '1',
        description: '<< Flyway Baseline >>',
        type: 'BASELINE',
        script: '<< Flyway Baseline >>',
        checksum: null,
        installed_by: '',
        success: 1,
      },
      expect.objectContaining({ installed_rank: 2, version: '2', type: 'SQL', script: 'V2__next.sql' }),
    ]);
  } finally {
    db.close();
  }
});
