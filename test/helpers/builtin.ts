// The built-in migrator's test projects: one store `app`, on SQLite or on PostgreSQL, and what its
// SQLite file holds (test/integration/migrate-builtin.test.ts, test/races/migrators.test.ts).

import Database from 'better-sqlite3';
import type { TmpProject } from './project.js';

export function configFor(store: string, migrate: string, extra = ''): string {
  const litestream = store.startsWith('sqlite:') ? 'litestream: { config: litestream.yml }\n' : '';
  // The embedded PostgreSQL 17 has no matching pg_dump here; backups are tested in backup-postgres.test.ts.
  const backup = store.startsWith('postgres:') ? 'backup: { postgres: false }\n' : '';
  return `version: 1\n${litestream}stores:\n  app:\n    ${store}\n    migrate: ${migrate}\n${extra}${backup}report: { dir: .bootseq/runs }\n`;
}

export const sqliteStore = 'sqlite: data/app.sqlite3';
export const APP_LITESTREAM =
  'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - type: file\n        path: replica/app\n';
export const postgresStore = 'postgres: ${APP_DATABASE_URL}';

export function sqliteRows<T>(project: TmpProject, sql: string): T[] {
  const db = new Database(project.path('data/app.sqlite3'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
