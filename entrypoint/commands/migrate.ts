// `bootseq migrate [STORE…]`: restore (a missing sqlite file comes back from its replica first, so a
// migration never creates an empty database over an existing backup), migrate and seed.

import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'migrate',
  usage: [
    {
      synopsis: 'migrate [STORE…]',
      summary: 'restore missing databases, then migrate and seed',
      details: `Restore missing sqlite databases from their replicas, then migrate and seed the named stores
(default: all). Starts neither Litestream nor the processes. Safe to run from several machines at once:
the built-in migrator takes the tool's own lock.`,
    },
  ],
  options: {},
  positionals: { name: 'STORE', count: 'any' },
};

export async function run(cmd: CommandContext): Promise<number> {
  const { runBoot } = await import('./boot.js');
  return runBoot(cmd, {
    command: 'migrate',
    // Migrations and seeds may talk to the services (a Redis, an API): migrate waits for them as up does.
    phases: ['service', 'lease', 'restore', 'migrate', 'seed'],
    stores: cmd.positionals,
    supervise: false,
  });
}
