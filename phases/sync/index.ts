// The sync phase (docs/sync.md): a sqlite store with `sync:` gets its capture triggers checked and
// then every change file waiting in its inbox applied, oldest first, after migrate and seed and
// before verify, so that verify checks the merged data, Litestream ships it and the app starts on it.
// A file refused whole (hash, header, from this node itself) stops the boot: a node must not serve on
// half-merged data. It goes to inbox/rejected/ with a reason; applied files go to inbox/done/.

import path from 'node:path';
import { escapeControl, excerpt, TaskFailedError } from '../../core/errors.js';
import type { Config } from '../../config/schema.js';
import type { Phase, TaskContext } from '../../core/task.js';
import {
  describeImport,
  ensureCapture,
  importChanges,
  inboxFiles,
  openSyncDb,
  settleFile,
} from '../../db/sync/index.js';
import fs from 'node:fs';

type Store = Config['stores'][number];

export const sync: Phase = {
  name: 'sync',
  tasks: (config) =>
    config.stores.flatMap((store) =>
      store.kind === 'sqlite' && store.sync
        ? [
            {
              id: `sync:${store.name}`,
              phase: 'sync' as const,
              target: store.name,
              after: [],
              describe: `capture ${store.sync.tables.join(', ')} as node ${store.sync.node} (${store.sync.role})${store.sync.inbox ? `; apply change files in ${path.relative(config.dir, store.sync.inbox) || '.'}` : ''}`,
              run: (ctx: TaskContext) => syncAtBoot(ctx, store),
            },
          ]
        : [],
    ),
};

async function syncAtBoot(ctx: TaskContext, store: Store): Promise<void> {
  const spec = store.sync;
  if (!spec) return;
  const db = await openSyncDb(store.location);
  const files: Record<string, unknown>[] = [];
  const totals = { applied: 0, skipped: 0, failed: 0, conflicts: {} as Record<string, number> };
  ctx.record('sync', { node: spec.node, role: spec.role, files, totals });
  try {
    ensureCapture(db, ctx.taskId, spec);
    for (const file of inboxFiles(spec)) {
      ctx.signal.throwIfAborted();
      const result = importChanges(db, spec, fs.readFileSync(file, 'utf8'), path.basename(file));
      if (result.status === 'rejected') {
        const moved = settleFile(file, spec, 'rejected', result.reason);
        files.push({ file: path.basename(file), status: 'rejected', reason: result.reason });
        throw new TaskFailedError(
          ctx.taskId,
          `${escapeControl(path.basename(file))} was refused whole (${excerpt(result.reason, 300)}); nothing in it was applied and the boot stops so that ${store.name} does not serve half-merged data`,
          {
            hint: `it is now ${escapeControl(path.relative(ctx.config.dir, moved))} (the reason beside it); ask its node for a good copy, or leave it there and start again without it`,
          },
        );
      }
      settleFile(file, spec, 'done');
      const line = describeImport(file, result);
      files.push({
        file: path.basename(file),
        status: 'applied',
        source_node: result.meta.source_node,
        applied: result.applied,
        skipped: result.skipped,
        failed: result.failed,
        conflicts: result.conflicts,
      });
      totals.applied += result.applied;
      totals.skipped += result.skipped;
      totals.failed += result.failed.length;
      for (const [rule, n] of Object.entries(result.conflicts))
        totals.conflicts[rule] = (totals.conflicts[rule] ?? 0) + n;
      ctx.note(result.failed.length > 0 ? 'warn' : 'info', line);
      for (const f of result.failed) ctx.note('warn', `transaction ${f.tx_id} was rolled back: ${f.error}`);
    }
  } finally {
    db.close();
  }
  ctx.summarize(
    files.length === 0
      ? `capture on ${spec.tables.length} table${spec.tables.length === 1 ? '' : 's'}; inbox empty`
      : `${files.length} file${files.length === 1 ? '' : 's'}: ${totals.applied} applied, ${totals.skipped} skipped, ${totals.failed} failed`,
  );
}
