// The built-in migrator: applies a folder of SQL files and writes the history table of the named tool
// (sqlx, Flyway, Rails, or bootseq's own) exactly as that tool does, so the app's own migrator accepts
// the result. Under the tool's lock: PostgreSQL advisory lock with the tool's key for the whole run;
// on SQLite the write lock (BEGIN IMMEDIATE) from the history read to the last row, so concurrent
// boots apply each migration exactly once. Drift (edited, missing, failed, out-of-order migrations)
// stops the boot before any migration runs.

import fs from 'node:fs';
import path from 'node:path';
import { escapeControl, excerpt, TaskFailedError } from '../../../core/errors.js';
import type { BuiltinMigrate, StoreConfig } from '../../../config/schema.js';
import type { TaskContext } from '../../../core/task.js';
import { openStore, splitStatements, StatementError, type MigrationDb } from '../../../db/index.js';
import {
  FORMATS,
  migrateOptions,
  transactionControl,
  type HistoryFormat,
  type LocalMigration,
  type MigrateOptions,
} from '../../../db/history/index.js';
import { takeBackup } from '../../../db/backups/index.js';

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

export async function migrateBuiltin(
  ctx: TaskContext,
  store: StoreConfig,
  spec: BuiltinMigrate,
): Promise<void> {
  const run = createMigrationRun(ctx, store, spec);
  // A full disk may surface anywhere (opening the file, the preview, the commit): said as such.
  await commitOrExplain(run, store, () => migrateWith(ctx, store, spec, run));
}

async function migrateWith(
  ctx: TaskContext,
  store: StoreConfig,
  spec: BuiltinMigrate,
  run: MigrationRun,
): Promise<void> {
  const db = await openStore(ctx, store);
  try {
    if (db.dialect === 'postgres') await migratePostgres(ctx, store, db, run);
    else await migrateSqlite(ctx, store, db, run);
  } finally {
    await db.close();
  }
  ctx.note('info', run.summary());
  ctx.summarize(run.short());
}

type MigrationRun = ReturnType<typeof createMigrationRun>;

/** PostgreSQL: under the tool's advisory lock, each migration committed on its own. */
async function migratePostgres(
  ctx: TaskContext,
  store: StoreConfig,
  db: MigrationDb,
  run: MigrationRun,
): Promise<void> {
  const { format, migrations, options, checkPlan, applyOne } = run;
  const key = await format.lockKey(db, options);
  const release = key === undefined ? async () => {} : await db.lock(key, ctx.signal);
  try {
    // Previewed in a rolled-back transaction (the plan may create the history table or a baseline
    // row), so the backup holds the database exactly as it was; the advisory lock keeps it so.
    const preview = await db.dryRun(() => format.plan(db, migrations, options));
    checkPlan(preview);
    if (preview.pending.length > 0) await backUp(ctx, store, db);
    const plan = await format.plan(db, migrations, options);
    checkPlan(plan);
    for (const m of plan.pending) await applyOne(db, m, false);
    await format.finish?.(db, options);
  } finally {
    await release();
  }
}

/**
 * SQLite: one write transaction holds the lock from reading the history to the last row, so
 * concurrent boots wait and then find everything applied; each migration sits in a savepoint, so a
 * failing one is rolled back alone and the ones before it are kept, as separate transactions would
 * leave them (without a commit and an fsync per file).
 */
async function migrateSqlite(
  ctx: TaskContext,
  store: StoreConfig,
  db: MigrationDb,
  run: MigrationRun,
): Promise<void> {
  const { format, migrations, options, checkPlan, applyOne } = run;
  // Before anything changes, and only by the process that holds the write lock and has something
  // pending: a copy to roll back to. takeBackup reads through a connection of its own (VACUUM INTO
  // cannot run inside a transaction), which sees the file as last committed, without the history
  // table this transaction's plan may just have created. Concurrent migrators wait for the lock,
  // then find nothing pending: one backup per change, never two writing or pruning at once.
  let failure: Error | undefined;
  await commitOrExplain(run, store, async () =>
    db.transaction(async () => {
      const plan = await format.plan(db, migrations, options);
      checkPlan(plan);
      if (plan.pending.length > 0) await backUp(ctx, store, db);
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
    }),
  );
  run.committed();
  if (failure) throw failure;
}

/** A backup before migrating, recorded and said with the command that rolls back to it. */
async function backUp(ctx: TaskContext, store: StoreConfig, db: MigrationDb): Promise<void> {
  const backup = await takeBackup(ctx, store, db);
  if (!backup) return;
  ctx.record('backup', backup);
  const shown = path.relative(ctx.config.dir, backup.path);
  ctx.note(
    'info',
    `backup before migrating: ${shown} (${backup.bytes} bytes, ${backup.duration_ms} ms); roll back with \`bootseq restore --from-backup ${shown} ${store.name}\``,
  );
}

/**
 * The folder read and checked, and what both dialects share while applying it: the plan check (drift
 * stops the boot before anything runs) and one migration applied and recorded for the run report.
 */
