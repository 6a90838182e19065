// `bootseq sync export|import`: the change-log sync engine (docs/sync.md) for the nodes' operators,
// the same one the boot uses for the inbox. Export writes the store's changes since what the peer was
// last sent as a change file; import applies files by the rules of docs/sync.md. The files an operator
// names are theirs: left where they are, remembered by hash (the same bytes again are skipped); a file
// inside the store's inbox is moved to done/ or rejected/ as the boot would. Exit 0 all applied (or
// known already); 1 a file refused or a transaction rolled back; 2 usage or config, or an export
// asked to start beyond the end of the log (nothing written or recorded).

import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { EXIT_FAILED, EXIT_OK } from '../../core/exit.js';
import { taskId } from '../../core/task.js';
import type { SyncConfig } from '../../config/schema.js';
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
      details: `Apply each change file to STORE: checked whole first (header, sha256, count, every change; not
from this node, not for another), else refused with the reason. One savepoint per transaction (a
failing one rolls back alone), transactions already applied skipped, the greater version wins (a
hybrid logical clock, then the node id), prefer_main tables prefer main. A FILE is left where it is
and remembered by its hash: the same bytes again are skipped (exit 0). A file in the store's inbox
moves to done/ or rejected/ as at boot. Exit 1 when a file was refused or a transaction rolled back.`,
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
    sync.ensureCapture(db, taskId('sync', store.name), store.sync);
    let failed = false;
    for (const file of files) if (!(await importFile(cmd, db, sync, store.sync, file))) failed = true;
    return failed ? EXIT_FAILED : EXIT_OK;
  } finally {
    db.close();
  }
}

type SyncModule = typeof import('../../db/sync/index.js');

/** One named file imported; false when it was refused or a transaction rolled back. */
async function importFile(
  cmd: CommandContext,
  db: import('../../db/sync/index.js').Db,
  sync: SyncModule,
  spec: SyncConfig,
  file: string,
): Promise<boolean> {
  try {
    if (!fs.statSync(file).isFile()) throw new Error('not a file');
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`, 'name change files that exist');
  }
  const name = path.basename(file);
  // A file in the store's inbox is handled as the boot would handle it; any other stays the user's.
  const inInbox = spec.inbox !== undefined && path.resolve(path.dirname(file)) === spec.inbox;
  const result = await sync.importChanges(db, spec, sync.fileLines(file), name);
  if (result.status === 'rejected') {
    const where = inInbox
      ? ` (moved to ${sync.settleFile(file, spec, 'rejected', result.reason)})`
      : ' (the file is left where it is)';
    cmd.print(`${name}: refused whole, nothing applied: ${result.reason}${where}`);
    return false;
  }
  if (inInbox) sync.settleFile(file, spec, 'done');
  if (result.status === 'known') {
    cmd.print(
      `${name}: already imported (the same bytes, as ${result.name} at ${result.importedAt}); nothing to do`,
    );
    return true;
  }
  cmd.print(sync.describeImport(file, result, spec.maxClockSkewMs));
  return result.failed === 0;
}

function exportTo(
  cmd: CommandContext,
  db: import('../../db/sync/index.js').Db,
  sync: SyncModule,
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
    if (!(error instanceof sync.ExportError)) throw error;
    throw new UsageError(
      `${storeName}: ${error.message}`,
      fromLsn === undefined
        ? `run \`bootseq migrate ${storeName}\` first`
        : 'give --from-lsn an LSN within the log, or leave it out to export what the peer has not been sent',
    );
  }
  try {
    if (cmd.out === undefined) exported.writeTo((chunk) => cmd.print(chunk.replace(/\n$/, '')));
    else {
      sync.writeExport(exported, cmd.out);
      const m = exported.meta;
      cmd.print(
        `wrote ${cmd.out}: ${m.count} change${m.count === 1 ? '' : 's'} of ${storeName} from node ${m.source_node} (lsn ${m.from_lsn}..${m.to_lsn})${m.to ? ` for ${m.to}` : ''}`,
      );
    }
    exported.commit();
  } finally {
    exported.close();
  }
  return EXIT_OK;
}
