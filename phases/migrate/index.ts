// The migrate and seed phases: one task each per store that asks for them. `migrate.command` runs the
// app's own migrator (command.ts); `migrate.dir` runs the built-in one (builtin/), which writes the
// history table of sqlx, Flyway, Rails or bootseq.

import path from 'node:path';
import type { Phase } from '../../entrypoint/core/task.js';
import { migrateBuiltin } from './builtin/index.js';
import { migrateWithCommand } from './command.js';
import { seedStore } from './seed.js';

export const migrate: Phase = {
  name: 'migrate',
  tasks: (config) =>
    config.stores.flatMap((store) => {
      const spec = store.migrate;
      if (spec?.command !== undefined) {
        const command = spec.command;
        return [
          {
            id: `migrate:${store.name}`,
            phase: 'migrate' as const,
            target: store.name,
            after: [],
            describe: config.redact(command),
            run: (ctx) => migrateWithCommand(ctx, store, command),
          },
        ];
      }
      if (spec?.dir !== undefined && spec.history !== undefined) {
        return [
          {
            id: `migrate:${store.name}`,
            phase: 'migrate' as const,
            target: store.name,
            after: [],
            describe: `apply ${spec.dir} with ${spec.history} history${spec.table ? ` in ${spec.table}` : ''}${spec.baseline !== undefined ? ` (baseline ${spec.baseline})` : ''}`,
            run: (ctx) => migrateBuiltin(ctx, store),
          },
        ];
      }
      return [];
    }),
};

export const seed: Phase = {
  name: 'seed',
  tasks: (config) =>
    config.stores
      .filter((s) => s.seed.length > 0)
      .map((store) => ({
        id: `seed:${store.name}`,
        phase: 'seed',
        target: store.name,
        after: [],
        describe: `apply ${store.seed.map((f) => path.relative(config.dir, f)).join(', ')} (one transaction per file)`,
        run: (ctx) => seedStore(ctx, store),
      })),
};
