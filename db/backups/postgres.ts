// Backups of postgres stores. Taking one: `pg_dump -Fc` before the built-in migrator changes the
// store (a backup before changes: docs/incidents.md (seeds/001)); one that cannot be taken stops the migration, since
// migrating without the promised copy is not an option (backup.postgres: false is the explicit way
// out). Putting one back (`bootseq restore --from-backup`): never leaves the database half restored:
// the dump goes into a new database in one transaction, and only then are the two swapped by renaming;
// the current database is kept under another name, as the sqlite rollback moves the file aside.
// The password reaches pg_dump and pg_restore as PGPASSWORD, never on a command line. Never prints
// or emits: the callers say what happened.

import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { TaskFailedError } from '../../core/errors.js';
import { pruneStamped, stampedName } from '../../core/stamped-files.js';
import { taskId, type Child, type CommandSpec, type TaskContext } from '../../core/task.js';
import { hasTables, quoteIdent, type MigrationDb } from '../database.js';
import { splitPassword } from '../postgres.js';
import { describePostgres } from '../store.js';
import { BACKUP_EXT, backupDir, type BackupRecord, type BackupStore } from './layout.js';

/** A pg_dump -Fc of the store, through `db` (its open connection); undefined when it has no tables yet. */
export async function backupPostgres(
  ctx: TaskContext,
  store: BackupStore,
  db: MigrationDb,
): Promise<BackupRecord | undefined> {
  if (!(await hasTables(db))) return undefined; // nothing to lose yet
  const dir = backupDir(ctx.config, store.name);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, stampedName(BACKUP_EXT.postgres));
  const { conninfo, env } = splitPassword(store.location);
  const started = Date.now();
  await ctx.run({
    command: { file: 'pg_dump', args: ['-Fc', '--no-owner', '-f', target, '-d', conninfo] },
    env,
    display: `pg_dump -Fc -f ${path.relative(ctx.config.dir, target)} (${store.name})`,
    hint: `no migration ran: the backup before migrating failed. pg_dump must be at least the server's version; fix it, or set backup.postgres: false to migrate without a backup`,
  });
  pruneStamped(dir, BACKUP_EXT.postgres, ctx.config.backup.keep);
  return { path: target, bytes: fs.statSync(target).size, duration_ms: Date.now() - started };
}

export interface PostgresRollback {
  /** host:port/database of the store, as messages show it. */
  readonly target: string;
  /** The name the database that was in place is kept under. */
  readonly keptAs: string;
}

/** Starts a child process (pg_restore); the command that asks for a rollback owns the spawning. */
export type StartChild = (command: CommandSpec) => Promise<Child>;

/**
 * Puts the pg_dump -Fc file `backup` back as the store's database. Refused while other sessions use
 * the database: stop the app first.
 */
export async function rollBackPostgres(
  store: BackupStore,
  backup: string,
  start: StartChild,
): Promise<PostgresRollback> {
  const id = taskId('restore', store.name);
  if (!fs.existsSync(backup) || fs.readFileSync(backup).subarray(0, 5).toString('latin1') !== 'PGDMP') {
    throw new TaskFailedError(
      id,
      `${backup} is not a usable backup: expected a pg_dump -Fc file; nothing was changed`,
      { hint: `pick a file from the backups folder of ${store.name}` },
    );
  }
  const target = describePostgres(store.location);
  const { default: pgModule } = await import('pg');
  const connect = (database: string) => connectTo(pgModule, store.location, database);
  const database = await currentDatabase(connect, store.location);
  // Renaming a database needs a connection to another one: postgres, or template1 for postgres itself.
  const admin = await connect(database === 'postgres' ? 'template1' : 'postgres');
  const stamp = Date.now().toString(36);
  const swap = {
    database,
    // Identifiers are cut at 63 bytes by PostgreSQL; cut here so the names used are the names made.
    incoming: `${database}_restoring_${stamp}`.slice(0, 63),
    aside: `${database}_before_restore_${stamp}`.slice(0, 63),
  };
  try {
    const busy = await otherSessions(admin, database);
    if (busy.length > 0) {
      throw new TaskFailedError(
        id,
        `${target} has ${busy.length} other session(s) (backend pid ${busy.join(', ')}); nothing was changed`,
        {
          hint: 'stop the app (and anything else connected) first, then run this again',
        },
      );
    }
    await admin.query(`CREATE DATABASE ${quoteIdent(swap.incoming)}`);
    await restoreInto(admin, {
      taskId: id,
      url: store.location,
      target,
      backup,
      incoming: swap.incoming,
      start,
    });
    const late = await otherSessions(admin, database);
    if (late.length > 0) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(swap.incoming)}`);
      throw new TaskFailedError(
        id,
        `a session connected to ${target} meanwhile (backend pid ${late.join(', ')}); nothing was changed`,
        { hint: 'stop the app first, then run this again' },
      );
    }
    await admin.query(`ALTER DATABASE ${quoteIdent(swap.database)} RENAME TO ${quoteIdent(swap.aside)}`);
    await admin.query(`ALTER DATABASE ${quoteIdent(swap.incoming)} RENAME TO ${quoteIdent(swap.database)}`);
  } finally {
    await admin.end();
  }
  return { target, keptAs: swap.aside };
}

type Client = InstanceType<typeof pg.Client>;

async function connectTo(pgModule: typeof pg, url: string, database: string): Promise<Client> {
  const u = new URL(url);
  u.pathname = `/${database}`;
  const client = new pgModule.Client({ connectionString: u.toString() });
  await client.connect();
  return client;
}

/** The database the store's URL lands on (the server's default when the URL names none). */
async function currentDatabase(connect: (database: string) => Promise<Client>, url: string): Promise<string> {
  const live = await connect(decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres');
  try {
    return ((await live.query('SELECT current_database() AS d')).rows as { d: string }[])[0]!.d;
  } finally {
    await live.end();
  }
}

async function otherSessions(admin: Client, database: string): Promise<number[]> {
  const { rows } = await admin.query(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  return (rows as { pid: number }[]).map((r) => r.pid);
}

/** pg_restore into the new database `incoming` in one transaction; on failure it is dropped again. */
async function restoreInto(
  admin: Client,
  job: {
    taskId: string;
    url: string;
    target: string;
    backup: string;
    incoming: string;
    start: StartChild;
  },
): Promise<void> {
  const u = new URL(job.url);
  u.pathname = `/${job.incoming}`;
  const { conninfo, env } = splitPassword(u.toString());
  const child = await job.start({
    command: {
      file: 'pg_restore',
      args: ['--single-transaction', '--exit-on-error', '--no-owner', '-d', conninfo, job.backup],
    },
    env,
  });
  const exit = await child.exited;
  if (exit.exitCode === 0) return;
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(job.incoming)}`);
  throw new TaskFailedError(
    job.taskId,
    `pg_restore of ${job.backup} failed (exit ${exit.exitCode ?? exit.signal}); ${job.target} was not changed`,
    {
      outputTail: child.outputTail(),
      hint: 'pg_restore must be at least the version of the pg_dump that wrote the file',
    },
  );
}
