// The verify phase: one task per store, the last of its chain. A failed gate stops the boot before
// replication and before any process starts.

import path from 'node:path';
import { GateFailedError, type GateResult } from '../../entrypoint/core/errors.js';
import type { Phase } from '../../entrypoint/core/task.js';
import { openStore } from '../db/index.js';
import { postgresGates, sqliteGates } from './gates.js';

export const verify: Phase = {
  name: 'verify',
  tasks: (config) =>
    config.stores.map((store) => {
      const required = {
        tables: store.require?.tables ?? [],
        columns: store.require?.columns ?? {},
        sequences: store.require?.sequences ?? [],
        extensions: store.require?.extensions ?? [],
      };
      const wants = [...new Set([...required.tables, ...Object.keys(required.columns)])];
      const taskId = `verify:${store.name}`;
      return {
        id: taskId,
        phase: 'verify' as const,
        target: store.name,
        after: [],
        describe:
          store.kind === 'sqlite'
            ? `gates: exists, sqlite, wal, quick_check${wants.length ? `, tables ${wants.join(', ')}` : ''}`
            : `gates: connect${wants.length ? `, tables ${wants.join(', ')}` : ''}${required.sequences.length ? `, sequences ${required.sequences.join(', ')}` : ''}${required.extensions.length ? `, extensions ${required.extensions.join(', ')}` : ''}`,
        run: async (ctx) => {
          let gates: GateResult[];
          if (store.kind === 'sqlite') gates = await sqliteGates(store.name, store.location, required);
          else {
            const db = await openStore(ctx, store, taskId);
            try {
              gates = await postgresGates(store.name, db, required);
            } finally {
              await db.close();
            }
          }
          ctx.record('gates', gates);
          for (const g of gates) {
            ctx.emit({
              event: 'note',
              level: g.ok ? 'info' : 'error',
              task: taskId,
              text: `${g.ok ? 'ok  ' : 'FAIL'} ${g.gate}: ${g.detail}`,
            });
          }
          if (gates.some((g) => !g.ok)) {
            const missingFile = gates.some((g) => g.gate === 'exists' && !g.ok);
            throw new GateFailedError(
              taskId,
              gates,
              missingFile
                ? `nothing created ${path.relative(config.dir, store.location)}: give stores.${store.name} a migrate command that creates it, or check that its path matches litestream.yml`
                : `fix the failing gates (run \`bootseq verify ${store.name}\` to see every gate); nothing was replicated and no process was started`,
            );
          }
        },
      };
    }),
};
