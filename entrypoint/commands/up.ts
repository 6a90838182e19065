// `bootseq up [--until PHASE]`: every phase, then supervise the processes until a signal or an exit.

import { UNTIL } from '../../core/graph.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'up',
  usage: [
    {
      synopsis: 'up [--until PHASE]',
      summary: 'every phase, then supervise until a signal or a process exit',
      details: `Restore, migrate, seed and verify every store, start Litestream once it can take over every
database, start the processes in order (each waited on until ready), then supervise them.`,
    },
  ],
  options: {
    until: {
      type: 'string',
      value: 'PHASE',
      choices: UNTIL,
      help: 'stop after PHASE, shut down in order, exit 0',
    },
  },
};

export async function run(cmd: CommandContext): Promise<number> {
  const { runBoot } = await import('./boot.js');
  return runBoot(cmd, { command: 'up', until: cmd.until, supervise: cmd.until === undefined });
}