function createMigrationRun(ctx: TaskContext, store: StoreConfig, spec: BuiltinMigrate) {
  const { taskId } = ctx;
  const format = FORMATS[spec.history];
  const migrations = readFolder(taskId, spec, format);
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
        `${options.table} does not match ${spec.dirShown} (${format.name}); nothing was migrated:\n  ${plan.problems.map(escapeControl).join('\n  ')}`,
        {
          hint: `resolve each point above; \`bootseq checksum FILE --history ${format.name}\` prints what ${format.name} records for a file`,
        },
      );
    }
  };
  const isDiskFull = (error: unknown) => diskFullAt(store, error);
  /** "applied …" lines wait for their commit: a migration is applied once it is committed, not before. */
  const uncommitted: string[] = [];
  const committed = () => {
    for (const text of uncommitted.splice(0)) ctx.note('info', text);
  };
  const applyOne = async (db: MigrationDb, m: LocalMigration, inTransaction: boolean) => {
    ctx.signal.throwIfAborted();
    if (splitStatements(m.sql).length === 0)
      ctx.note('warn', `${m.script} holds no SQL statement: it is recorded as applied and changes nothing`);
    const started = Date.now();
    try {
      await format.apply(db, m, options, inTransaction);
    } catch (error) {
      throw failedMigration({
        taskId,
        store,
        dirShown: spec.dirShown,
        m,
        error,
        dialect: db.dialect,
        before: applied.length,
        isDiskFull,
      });
    }
    const entry = {
      version: m.version ?? null,
      script: m.script,
      checksum: showChecksum(m.checksum),
      duration_ms: Date.now() - started,
    };
    applied.push(entry);
    uncommitted.push(`applied ${m.script} (${entry.duration_ms} ms)`);
    if (!inTransaction) committed(); // PostgreSQL: each migration commits on its own
  };
  const summary = () =>
    `${applied.length} applied, ${migrations.length} in ${spec.dirShown} (${format.name} history in ${options.table})`;
  /** `2 applied (sqlx)`, `up to date (2, flyway)`: beside the task in a terminal. */
  const short = () =>
    applied.length > 0
      ? `${applied.length} applied (${format.name})`
      : `up to date (${migrations.length}, ${format.name})`;
  return { taskId, format, migrations, options, checkPlan, applyOne, committed, isDiskFull, summary, short };
}

/** Runs the SQLite transaction; a commit refused for a full disk is said as such, naming where. */
async function commitOrExplain(
  run: MigrationRun,
  store: StoreConfig,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    const full = run.isDiskFull(error);
    if (!full || error instanceof TaskFailedError) throw error;
    throw new TaskFailedError(
      run.taskId,
      `the file system holding ${full} is full: the migrations of this run could not be committed, nothing of them remains (${(error as Error).message})`,
      {
        cause: error,
        hint: `free space on the volume holding ${full}, then run \`bootseq migrate ${store.name}\``,
      },
    );
  }
}

/** A migration that failed, said with its file and line, what was undone, and what to do. */
function failedMigration(f: {
  taskId: string;
  store: StoreConfig;
  dirShown: string;
  m: LocalMigration;
  error: unknown;
  dialect: MigrationDb['dialect'];
  before: number;
  isDiskFull: (error: unknown) => string | undefined;
}): TaskFailedError {
  const { error, m } = f;
  const where = `${escapeControl(path.posix.join(f.dirShown, m.script))}${error instanceof StatementError && error.line ? `:${error.line}` : ''}`;
  const undone =
    m.transactional || f.dialect === 'sqlite'
      ? 'it was rolled back, nothing of it remains'
      : 'it ran outside a transaction, so statements before the failing one stay applied';
  const full = f.isDiskFull(error);
  // A StatementError is bounded already; anything else from a driver is cut here.
  const message = error instanceof StatementError ? error.message : excerpt((error as Error).message, 300);
  const next = `then run \`bootseq migrate ${f.store.name}\`; nothing was replicated and no process was started`;
  return new TaskFailedError(
    f.taskId,
    `${where}: ${full ? `the file system holding ${full} is full (${message})` : message} (${undone}; ${f.before} earlier migration(s) of this run stay applied)`,
    {
      cause: error,
      hint: full
        ? `free space on the volume holding ${full}, ${next}`
        : `fix the statement at ${where}, ${next}`,
    },
  );
}

/** The folder's migrations, or a TaskFailedError for what the tool would refuse before anything runs. */
function readFolder(taskId: string, spec: BuiltinMigrate, format: HistoryFormat): LocalMigration[] {
  const { migrations, problems } = format.resolve(spec.dir);
  if (problems.length > 0) {
    throw new TaskFailedError(
      taskId,
      `${spec.dirShown} holds files ${format.name} would refuse:\n  ${problems.map(escapeControl).join('\n  ')}`,
      {
        hint: `rename or fix those files; \`bootseq plan\` shows the store's migration folder`,
      },
    );
  }
  const control = transactionControl(migrations);
  if (control.length > 0) {
    throw new TaskFailedError(
      taskId,
      `${spec.dirShown} has transaction control inside migrations; nothing was migrated:\n  ${control.map(escapeControl).join('\n  ')}`,
      {
        hint: 'bootseq runs each migration in one transaction of its own: remove those statements, or start the file with `-- no-transaction` to manage transactions yourself',
      },
    );
  }
  return [...migrations];
}

/**
 * Where the store's data lives, when `error` comes from its file system being full; undefined otherwise.
 * SQLite says "database or disk is full", or only "disk I/O error" when a WAL write hits ENOSPC: then
 * the folder's free space decides.
 */
function diskFullAt(store: StoreConfig, error: unknown): string | undefined {
  const message = String((error as Error | undefined)?.message ?? error);
  if (store.kind !== 'sqlite')
    return /no space left on device|disk full/i.test(message) ? 'the database' : undefined;
  const folder = path.dirname(store.location);
  if (/database or disk is full|SQLITE_FULL|no space left on device/i.test(message)) return folder;
  if (!/disk I\/O error|SQLITE_IOERR/i.test(message)) return undefined;
  try {
    return fs.statfsSync(folder).bavail === 0 ? folder : undefined;
  } catch {
    return undefined;
  }
}
