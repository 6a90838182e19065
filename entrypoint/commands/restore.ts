// `bootseq restore [STORE…]`: the restore phase only. `bootseq restore --from-backup PATH STORE`:
// put a backup taken before a migration back (the operator's rollback; db/backups does the work).

import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { spawner } from '../../core/spawn.js';
import type { Rollback, StartChild } from '../../db/backups/index.js';
import { EXIT_OK } from '../../core/exit.js';
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
      phases: ['lease', 'restore'],
      stores: cmd.positionals,
      supervise: false,
    });
  }
  const { loadConfig } = await import('../../config/load.js');
  const config = loadConfig(cmd.configPath);
  const [name, ...extra] = cmd.positionals;
  const store = config.stores.find((s) => s.name === name);
  if (!name || extra.length > 0)
    throw new UsageError('expected one STORE: bootseq restore --from-backup PATH STORE');
  if (!store)
    throw new UsageError(`unknown store "${name}" (stores: ${config.stores.map((s) => s.name).join(', ')})`);
  const backup = path.resolve(cmd.fromBackup);
  // execa is loaded only once pg_restore is about to start: a sqlite rollback never needs it.
  const start: StartChild = async (command) => {
    await spawner.load();
    return spawner.start(command);
  };
  const { rollBack } = await import('../../db/backups/index.js');
  const result = await rollBack(store, backup, { start });
  cmd.print(describeRollback(result, { dir: config.dir, location: store.location, backup }));
  return EXIT_OK;
}

function describeRollback(
  result: Rollback,
  where: { readonly dir: string; readonly location: string; readonly backup: string },
): string {
  if (result.kind === 'postgres') {
    return `restored ${result.target} from ${where.backup}; the previous database is kept as ${result.keptAs} (drop it once you are sure).\nNext: start the app (bootseq up).`;
  }
  return `restored ${path.relative(where.dir, where.location)} from ${where.backup} (${result.bytes} bytes)${result.movedAside ? `; the previous file is at ${path.relative(where.dir, result.movedAside)}` : ''}.\nNext: start the app (bootseq up); Litestream begins a new generation from this file.`;
}
