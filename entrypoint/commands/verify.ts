// `bootseq verify [STORE…]`: the gates only; one row per gate; exit 0 only if all pass.

import { runBoot } from './boot.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq verify [STORE…]
  Check every gate of the named stores (default: all): file exists, SQLite header, WAL mode,
  quick_check, required tables and columns. Exit 0 when all pass, 1 otherwise.`;

export function run(cmd: CommandContext): Promise<number> {
  return runBoot(cmd, { command: 'verify', phases: ['verify'], stores: cmd.positionals, supervise: false });
}
