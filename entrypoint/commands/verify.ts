// `bootseq verify [STORE…]`: the gates only; one row per gate; exit 0 only if all pass.

import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'verify',
  usage: [
    {
      synopsis: 'verify [STORE…]',
      summary: 'check every gate; exit 0 only if all pass',
      details: `Check every gate of the named stores (default: all). sqlite: the file exists, has a SQLite
header, is in WAL mode, passes quick_check. postgres: the server answers. Both: the required tables,
columns (postgres: sequences, extensions) exist, and no migration is failed or pending. Exit 0 when all
pass, 1 otherwise.`,
    },
  ],
  options: {},
  positionals: { name: 'STORE', count: 'any' },
};

export async function run(cmd: CommandContext): Promise<number> {
  const { runBoot } = await import('./boot.js');
  return runBoot(cmd, { command: 'verify', phases: ['verify'], stores: cmd.positionals, supervise: false });
}
