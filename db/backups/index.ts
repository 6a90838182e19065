// A store's backups, whichever engine holds it: taken before the built-in migrator changes the store
// (a backup before changes: docs/incidents.md (seeds/001)), found again by `bootseq rehearse`, put back by `bootseq
// restore --from-backup`. The public entry: phases and commands import backups through this file;
// sqlite.ts and postgres.ts hold each engine's way, layout.ts where the files live. Never prints or
// emits anything (callers say what happened, in their words), and never starts a process of its own
// accord: a backup runs pg_dump through its task, a rollback pg_restore through what its command passes.

import type { Config } from '../../config/schema.js';
import type { TaskContext } from '../../core/task.js';
import { newestStamped } from '../../core/stamped-files.js';
import type { MigrationDb } from '../database.js';
import { BACKUP_EXT, backupDir, type BackupRecord, type BackupStore } from './layout.js';
import { backupPostgres, rollBackPostgres, type PostgresRollback, type StartChild } from './postgres.js';
import { backupSqlite, rollBackSqlite, type SqliteRollback } from './sqlite.js';

export type { BackupRecord, BackupStore } from './layout.js';
export type { StartChild } from './postgres.js';

/**
 * Takes a backup of `store` before it changes, and prunes its folder to the last `backup.keep`.
 * `db` is the store's open connection: postgres asks it whether there are tables (in the session that
 * holds the migration lock); the sqlite copy is read through a read-only handle of its own.
 * Undefined when there is nothing to lose yet (no tables), or for postgres with backup.postgres: false.
 * A pg_dump that fails throws TaskFailedError: migrating without the promised copy is not an option.
 */
export async function takeBackup(
  ctx: TaskContext,
  store: BackupStore,
  db: MigrationDb,
): Promise<BackupRecord | undefined> {
  if (store.kind === 'sqlite')
    return backupSqlite(store.location, backupDir(ctx.config, store.name), ctx.config.backup.keep);
  // The explicit way out, e.g. where no pg_dump as new as the server is installed.
  if (!ctx.config.backup.postgres) return undefined;
  return backupPostgres(ctx, store, db);
}

/** Path of the newest backup of `store`, or undefined when it has none. */
export function newestBackup(config: Pick<Config, 'backup'>, store: BackupStore): string | undefined {
  return newestStamped(backupDir(config, store.name), BACKUP_EXT[store.kind]);
}

/** What a rollback did, for the command to tell the operator. */
export type Rollback = ({ kind: 'sqlite' } & SqliteRollback) | ({ kind: 'postgres' } & PostgresRollback);

/**
 * Puts the backup file `backup` back in place of `store`, with the app stopped: refused (TaskFailedError,
 * nothing changed) while anything uses the database or when the file is not a backup of that engine.
 * What was in place is kept (a file moved aside, a database renamed), never deleted.
 */
export async function rollBack(
  store: BackupStore,
  backup: string,
  options: { readonly start: StartChild },
): Promise<Rollback> {
  if (store.kind === 'postgres')
    return { kind: 'postgres', ...(await rollBackPostgres(store, backup, options.start)) };
  return { kind: 'sqlite', ...(await rollBackSqlite(store.name, store.location, backup)) };
}
