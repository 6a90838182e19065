// `bootseq checksum FILE --history sqlx|flyway|bootseq`: what that tool records for FILE, to compare
// with a history row when a migration reports a checksum mismatch. Reads the file only.

import fs from 'node:fs';
import { UsageError } from '../../core/errors.js';
import { EXIT_OK } from '../../core/exit.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'checksum',
  usage: [
    {
      synopsis: 'checksum FILE --history sqlx|flyway|bootseq',
      summary: 'print the checksum that tool records for FILE',
      details: `Print the checksum that tool records for FILE: sqlx the SHA-384 of the bytes (hex, as sha384sum
prints it; stored as 48 raw bytes), Flyway the signed CRC-32 of the text without BOM and line
breaks, bootseq the SHA-256 hex of the bytes. Reads the file only.`,
    },
  ],
  options: {
    history: { type: 'string', value: 'TOOL', help: 'sqlx, flyway or bootseq: whose checksum to print' },
  },
  positionals: { name: 'FILE', count: 'one' },
};

const WITH_CHECKSUMS = ['sqlx', 'flyway', 'bootseq'] as const;

export async function run(cmd: CommandContext): Promise<number> {
  const file = cmd.positionals[0]!; // exactly one: cli.ts checked it against spec.positionals
  const history = cmd.history;
  if (!history || !(WITH_CHECKSUMS as readonly string[]).includes(history)) {
    throw new UsageError(
      `--history: expected one of ${WITH_CHECKSUMS.join(', ')}, found ${history === undefined ? 'nothing' : `"${history}"`}${history === 'rails' ? ' (Rails records no checksum)' : ''}`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'pass the path of a migration file',
    );
  }
  const { FORMATS } = await import('../../db/history/index.js');
  const format = FORMATS[history as (typeof WITH_CHECKSUMS)[number]];
  try {
    cmd.print(format.displayChecksum(bytes));
  } catch (error) {
    throw new UsageError(
      `${file}: ${(error as Error).message}`,
      `${history} reads migration files as UTF-8; save it as UTF-8`,
    );
  }
  return EXIT_OK;
}
