// `bootseq up [--until PHASE]`: every phase, then supervise the processes until a signal or an exit.

import { UNTIL } from '../core/graph.js';
import { runBoot } from './boot.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq up [--until ${UNTIL.join('|')}]
  Restore, migrate, seed and verify every store, start Litestream once it can take over every
  database, start the processes in order (each waited on until ready), then supervise them.
  --until PHASE   stop after PHASE, shut down in order, exit 0`;

export function run(cmd: CommandContext): Promise<number> {
  return runBoot(cmd, { command: 'up', until: cmd.until, supervise: cmd.until === undefined });
}
