// `bootseq restore [STORE…]`: the restore phase only. `bootseq restore --from-backup PATH STORE`:
// put a backup taken before a migration back (the operator's rollback).

import fs from 'node:fs';
import path from 'node:path';
import { TaskFailedError, UsageError } from '../core/errors.js';
import { loadSpawner, startChild } from '../core/spawn.js';
import { describePostgres } from '../../db/index.js';
import { splitPassword } from '../../phases/migrate/backup-postgres.js';
import { restoreFromBackup } from '../../phases/restore/from-backup.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'restore',
  usage: [
    {
      synopsis: 'restore [STORE…]',
      summary: 'restore missing sqlite databases from their replicas',
      details: `Restore the named sqlite stores (default: all) from their Litestream replicas; a database file
that exists is left alone. Starts nothing.`,
    },
    {
      synopsis: 'restore --from-backup PATH STORE',
      summary: 'put a pre-migration backup back (the app stopped)',
      details: `Put a backup (from <report.dir>/backups/STORE/) in place of a store, with the app stopped: a
sqlite file is moved aside, not deleted; a postgres database is kept under another name.`,
    },
  ],
  options: {
    'from-backup': { type: 'string', value: 'PATH', help: 'the backup to put back in place of STORE' },
  },
  positionals: { name: 'STORE', count: 'any' },
};

export async function run(cmd: CommandContext): Promise<number> {
  if (cmd.fromBackup === undefined) {
    const { runBoot } = await import('./boot.js');
    return runBoot(cmd, {
      command: 'restore',
      phases: ['restore'],
      stores: cmd.positionals,
      supervise: false,
    });
  }
  const { loadConfig } = await import('../config/load.js');
  const config = loadConfig(cmd.configPath);
  const [name, ...extra] = cmd.positionals;
  const store = config.stores.find((s) => s.name === name);
  if (!name || extra.length > 0)
    throw new UsageError('expected one STORE: bootseq restore --from-backup PATH STORE');
  if (!store)
    throw new UsageError(`unknown store "${name}" (stores: ${config.stores.map((s) => s.name).join(', ')})`);
  const backup = path.resolve(cmd.fromBackup);
  if (store.kind === 'postgres') return restorePostgresBackup(cmd, store.location, store.name, backup);
  const result = await restoreFromBackup(store.name, store.location, backup);
  cmd.print(
    `restored ${path.relative(config.dir, store.location)} from ${backup} (${result.bytes} bytes)${result.movedAside ? `; the previous file is at ${path.relative(config.dir, result.movedAside)}` : ''}.\nNext: start the app (bootseq up); Litestream begins a new generation from this file.`,
  );
  return 0;
}

/**
 * Puts a pg_dump -Fc backup back as the store's database, without ever leaving it half restored: the
 * dump goes into a new database in one transaction, and only then are the two swapped by renaming; the
 * current database is kept under another name (as the sqlite rollback moves the file aside). Refused
 * while other sessions use the database: stop the app first.
 */
async function restorePostgresBackup(
  cmd: CommandContext,
  url: string,
  name: string,
  backup: string,
): Promise<number> {
  const taskId = `restore:${name}`;
  if (!fs.existsSync(backup) || fs.readFileSync(backup).subarray(0, 5).toString('latin1') !== 'PGDMP') {
    throw new TaskFailedError(
      taskId,
      `${backup} is not a usable backup: expected a pg_dump -Fc file; nothing was changed`,
      { hint: `pick a file from the backups folder of ${name}` },
    );
  }
  const target = describePostgres(url);
  const { default: pg } = await import('pg');
  const connect = async (database: string) => {
    const u = new URL(url);
    u.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: u.toString() });
    await client.connect();
    return client;
  };
  const others = async (admin: InstanceType<typeof pg.Client>, database: string) =>
    (
      (
        await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
          database,
        ])
      ).rows as { pid: number }[]
    ).map((r) => r.pid);
  const live = await connect(decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres');
  const database = ((await live.query('SELECT current_database() AS d')).rows as { d: string }[])[0]!.d;
  await live.end();
  const admin = await connect(database === 'postgres' ? 'template1' : 'postgres');
  const stamp = Date.now().toString(36);
  const incoming = `${database}_restoring_${stamp}`.slice(0, 63);
  const aside = `${database}_before_restore_${stamp}`.slice(0, 63);
  try {
    const busy = await others(admin, database);
    if (busy.length > 0) {
      throw new TaskFailedError(
        taskId,
        `${target} has ${busy.length} other session(s) (backend pid ${busy.join(', ')}); nothing was changed`,
        {
          hint: 'stop the app (and anything else connected) first, then run this again',
        },
      );
    }
    await admin.query(`CREATE DATABASE "${incoming}"`);
    await loadSpawner();
    const u = new URL(url);
    u.pathname = `/${incoming}`;
    const { conninfo, env } = splitPassword(u.toString());
    const child = startChild({
      command: {
        file: 'pg_restore',
        args: ['--single-transaction', '--exit-on-error', '--no-owner', '-d', conninfo, backup],
      },
      env,
    });
    const exit = await child.exited;
    if (exit.exitCode !== 0) {
      await admin.query(`DROP DATABASE IF EXISTS "${incoming}"`);
      throw new TaskFailedError(
        taskId,
        `pg_restore of ${backup} failed (exit ${exit.exitCode ?? exit.signal}); ${target} was not changed`,
        {
          outputTail: child.outputTail(),
          hint: 'pg_restore must be at least the version of the pg_dump that wrote the file',
        },
      );
    }
    const late = await others(admin, database);
    if (late.length > 0) {
      await admin.query(`DROP DATABASE IF EXISTS "${incoming}"`);
      throw new TaskFailedError(
        taskId,
        `a session connected to ${target} meanwhile (backend pid ${late.join(', ')}); nothing was changed`,
        { hint: 'stop the app first, then run this again' },
      );
    }
    await admin.query(`ALTER DATABASE "${database}" RENAME TO "${aside}"`);
    await admin.query(`ALTER DATABASE "${incoming}" RENAME TO "${database}"`);
  } finally {
    await admin.end();
  }
  cmd.print(
    `restored ${target} from ${backup}; the previous database is kept as ${aside} (drop it once you are sure).\nNext: start the app (bootseq up).`,
  );
  return 0;
}
