// `bootseq restore [STORE…]`: the restore phase only. `bootseq restore --from-backup PATH STORE`:
// put a backup taken before a migration back (the operator's rollback).

import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../core/errors.js';
import { restoreFromBackup } from '../../phases/restore/from-backup.js';
import { runBoot } from './boot.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq restore [STORE…]
  Restore the named sqlite stores (default: all) from their Litestream replicas; a database file
  that exists is left alone. Starts nothing.
bootseq restore --from-backup PATH STORE
  Put a backup (from <report.dir>/backups/STORE/) in place of a sqlite store, with the app stopped;
  the current file is moved aside, not deleted.`;

export async function run(cmd: CommandContext): Promise<number> {
  if (cmd.fromBackup === undefined) {
    return runBoot(cmd, {
      command: 'restore',
      phases: ['restore'],
      stores: cmd.positionals,
      supervise: false,
    });
  }
  const config = loadConfig(cmd.configPath);
  const [name, ...extra] = cmd.positionals;
  const store = config.stores.find((s) => s.name === name);
  if (!name || extra.length > 0)
    throw new UsageError('expected one STORE: bootseq restore --from-backup PATH STORE');
  if (!store)
    throw new UsageError(`unknown store "${name}" (stores: ${config.stores.map((s) => s.name).join(', ')})`);
  if (store.kind !== 'sqlite')
    throw new UsageError(
      `--from-backup restores sqlite stores; ${name} is a postgres store`,
      'restore a PostgreSQL backup with pg_restore',
    );
  const backup = path.resolve(cmd.fromBackup);
  const result = await restoreFromBackup(store.name, store.location, backup);
  cmd.print(
    `restored ${path.relative(config.dir, store.location)} from ${backup} (${result.bytes} bytes)${result.movedAside ? `; the previous file is at ${path.relative(config.dir, result.movedAside)}` : ''}.\nNext: start the app (bootseq up); Litestream begins a new generation from this file.`,
  );
  return 0;
}
