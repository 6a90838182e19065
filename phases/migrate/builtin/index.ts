// The built-in migrator: applies a folder of SQL files and writes the history table of the named tool
// (sqlx, Flyway, Rails, or bootseq's own) exactly as that tool does, so the app's own migrator accepts
// the result. Under the tool's lock: PostgreSQL advisory lock with the tool's key for the whole run;
// on SQLite the write lock (BEGIN IMMEDIATE) from the history read to the last row, so concurrent
// boots apply each migration exactly once. Drift (edited, missing, failed, out-of-order migrations)
// stops the boot before any migration runs.

import path from 'node:path';
import { TaskFailedError } from '../../../entrypoint/core/errors.js';
import type { Config, TaskContext } from '../../../entrypoint/core/task.js';
import { openStore, StatementError, type MigrationDb } from '../../../db/index.js';
import {
  FORMATS,
  migrateOptions,
  type LocalMigration,
  type MigrateOptions,
} from '../../../db/history/index.js';
import { backupSqlite, type BackupRecord } from '../backup.js';
import { backupPostgres } from '../backup-postgres.js';

type Store = Config['stores'][number];

interface AppliedMigration {
  readonly version: string | null;
  readonly script: string;
  readonly checksum: string | null;
  readonly duration_ms: number;
}

function showChecksum(checksum: LocalMigration['checksum']): string | null {
  if (checksum === null) return null;
  return Buffer.isBuffer(checksum) ? checksum.toString('hex') : String(checksum);
}

export async function migrateBuiltin(ctx: TaskContext, store: Store): Promise<void> {
  const spec = store.migrate;
  if (!spec?.dir || !spec.history) return;
  const taskId = `migrate:${store.name}`;
  const format = FORMATS[spec.history];
  const dir = path.resolve(ctx.config.dir, spec.dir);
  const { migrations, problems } = format.resolve(dir);
  if (problems.length > 0) {
    throw new TaskFailedError(
      taskId,
      `${spec.dir} holds files ${format.name} would refuse:\n  ${problems.join('\n  ')}`,
      {
        hint: `rename or fix those files; \`bootseq plan\` shows the store's migration folder`,
      },
    );
  }
  const options: MigrateOptions = migrateOptions(spec, format);
  const applied: AppliedMigration[] = [];
  ctx.record('migrations', applied);
  const noted = new Set<string>();
  const checkPlan = (plan: { problems: readonly string[]; notes: readonly string[] }) => {
    for (const note of plan.notes) {
      if (!noted.has(note)) ctx.emit({ event: 'note', level: 'info', task: taskId, text: note });
      noted.add(note);
    }
    if (plan.problems.length > 0) {
      throw new TaskFailedError(
        taskId,
        `${options.table} does not match ${spec.dir} (${format.name}); nothing was migrated:\n  ${plan.problems.join('\n  ')}`,
        {
          hint: `resolve each point above; \`bootseq checksum FILE --history ${format.name}\` prints what ${format.name} records for a file`,
        },
      );
    }
  };
  const applyOne = async (db: MigrationDb, m: LocalMigration, inTransaction: boolean) => {
    ctx.signal.throwIfAborted();
    const started = Date.now();
    try {
      await format.apply(db, m, options, inTransaction);
    } catch (error) {
      const where = `${path.posix.join(spec.dir!, m.script)}${error instanceof StatementError && error.line ? `:${error.line}` : ''}`;
      const undone =
        m.transactional || db.dialect === 'sqlite'
          ? 'it was rolled back, nothing of it remains'
          : 'it ran outside a transaction, so statements before the failing one stay applied';
      throw new TaskFailedError(
        taskId,
        `${where}: ${(error as Error).message} (${undone}; ${applied.length} earlier migration(s) of this run stay applied)`,
        {
          cause: error,
          hint: `fix the statement at ${where}, then run \`bootseq migrate ${store.name}\`; nothing was replicated and no process was started`,
        },
      );
    }
    const entry = {
      version: m.version ?? null,
      script: m.script,
      checksum: showChecksum(m.checksum),
      duration_ms: Date.now() - started,
    };
    applied.push(entry);
    ctx.emit({
      event: 'note',
      level: 'info',
      task: taskId,
      text: `applied ${m.script} (${entry.duration_ms} ms)`,
    });
  };

  const recordBackup = (backup: BackupRecord) => {
    ctx.record('backup', backup);
    const shown = path.relative(ctx.config.dir, backup.path);
    ctx.emit({
      event: 'note',
      level: 'info',
      task: taskId,
      text: `backup before migrating: ${shown} (${backup.bytes} bytes, ${backup.duration_ms} ms); roll back with \`bootseq restore --from-backup ${shown} ${store.name}\``,
    });
  };

  const db = await openStore(ctx, store, taskId);
  try {
    if (db.dialect === 'postgres') {
      const key = await format.lockKey(db, options);
      const release = key === undefined ? async () => {} : await db.lock(key, ctx.signal);
      try {
        // Previewed in a rolled-back transaction (the plan may create the history table or a baseline
        // row), so the backup holds the database exactly as it was; the advisory lock keeps it so.
        const preview = await db.dryRun(() => format.plan(db, migrations, options));
        checkPlan(preview);
        if (preview.pending.length > 0 && ctx.config.backup.postgres && (await hasTables(db))) {
          const backup = await backupPostgres(ctx, store);
          recordBackup(backup);
        }
        const plan = await format.plan(db, migrations, options);
        checkPlan(plan);
        for (const m of plan.pending) await applyOne(db, m, false);
        await format.finish?.(db, options);
      } finally {
        await release();
      }
    } else {
      // SQLite: one write transaction holds the lock from reading the history to the last row, so
      // concurrent boots wait and then find everything applied; each migration sits in a savepoint,
      // so a failing one is rolled back alone and the ones before it are kept, as separate
      // transactions would leave them (without a commit and an fsync per file).
      // Before anything changes: a copy to roll back to. The plan is previewed in a transaction that is
      // rolled back (it may create the history table), as VACUUM INTO cannot run inside one.
      const preview = await db.dryRun(() => format.plan(db, migrations, options));
      if (preview.problems.length === 0 && preview.pending.length > 0) {
        const backup = await backupSqlite(
          store.location,
          path.join(ctx.config.backup.dir, store.name),
          ctx.config.backup.keep,
        );
        if (backup) {
          recordBackup(backup);
        }
      }
      let failure: Error | undefined;
      await db.transaction(async () => {
        const plan = await format.plan(db, migrations, options);
        checkPlan(plan);
        for (const m of plan.pending) {
          await db.exec('SAVEPOINT bootseq_migration');
          try {
            await applyOne(db, m, true);
            await db.exec('RELEASE bootseq_migration');
          } catch (error) {
            await db.exec('ROLLBACK TO bootseq_migration');
            await db.exec('RELEASE bootseq_migration');
            failure = error instanceof Error ? error : new Error(String(error));
            return;
          }
        }
        await format.finish?.(db, options);
      });
      if (failure) throw failure;
    }
  } finally {
    await db.close();
  }
  ctx.emit({
    event: 'note',
    level: 'info',
    task: taskId,
    text: `${applied.length} applied, ${migrations.length} in ${spec.dir} (${format.name} history in ${options.table})`,
  });
}

async function hasTables(db: MigrationDb): Promise<boolean> {
  const rows = await db.query(
    "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' LIMIT 1",
  );
  return rows.length > 0;
}
