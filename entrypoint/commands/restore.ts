// `bootseq restore [STORE…]`: the restore phase only.

import { runBoot } from './boot.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq restore [STORE…]
  Restore the named sqlite stores (default: all) from their Litestream replicas; a database file
  that exists is left alone. Starts nothing.`;

export function run(cmd: CommandContext): Promise<number> {
  return runBoot(cmd, { command: 'restore', phases: ['restore'], stores: cmd.positionals, supervise: false });
}
