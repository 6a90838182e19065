// The verify phase: one task per store, the last of its chain. A failed gate stops the boot before
// replication and before any process starts.

import path from 'node:path';
import { GateFailedError } from '../../entrypoint/core/errors.js';
import type { Phase } from '../../entrypoint/core/task.js';
import { sqliteGates } from './gates.js';

export const verify: Phase = {
  name: 'verify',
  tasks: (config) =>
    config.stores
      .filter((s) => s.kind === 'sqlite')
      .map((store) => {
        const required = { tables: store.require?.tables ?? [], columns: store.require?.columns ?? {} };
        const wants = [...required.tables, ...Object.keys(required.columns)];
        return {
          id: `verify:${store.name}`,
          phase: 'verify' as const,
          target: store.name,
          after: [],
          describe: `gates: exists, sqlite, wal, quick_check${wants.length ? `, tables ${[...new Set(wants)].join(', ')}` : ''}`,
          run: async (ctx) => {
            const taskId = `verify:${store.name}`;
            const gates = await sqliteGates(store.name, store.location, required);
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
