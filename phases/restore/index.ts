// The restore phase: one task per store, first in its store's chain. sqlite stores come back from
// their Litestream replica (sqlite.ts); postgres stores with `restore: { dump }` get the dump applied
// when the database has no tables (postgres.ts).

import path from 'node:path';
import { taskId, type Phase, type TaskSpec } from '../../core/task.js';
import { describePostgres } from '../../db/index.js';
import { restorePostgres } from './postgres.js';
import { restoreSqlite } from './sqlite.js';

export const restore: Phase = {
  name: 'restore',
  tasks: (config) =>
    config.stores.flatMap((store): TaskSpec[] => {
      const base = {
        id: taskId('restore', store.name),
        phase: 'restore' as const,
        target: store.name,
        after: [],
      };
      if (store.kind === 'sqlite') {
        return [
          {
            ...base,
            describe: `litestream restore -if-replica-exists -if-db-not-exists ${path.relative(config.dir, store.location)} (skipped when the file exists)`,
            run: (ctx) => restoreSqlite(ctx, store),
          },
        ];
      }
      if (!store.restoreDump) return [];
      return [
        {
          ...base,
          describe: `apply ${path.relative(config.dir, store.restoreDump)} to ${describePostgres(store.location)} if it has no tables`,
          run: (ctx) => restorePostgres(ctx, store),
        },
      ];
    }),
};
