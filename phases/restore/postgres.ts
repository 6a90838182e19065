// Restores a postgres store from a dump or baseline DDL (docs/incidents.md (seeds/003)) — only when the
// database has no tables at all: a database with tables is never touched. Plain SQL runs through psql, a
// pg_dump -Fc file through pg_restore, each in a single transaction, so a failing dump leaves the database
// empty. The password reaches them through PGPASSWORD, never the command line.

import fs from 'node:fs';
import path from 'node:path';
import type { StoreConfig } from '../../config/schema.js';
import type { TaskContext } from '../../core/task.js';
import { describePostgres, openStore, splitPassword } from '../../db/index.js';

export async function restorePostgres(ctx: TaskContext, store: StoreConfig): Promise<void> {
  const dump = store.restoreDump;
  if (!dump) return;
  const target = describePostgres(store.location);
  const db = await openStore(ctx, store);
  let tables: number;
  try {
    const rows = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    tables = Number(rows[0]?.n ?? 0);
  } finally {
    await db.close();
  }
  const shown = path.relative(ctx.config.dir, dump);
  if (tables > 0) {
    ctx.note('info', `${target} has ${tables} tables or sequences; left as it is (${shown} not applied)`);
    ctx.summarize('has tables, kept');
    ctx.record('restored', false);
    return;
  }
  const custom = fs.readFileSync(dump).subarray(0, 5).toString('latin1') === 'PGDMP';
  const { conninfo, env } = splitPassword(store.location);
  const command = custom
    ? {
        file: 'pg_restore',
        args: ['--no-owner', '--exit-on-error', '--single-transaction', '-d', conninfo, dump],
      }
    : {
        file: 'psql',
        args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', conninfo, '-f', dump],
      };
  await ctx.run({
    command,
    env,
    display: `${command.file} … ${shown} into ${target}`,
    hint: `${shown} failed in a single transaction, so ${target} is still empty; fix the dump (the lines above name the statement), then start again`,
  });
  ctx.record('restored', true);
  ctx.note('info', `applied ${shown} to the empty database ${target} (${custom ? 'pg_restore' : 'psql'})`);
  ctx.summarize(`${shown} applied to the empty database`);
}
