// The contract between cli.ts and the commands: what a command declares (its spec: usage, options,
// positionals), and what cli.ts hands its `run` (the parsed options and the one way to print; cli
// owns stdout).

import type { Until } from '../../core/graph.js';
import type { LogFormat } from '../log/index.js';

/** An option a command accepts: what parseArgs needs and what `bootseq help COMMAND` shows. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in usage text: `PHASE`, `DIR`. */
  readonly value?: string;
  /** The only values accepted; cli.ts refuses anything else, naming them. */
  readonly choices?: readonly string[];
  readonly help: string;
}

/** One way to call a command (`restore [STORE…]`, `restore --from-backup PATH STORE`). */
export interface UsageLine {
  /** What follows `bootseq `: the command's name, options and positionals. */
  readonly synopsis: string;
  /** For `bootseq --help`: one or two short lines. */
  readonly summary: string;
  /** For `bootseq help COMMAND`: what it does, what it never does, what the exit code means. */
  readonly details: string;
}

/** What a command module declares above its `run`; cli.ts builds `--help` and checks argv from it. */
export interface CommandSpec {
  readonly name: string;
  readonly usage: readonly UsageLine[];
  /** The options this command accepts, besides the global --config and --log-format. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** What follows the name: nothing (absent), names (`STORE…`), or exactly one (`FILE`). */
  readonly positionals?: { readonly name: string; readonly count: 'any' | 'one' };
}

export interface CommandContext {
  readonly configPath: string;
  readonly logFormat: LogFormat;
  readonly positionals: readonly string[];
  readonly until: Until | undefined;
  readonly json: boolean;
  /** `--history` (checksum). */
  readonly history: string | undefined;
  /** `--from-backup PATH` (restore). */
  readonly fromBackup: string | undefined;
  /** `--into DIR`, `--timestamp T` and `--postgres-url URL` (rehearse). */
  readonly into: string | undefined;
  readonly timestamp: string | undefined;
  readonly postgresUrl: string | undefined;
  /** `--to PEER`, `--from-lsn N`, `--out FILE` (sync export). */
  readonly to: string | undefined;
  readonly fromLsn: string | undefined;
  readonly out: string | undefined;
  /** `--socket PATH` (status). */
  readonly socket: string | undefined;
  readonly argv: readonly string[];
  readonly version: string;
  print(text: string): void;
}
