// The verify phase: one task per store, the last of its chain. A failed gate stops the boot before
// replication and before any process starts.

import path from 'node:path';
import { GateFailedError, type GateResult } from '../../core/errors.js';
import type { StoreConfig } from '../../config/schema.js';
import { taskId, type Phase } from '../../core/task.js';
import { historyGate } from '../../db/history/index.js';
import { openStore, type MigrationDb } from '../../db/index.js';
import { postgresGates, sqliteGates } from './gates.js';

export const verify: Phase = {
  name: 'verify',
  tasks: (config) =>
    config.stores.map((store) => {
      const required = store.require;
      const builtin = store.migrate?.kind === 'builtin' ? store.migrate : undefined;
      const wants = [...new Set([...required.tables, ...Object.keys(required.columns)])];
      return {
        id: taskId('verify', store.name),
        phase: 'verify' as const,
        target: store.name,
        after: [],
        describe: `gates: ${[
          ...(store.kind === 'sqlite' ? ['exists', 'sqlite', 'wal', 'quick_check'] : ['connect']),
          ...(wants.length ? [`tables ${wants.join(', ')}`] : []),
          ...(required.sequences.length ? [`sequences ${required.sequences.join(', ')}`] : []),
          ...(required.extensions.length ? [`extensions ${required.extensions.join(', ')}`] : []),
          ...(builtin ? ['migrations (none pending or failed)'] : []),
        ].join(', ')}`,
        run: async (ctx) => {
          let gates: GateResult[];
          const migrationsGate = async (db: MigrationDb) => {
            if (!builtin) return;
            const result = await historyGate(db, builtin);
            gates.push({ store: store.name, gate: 'migrations', ...result });
          };
          if (store.kind === 'sqlite') {
            gates = await sqliteGates(store.name, store.location, required);
            // Only a file that exists and is a database: opening one would create it.
            if (builtin && gates.every((g) => g.ok)) {
              const db = await openStore(ctx, store);
              try {
                await migrationsGate(db);
              } finally {
                await db.close();
              }
            }
          } else {
            const db = await openStore(ctx, store);
            try {
              gates = await postgresGates(store.name, db, required);
              await migrationsGate(db);
            } finally {
              await db.close();
            }
          }
          ctx.record('gates', gates);
          for (const g of gates) {
            ctx.note(g.ok ? 'info' : 'error', `${g.ok ? 'ok  ' : 'FAIL'} ${g.gate}: ${g.detail}`);
          }
          if (gates.some((g) => !g.ok)) {
            throw new GateFailedError(ctx.taskId, gates, gateHint(gates, store, config.dir));
          }
          ctx.summarize(`${gates.length} gates passed`);
        },
      };
    }),
};

/** What to do about failed gates: the most specific advice first. Never repairs anything itself. */
function gateHint(gates: readonly GateResult[], store: StoreConfig, dir: string): string {
  const shown = path.relative(dir, store.location) || store.location;
  if (gates.some((g) => g.gate === 'exists' && !g.ok && g.detail.includes('ENOENT')))
    return `nothing created ${shown}: give stores.${store.name} a migrate command that creates it, or check that its path matches litestream.yml`;
  if (gates.some((g) => !g.ok && /permission denied/.test(g.detail)))
    return `give the user bootseq runs as read and write access to ${shown} and its folder (\`chown\`/\`chmod\`, or run the container as the volume's owner)`;
  if (
    gates.some(
      (g) => !g.ok && (g.gate === 'quick_check' || /malformed|not a database|corrupt/i.test(g.detail)),
    )
  )
    return `${shown} is damaged. bootseq does not move it for you: stop the app, move it aside (\`mv ${shown} ${shown}.damaged\`, with its -wal and -shm) so the next boot restores it from the replica, or put a backup back with \`bootseq restore --from-backup PATH ${store.name}\``;
  return `fix the failing gates (run \`bootseq verify ${store.name}\` to see every gate); nothing was replicated and no process was started`;
}
