// The migrate and seed phases: one task each per store that asks for them. The built-in migrator
// (history tables sqlx/Flyway/Rails accept) arrives with a later version; config refuses `dir:` until then.

import type { Phase } from '../../entrypoint/core/task.js';
import { migrateWithCommand } from './command.js';
import { seedSqlite } from './seed.js';
import path from 'node:path';

export const migrate: Phase = {
  name: 'migrate',
  tasks: (config) =>
    config.stores.flatMap((store) => {
      const command = store.migrate?.command;
      if (command === undefined) return [];
      return [
        {
          id: `migrate:${store.name}`,
          phase: 'migrate',
          target: store.name,
          after: [],
          describe: config.redact(command),
          run: (ctx) => migrateWithCommand(ctx, store, command),
        },
      ];
    }),
};

export const seed: Phase = {
  name: 'seed',
  tasks: (config) =>
    config.stores
      .filter((s) => s.seed.length > 0 && s.kind === 'sqlite')
      .map((store) => ({
        id: `seed:${store.name}`,
        phase: 'seed',
        target: store.name,
        after: [],
        describe: `apply ${store.seed.map((f) => path.relative(config.dir, f)).join(', ')} (one transaction per file)`,
        run: (ctx) => seedSqlite(ctx, store),
      })),
};
