// `bootseq checksum FILE --history sqlx|flyway|bootseq`: what that tool records for FILE, to compare
// with a history row when a migration reports a checksum mismatch. Reads the file only.

import fs from 'node:fs';
import { UsageError } from '../core/errors.js';
import { FORMATS } from '../../db/history/index.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq checksum FILE --history sqlx|flyway|bootseq
  Print the checksum that tool records for FILE: sqlx the SHA-384 of the bytes (hex, as sha384sum
  prints it; stored as 48 raw bytes), Flyway the signed CRC-32 of the text without BOM and line
  breaks, bootseq the SHA-256 hex of the bytes.`;

const WITH_CHECKSUMS = ['sqlx', 'flyway', 'bootseq'] as const;

export function run(cmd: CommandContext): Promise<number> {
  const [file, ...extra] = cmd.positionals;
  if (!file || extra.length > 0)
    throw new UsageError('expected one FILE: bootseq checksum FILE --history sqlx|flyway|bootseq');
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
  const format = FORMATS[history as (typeof WITH_CHECKSUMS)[number]];
  try {
    cmd.print(format.displayChecksum(bytes));
  } catch (error) {
    throw new UsageError(
      `${file}: ${(error as Error).message}`,
      `${history} reads migration files as UTF-8; save it as UTF-8`,
    );
  }
  return Promise.resolve(0);
}
