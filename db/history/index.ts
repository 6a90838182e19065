// The migration history formats (sqlx, Flyway, Rails, bootseq's own): file names, checksums, history
// tables and the tools' rules. Shared by migrate/ (which applies migrations), verify/ (the "no failed
// or pending migrations" gate) and `bootseq checksum`.

import type { BuiltinMigrate } from '../../config/schema.js';
import type { MigrationDb } from '../database.js';
import { bootseqHistory } from './bootseq.js';
import { flyway } from './flyway.js';
import type { HistoryFormat, MigrateOptions } from './model.js';
import { rails } from './rails.js';
import { sqlx } from './sqlx.js';

export type { HistoryFormat, LocalMigration, MigrateOptions } from './model.js';
import type { LocalMigration } from './model.js';
import { splitStatements } from '../split.js';

export const FORMATS: Readonly<Record<HistoryFormat['name'], HistoryFormat>> = {
  bootseq: bootseqHistory,
  sqlx,
  flyway,
  rails,
};

/** What the format's functions take: the table defaults to the format's own. */
export function migrateOptions(spec: BuiltinMigrate, format: HistoryFormat): MigrateOptions {
  return {
    table: spec.table ?? format.defaultTable,
    baseline: spec.baseline,
    outOfOrder: spec.outOfOrder,
    environment: spec.environment,
  };
}

/**
 * The "no failed or pending migrations" gate: the history compared with the folder exactly as the
 * migrator would, inside a transaction that is rolled back (the comparison may create the table).
 */
export async function historyGate(
  db: MigrationDb,
  spec: BuiltinMigrate,
): Promise<{ ok: boolean; detail: string }> {
  const format = FORMATS[spec.history];
  const { migrations, problems } = format.resolve(spec.dir);
  if (problems.length > 0) return { ok: false, detail: problems.join('; ') };
  const options = migrateOptions(spec, format);
  const plan = await db.dryRun(() => format.plan(db, migrations, options));
  if (plan.problems.length > 0) return { ok: false, detail: plan.problems.join('; ') };
  if (plan.pending.length > 0) {
    const names = plan.pending.map((m) => m.script);
    return {
      ok: false,
      detail: `${names.length} pending in ${spec.dirShown}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''} (run \`bootseq migrate\`)`,
    };
  }
  return {
    ok: true,
    detail: `none pending or failed (${migrations.length} in ${spec.dirShown}, ${format.name} history in ${options.table})`,
  };
}

const TRANSACTION_CONTROL = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);

/**
 * Statements that would end or nest bootseq's own transaction around a migration (a stray `COMMIT;`
 * commits half of it with no history row): `file:line: WORD …` for each, in migrations that run in a
 * transaction. A file that starts with `-- no-transaction` manages its own transactions.
 */
export function transactionControl(migrations: readonly LocalMigration[]): string[] {
  const found: string[] = [];
  for (const m of migrations) {
    if (!m.transactional) continue;
    for (const statement of splitStatements(m.sql)) {
      const code = statement.text.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
      const word = /^[A-Za-z]+/.exec(code)?.[0]?.toUpperCase();
      if (word && TRANSACTION_CONTROL.has(word))
        found.push(`${m.script}:${statement.line}: ${word} (transaction control)`);
    }
  }
  return found;
}
