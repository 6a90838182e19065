// MigrationDb over pg (loaded on first use), with retries while the server starts. int8 values
// (versions, lock keys) stay strings: sqlx versions exceed 2^53. Also how a URL's password reaches
// the PostgreSQL tools (psql, pg_dump, pg_restore): as PGPASSWORD, never on their command line, which
// any user's `ps` shows.

import { setTimeout as sleep } from 'node:timers/promises';
import { nested, StatementError, type MigrationDb } from './database.js';
import { lineAt } from './split.js';

/** The URL without its password (for `-d`), and the password as PGPASSWORD (empty when there is none). */
export function splitPassword(url: string): { conninfo: string; env: Record<string, string> } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { conninfo: u.toString(), env: password ? { PGPASSWORD: password } : {} };
}

export async function openPostgres(
  url: string,
  options: { signal: AbortSignal; waitMs: number; onRetry?: (problem: string) => void },
): Promise<MigrationDb> {
  const { default: pg } = await import('pg');
  // int8 (versions, lock keys) stays a string: sqlx versions exceed 2^53.
  const deadline = Date.now() + options.waitMs;
  let delayMs = 200;
  let client: InstanceType<typeof pg.Client>;
  for (;;) {
    client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      const problem = (error as Error).message;
      if (Date.now() + delayMs > deadline || options.signal.aborted)
        throw new Error(`cannot connect: ${problem}`, { cause: error });
      options.onRetry?.(problem);
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
  client.on('error', () => undefined);
  let inTransaction = false;
  return {
    dialect: 'postgres',
    async execScript(sql) {
      try {
        await client.query(sql);
      } catch (error) {
        const position = Number((error as { position?: string }).position);
        throw new StatementError(
          (error as Error).message,
          Number.isFinite(position) && position > 0 ? lineAt(sql, position - 1) : undefined,
          { cause: error },
        );
      }
    },
    async exec(sql, params = []) {
      await client.query(sql, params as unknown[]);
    },
    async query<T>(sql: string, params: readonly unknown[] = []) {
      return (await client.query(sql, params as unknown[])).rows as T[];
    },
    transaction: nested(
      async (sql) => {
        await client.query(sql);
      },
      () => inTransaction,
    ),
    dryRun: async (work) => {
      await client.query('BEGIN');
      inTransaction = true;
      try {
        return await work();
      } finally {
        inTransaction = false;
        await client.query('ROLLBACK').catch(() => undefined);
      }
    },
    async lock(key, signal) {
      for (;;) {
        const rows = (await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]))
          .rows as { ok: boolean }[];
        if (rows[0]?.ok) break;
        signal.throwIfAborted();
        await sleep(200, undefined, { signal }).catch(() => undefined);
      }
      return async () => {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
      };
    },
    async close() {
      await client.end();
    },
  };
}

/**
 * Runs one statement on the server `url` names, outside any transaction: CREATE/DROP DATABASE, which
 * can be neither parameterized nor run inside one. The connection is closed whatever happens.
 */
export async function runOnServer(url: string, statement: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(statement);
  } finally {
    await client.end().catch(() => undefined);
  }
}
