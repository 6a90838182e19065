// The migrate and seed phases: one task each per store that asks for them. `migrate.command` runs the
// app's own migrator (command.ts); `migrate.dir` runs the built-in one (builtin/), which writes the
// history table of sqlx, Flyway, Rails or bootseq.

import path from 'node:path';
import type { StoreConfig } from '../../config/schema.js';
import { taskId, type Phase, type TaskContext, type TaskSpec } from '../../core/task.js';
import { ensureCapture, openSyncDb } from '../../db/sync/index.js';
import { migrateBuiltin } from './builtin/index.js';
import { migrateWithCommand } from './command.js';
import { seedStore } from './seed.js';

export const migrate: Phase = {
  name: 'migrate',
  tasks: (config) =>
    config.stores.flatMap((store): TaskSpec[] => {
      const spec = store.migrate;
      if (!spec) return [];
      const base = {
        id: taskId('migrate', store.name),
        phase: 'migrate' as const,
        target: store.name,
        after: [],
      };
      if (spec.kind === 'command') {
        return [
          {
            ...base,
            describe: config.redact(spec.command),
            run: async (ctx) => {
              await migrateWithCommand(ctx, store, spec.command);
              await captureChanges(ctx, store);
            },
          },
        ];
      }
      return [
        {
          ...base,
          describe: `apply ${spec.dirShown} with ${spec.history} history${spec.table ? ` in ${spec.table}` : ''}${spec.baseline !== undefined ? ` (baseline ${spec.baseline})` : ''}`,
          run: async (ctx) => {
            await migrateBuiltin(ctx, store, spec);
            await captureChanges(ctx, store);
          },
        },
      ];
    }),
};

export const seed: Phase = {
  name: 'seed',
  tasks: (config) =>
    config.stores
      .filter((s) => s.seed.length > 0)
      .map((store) => ({
        id: taskId('seed', store.name),
        phase: 'seed',
        target: store.name,
        after: [],
        describe: `apply ${store.seed.map((f) => path.relative(config.dir, f)).join(', ')} (one transaction per file)`,
        run: (ctx) => seedStore(ctx, store),
      })),
};

/**
 * A store with `sync:` gets its change log and capture triggers right after its migrations, which may
 * have changed the synced tables' columns (docs/sync.md). Idempotent; the sync phase checks again.
 */
async function captureChanges(ctx: TaskContext, store: StoreConfig): Promise<void> {
  if (store.kind !== 'sqlite' || !store.sync) return;
  const db = await openSyncDb(store.location);
  try {
    ensureCapture(db, ctx.taskId, store.sync);
  } finally {
    db.close();
  }
}
