// The restore phase: one task per store, first in its store's chain. sqlite stores come back from
// their Litestream replica (sqlite.ts). postgres stores arrive with a later version.

import path from 'node:path';
import type { Phase } from '../../entrypoint/core/task.js';
import { restoreSqlite } from './sqlite.js';

export const restore: Phase = {
  name: 'restore',
  tasks: (config) =>
    config.stores
      .filter((s) => s.kind === 'sqlite')
      .map((store) => ({
        id: `restore:${store.name}`,
        phase: 'restore',
        target: store.name,
        after: [],
        describe: `litestream restore -if-replica-exists -if-db-not-exists ${path.relative(config.dir, store.location)} (skipped when the file exists)`,
        run: (ctx) => restoreSqlite(ctx, store),
      })),
};
