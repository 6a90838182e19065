// `bootseq migrate [STORE…]`: restore (a missing sqlite file comes back from its replica first, so a
// migration never creates an empty database over an existing backup), migrate and seed.

import { runBoot } from './boot.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq migrate [STORE…]
  Restore missing sqlite databases from their replicas, then migrate and seed the named stores
  (default: all). Starts neither Litestream nor the processes.`;

export function run(cmd: CommandContext): Promise<number> {
  return runBoot(cmd, {
    command: 'migrate',
    phases: ['restore', 'migrate', 'seed'],
    stores: cmd.positionals,
    supervise: false,
  });
}
