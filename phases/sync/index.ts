// The sync phase (docs/sync.md): a sqlite store with `sync:` gets its capture triggers checked and
// then every change file waiting in its inbox applied, oldest first, after migrate and seed and
// before verify, so that verify checks the merged data, Litestream ships it and the app starts on it.
// A file refused whole (hash, header, from this node itself) stops the boot: a node must not serve on
// half-merged data. It goes to inbox/rejected/ with a reason; applied files go to inbox/done/.
// The import is streamed and gives the event loop a turn after every commit, so /livez answers and a
// SIGTERM stops it between transactions (the file stays in the inbox and the next boot finishes it).

import path from 'node:path';
import { escapeControl, excerpt, TaskFailedError } from '../../core/errors.js';
import type { Config } from '../../config/schema.js';
import { taskId, type Phase, type TaskContext } from '../../core/task.js';
import {
  describeImport,
  ensureCapture,
  fileLines,
  importChanges,
  inboxFiles,
  openSyncDb,
  settleFile,
  type Applied,
  type Db,
} from '../../db/sync/index.js';

type Store = Config['stores'][number];
type SyncSpec = NonNullable<Extract<Store, { kind: 'sqlite' }>['sync']>;

/** How often a long import says how far it is. */
const PROGRESS_EVERY_MS = 2000;

export const sync: Phase = {
  name: 'sync',
  tasks: (config) =>
    config.stores.flatMap((store) =>
      store.kind === 'sqlite' && store.sync
        ? [
            {
              id: taskId('sync', store.name),
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

interface Totals {
  applied: number;
  skipped: number;
  failed: number;
  conflicts: Record<string, number>;
}

async function syncAtBoot(ctx: TaskContext, store: Store): Promise<void> {
  const spec = store.sync;
  if (!spec) return;
  const db = await openSyncDb(store.location);
  const files: Record<string, unknown>[] = [];
  const totals: Totals = { applied: 0, skipped: 0, failed: 0, conflicts: {} };
  ctx.record('sync', { node: spec.node, role: spec.role, files, totals });
  try {
    ensureCapture(db, ctx.taskId, spec);
    for (const file of inboxFiles(spec)) {
      ctx.signal.throwIfAborted();
      const applied = await importOne(ctx, store, spec, db, file);
      files.push(applied);
    }
  } finally {
    db.close();
  }
  for (const f of files) addTo(totals, f);
  ctx.summarize(
    files.length === 0
      ? `capture on ${spec.tables.length} table${spec.tables.length === 1 ? '' : 's'}; inbox empty`
      : `${files.length} file${files.length === 1 ? '' : 's'}: ${totals.applied} applied, ${totals.skipped} skipped, ${totals.failed} failed`,
  );
}

function addTo(totals: Totals, f: Record<string, unknown>): void {
  if (f['status'] !== 'applied') return;
  const r = f as unknown as Pick<Applied, 'applied' | 'skipped' | 'failed' | 'conflicts'>;
  totals.applied += r.applied;
  totals.skipped += r.skipped;
  totals.failed += r.failed;
  for (const [rule, n] of Object.entries(r.conflicts))
    totals.conflicts[rule] = (totals.conflicts[rule] ?? 0) + n;
}

/** One inbox file: applied and moved to done/, or refused (the boot stops), or known already. */
async function importOne(
  ctx: TaskContext,
  store: Store,
  spec: SyncSpec,
  db: Db,
  file: string,
): Promise<Record<string, unknown>> {
  const name = path.basename(file);
  let lastNote = Date.now();
  const result = await importChanges(db, spec, fileLines(file), name, {
    signal: ctx.signal,
    onProgress: (step, done, total) => {
      if (Date.now() - lastNote < PROGRESS_EVERY_MS) return;
      lastNote = Date.now();
      ctx.note(
        'info',
        `${escapeControl(name)}: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} changes ${step}`,
      );
    },
  });
  if (result.status === 'rejected') {
    const moved = settleFile(file, spec, 'rejected', result.reason);
    throw new TaskFailedError(
      ctx.taskId,
      `${escapeControl(name)} was refused whole (${excerpt(result.reason, 300)}); nothing in it was applied and the boot stops so that ${store.name} does not serve half-merged data`,
      {
        hint: `it is now ${escapeControl(path.relative(ctx.config.dir, moved))} (the reason beside it); ask its node for a good copy, or leave it there and start again without it`,
      },
    );
  }
  settleFile(file, spec, 'done');
  if (result.status === 'known') {
    ctx.note(
      'info',
      `${escapeControl(name)}: already imported (the same bytes, as ${escapeControl(result.name)} at ${result.importedAt}); moved to done/`,
    );
    return { file: name, status: 'known', as: result.name };
  }
  ctx.note(
    result.failed > 0 || result.ahead.length > 0 ? 'warn' : 'info',
    describeImport(file, result, spec.maxClockSkewMs),
  );
  return {
    file: name,
    status: 'applied',
    source_node: result.meta.source_node,
    applied: result.applied,
    skipped: result.skipped,
    failed: result.failed,
    failures: result.failures,
    conflicts: result.conflicts,
    ahead: result.ahead.map((a) => ({ node: a.node, ahead_ms: Math.round(a.aheadMs) })),
  };
}
