// Every command, in the order `bootseq --help` lists them. A command module opens with its spec
// (usage, options, positionals) and imports only light modules at the top; whatever its `run` needs
// (config loading, the phases, the drivers) it loads when it runs. So cli.ts reads every spec, for
// `--help` and for checking argv, without loading any of that.

import * as checksum from './checksum.js';
import type { CommandContext, CommandSpec } from './context.js';
import * as migrate from './migrate.js';
import * as plan from './plan.js';
import * as rehearse from './rehearse.js';
import * as report from './report.js';
import * as restore from './restore.js';
import * as status from './status.js';
import * as sync from './sync.js';
import * as up from './up.js';
import * as verify from './verify.js';

export interface Command {
  readonly spec: CommandSpec;
  run(cmd: CommandContext): Promise<number>;
}

export const COMMANDS: readonly Command[] = [
  up,
  status,
  plan,
  restore,
  migrate,
  verify,
  rehearse,
  checksum,
  report,
  sync,
];
