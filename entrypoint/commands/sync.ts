// `bootseq sync export|import`: the change-log sync engine (docs/sync.md) for the nodes' operators,
// the same one the boot uses for the inbox. Export writes the store's changes since what the peer was
// last sent as a change file; import applies files by the seeds/004 rules and moves each to the
// inbox's done/ or rejected/ (with the reason). Exit 0 all applied; 1 a file refused or a transaction
// rolled back; 2 usage or config.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { EXIT_FAILED, EXIT_OK } from '../../core/exit.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'sync',
  usage: [
    {
      synopsis: 'sync export STORE [--to PEER] [--from-lsn N] [--out FILE]',
      summary: "write STORE's change log since what PEER has as a change file (NDJSON)",
      details: `Write the changes of STORE (a sqlite store with sync:) made after --from-lsn (default: what
sync_state says PEER was last sent) as a change file: a {"__meta__": …} line with source_node, client_id,
from_lsn, to_lsn, count and sha256, then one change per line. A client exports its own changes (PEER
defaults to its main); a main also passes on what it applied from other clients, never back to where
it came from. To FILE (written whole, then renamed) or stdout. Records what PEER was sent.`,
    },
    {
      synopsis: 'sync import STORE FILE…',
      summary: 'apply change files to STORE (idempotent; conflicts by the sync rules)',
      details: `Apply each change file to STORE: checked whole first (header, sha256, count; not from this node),
else refused, moved to <inbox>/rejected/ with a .reason file. One savepoint per transaction (a failing
one rolls back alone), transactions already applied skipped, last write wins on created_at,
prefer_main tables prefer main. Applied files move to <inbox>/done/. Exit 1 when a file was refused
or a transaction rolled back.`,
    },
  ],
  options: {
    to: { type: 'string', value: 'PEER', help: 'the node the export is for (default: a client’s main)' },
    'from-lsn': {
      type: 'string',
      value: 'N',
      help: 'export the changes after LSN N (default: what PEER has)',
    },
    out: { type: 'string', value: 'FILE', help: 'write the export to FILE instead of stdout' },
  },
  positionals: { name: 'STORE', count: 'any' },
};

export async function run(cmd: CommandContext): Promise<number> {
  const [action, storeName, ...files] = cmd.positionals;
  if (action !== 'export' && action !== 'import')
    throw new UsageError(
      `expected \`bootseq sync export STORE\` or \`bootseq sync import STORE FILE…\`, found "${cmd.positionals.join(' ')}"`,
      'run `bootseq help sync`',
    );
  if (action === 'export' && files.length > 0)
    throw new UsageError(
      `\`bootseq sync export\` takes one store, found "${files.join(' ')}" after it`,
      'run `bootseq help sync`',
    );
  if (action === 'import' && files.length === 0)
    throw new UsageError(
      '`bootseq sync import STORE FILE…` needs at least one file',
      'run `bootseq help sync`',
    );
  if (action === 'import' && (cmd.to !== undefined || cmd.fromLsn !== undefined || cmd.out !== undefined))
    throw new UsageError(
      '--to, --from-lsn and --out apply to `bootseq sync export` only',
      'run `bootseq help sync`',
    );
  const { loadConfig } = await import('../../config/load.js');
  const config = loadConfig(cmd.configPath);
  const syncable = config.stores.filter((s) => s.kind === 'sqlite' && s.sync).map((s) => s.name);
  const store = config.stores.find((s) => s.name === storeName);
  if (!store || store.kind !== 'sqlite' || !store.sync)
    throw new UsageError(
      storeName === undefined
        ? `expected a store after \`sync ${action}\` (stores with sync: ${syncable.join(', ') || 'none'})`
        : `"${storeName}" is not a store with sync: in ${config.file} (stores with sync: ${syncable.join(', ') || 'none'})`,
      'add stores.NAME.sync to bootseq.yml (docs/sync.md), or name one of those stores',
    );
  if (!fs.existsSync(store.location))
    throw new UsageError(
      `${store.location} does not exist yet`,
      `run \`bootseq migrate ${store.name}\` first: it creates the database and its change log`,
    );
  const sync = await import('../../db/sync/index.js');
  const db = await sync.openSyncDb(store.location);
  try {
    if (action === 'export') return exportTo(cmd, db, sync, store.name);
    let failed = false;
    sync.ensureCapture(db, `sync:${store.name}`, store.sync);
    for (const file of files) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (error) {
        throw new UsageError(
          `cannot read ${file}: ${(error as Error).message}`,
          'name change files that exist',
        );
      }
      const result = sync.importChanges(db, store.sync, text, path.basename(file));
      if (result.status === 'rejected') {
        const moved = sync.settleFile(file, store.sync, 'rejected', result.reason);
        cmd.print(
          `${path.basename(file)}: refused whole, nothing applied: ${result.reason} (moved to ${moved})`,
        );
        failed = true;
        continue;
      }
      sync.settleFile(file, store.sync, 'done');
      cmd.print(sync.describeImport(file, result));
      for (const f of result.failed) cmd.print(`  transaction ${f.tx_id} rolled back: ${f.error}`);
      if (result.failed.length > 0) failed = true;
    }
    return failed ? EXIT_FAILED : EXIT_OK;
  } finally {
    db.close();
  }
}

function exportTo(
  cmd: CommandContext,
  db: import('../../db/sync/index.js').Db,
  sync: typeof import('../../db/sync/index.js'),
  storeName: string,
): number {
  let fromLsn: number | undefined;
  if (cmd.fromLsn !== undefined) {
    fromLsn = Number(cmd.fromLsn);
    if (!/^\d+$/.test(cmd.fromLsn))
      throw new UsageError(`--from-lsn: expected a whole number ≥ 0, found "${cmd.fromLsn}"`);
  }
  let exported;
  try {
    exported = sync.exportChanges(db, { to: cmd.to, fromLsn });
  } catch (error) {
    throw new UsageError(
      `${storeName}: ${(error as Error).message}`,
      `run \`bootseq migrate ${storeName}\` first`,
    );
  }
  if (cmd.out === undefined) {
    cmd.print(exported.text.replace(/\n$/, ''));
  } else {
    const tmp = `${cmd.out}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, exported.text);
    fs.renameSync(tmp, cmd.out);
    const m = exported.meta;
    cmd.print(
      `wrote ${cmd.out}: ${m.count} change${m.count === 1 ? '' : 's'} of ${storeName} from node ${m.source_node} (lsn ${m.from_lsn}..${m.to_lsn})${m.to ? ` for ${m.to}` : ''}`,
    );
  }
  exported.commit();
  return EXIT_OK;
}
