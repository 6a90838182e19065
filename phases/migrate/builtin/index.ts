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
  transactionControl,
  type BuiltinMigrate,
  type LocalMigration,
  type MigrateOptions,
} from '../../../db/history/index.js';
import { takeBackup, type BackupRecord } from '../../../db/backups/index.js';

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

export async function migrateBuiltin(ctx: TaskContext, store: Store, spec: BuiltinMigrate): Promise<void> {
  const run = createMigrationRun(ctx, store, spec);
  const { format, migrations, options, checkPlan, applyOne } = run;

  const recordBackup = (backup: BackupRecord) => {
    ctx.record('backup', backup);
    const shown = path.relative(ctx.config.dir, backup.path);
    ctx.note(
      'info',
      `backup before migrating: ${shown} (${backup.bytes} bytes, ${backup.duration_ms} ms); roll back with \`bootseq restore --from-backup ${shown} ${store.name}\``,
    );
  };

  const db = await openStore(ctx, store);
  try {
    if (db.dialect === 'postgres') {
      const key = await format.lockKey(db, options);
      const release = key === undefined ? async () => {} : await db.lock(key, ctx.signal);
      try {
        // Previewed in a rolled-back transaction (the plan may create the history table or a baseline
        // row), so the backup holds the database exactly as it was; the advisory lock keeps it so.
        const preview = await db.dryRun(() => format.plan(db, migrations, options));
        checkPlan(preview);
        if (preview.pending.length > 0) {
          const backup = await takeBackup(ctx, store, db);
          if (backup) recordBackup(backup);
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
        const backup = await takeBackup(ctx, store, db);
        if (backup) recordBackup(backup);
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
  ctx.note('info', run.summary());
}

/**
 * The folder read and checked, and what both dialects share while applying it: the plan check (drift
 * stops the boot before anything runs) and one migration applied and recorded for the run report.
 */
function createMigrationRun(ctx: TaskContext, store: Store, spec: BuiltinMigrate) {
  const { taskId } = ctx;
  const format = FORMATS[spec.history];
  const { migrations, problems } = format.resolve(spec.dir);
  if (problems.length > 0) {
    throw new TaskFailedError(
      taskId,
      `${spec.dirShown} holds files ${format.name} would refuse:\n  ${problems.join('\n  ')}`,
      {
        hint: `rename or fix those files; \`bootseq plan\` shows the store's migration folder`,
      },
    );
  }
  const control = transactionControl(migrations);
  if (control.length > 0) {
    throw new TaskFailedError(
      taskId,
      `${spec.dirShown} has transaction control inside migrations; nothing was migrated:\n  ${control.join('\n  ')}`,
      {
        hint: 'bootseq runs each migration in one transaction of its own: remove those statements, or start the file with `-- no-transaction` to manage transactions yourself',
      },
    );
  }
  const options: MigrateOptions = migrateOptions(spec, format);
  const applied: AppliedMigration[] = [];
  ctx.record('migrations', applied);
  const noted = new Set<string>();
  const checkPlan = (plan: { problems: readonly string[]; notes: readonly string[] }) => {
    for (const note of plan.notes) {
      if (!noted.has(note)) ctx.note('info', note);
      noted.add(note);
    }
    if (plan.problems.length > 0) {
      throw new TaskFailedError(
        taskId,
        `${options.table} does not match ${spec.dirShown} (${format.name}); nothing was migrated:\n  ${plan.problems.join('\n  ')}`,
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
      const where = `${path.posix.join(spec.dirShown, m.script)}${error instanceof StatementError && error.line ? `:${error.line}` : ''}`;
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
    ctx.note('info', `applied ${m.script} (${entry.duration_ms} ms)`);
  };
  const summary = () =>
    `${applied.length} applied, ${migrations.length} in ${spec.dirShown} (${format.name} history in ${options.table})`;
  return { taskId, format, migrations, options, checkPlan, applyOne, summary };
}
