// What cli.ts hands every command: the parsed options and the one way to print (cli owns stdout).

import type { Until } from '../core/graph.js';
import type { LogFormat } from '../log/index.js';

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
  /** `--into DIR` and `--timestamp T` (rehearse). */
  readonly into: string | undefined;
  readonly timestamp: string | undefined;
  readonly postgresUrl: string | undefined;
  readonly argv: readonly string[];
  readonly version: string;
  print(text: string): void;
}
