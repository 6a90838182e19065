// A pg_dump -Fc of a postgres store taken before the built-in migrator changes it (a backup before changes:
// docs/incidents.md (seeds/001)); `bootseq restore --from-backup` puts one back with pg_restore. A backup
// that cannot be taken stops the migration: migrating without the promised copy is not an option
// (backup.postgres: false is the explicit way out). The password reaches pg_dump as PGPASSWORD.

import fs from 'node:fs';
import path from 'node:path';
import type { Config, TaskContext } from '../../entrypoint/core/task.js';
import type { BackupRecord } from './backup.js';

type Store = Config['stores'][number];

/** conninfo without the password, and the password for PGPASSWORD. */
export function splitPassword(url: string): { conninfo: string; env: Record<string, string> } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { conninfo: u.toString(), env: password ? { PGPASSWORD: password } : {} };
}

export async function backupPostgres(ctx: TaskContext, store: Store): Promise<BackupRecord> {
  const dir = path.join(ctx.config.backup.dir, store.name);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `${new Date().toISOString().replace(/:/g, '-')}.dump`);
  const { conninfo, env } = splitPassword(store.location);
  const started = Date.now();
  await ctx.run({
    command: { file: 'pg_dump', args: ['-Fc', '--no-owner', '-f', target, '-d', conninfo] },
    env,
    display: `pg_dump -Fc -f ${path.relative(ctx.config.dir, target)} (${store.name})`,
    hint: `no migration ran: the backup before migrating failed. pg_dump must be at least the server's version; fix it, or set backup.postgres: false to migrate without a backup`,
  });
  const names = fs
    .readdirSync(dir)
    .filter((n) => /^\d{4}-.*Z\.dump$/.test(n))
    .sort();
  for (const name of names.slice(0, Math.max(0, names.length - ctx.config.backup.keep)))
    fs.rmSync(path.join(dir, name), { force: true });
  return { path: target, bytes: fs.statSync(target).size, duration_ms: Date.now() - started };
}
