// Opening a store's database for the phases that talk to it (migrate, seed, verify): the sqlite
// file, or PostgreSQL with retries while the server starts. Messages name host, port and database,
// never the password.

import { TaskFailedError } from '../core/errors.js';
import type { StoreConfig } from '../config/schema.js';
import type { TaskContext } from '../core/task.js';
import type { MigrationDb } from './database.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';

/** "host:port/database" of a PostgreSQL URL: what messages show (never the password). */
export function describePostgres(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}/${decodeURIComponent(u.pathname.slice(1)) || '(default database)'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Opens the store's database: the sqlite file, or PostgreSQL with retries while it starts. */
export async function openStore(ctx: TaskContext, store: StoreConfig): Promise<MigrationDb> {
  if (store.kind === 'sqlite') return openSqlite(store.location, { signal: ctx.signal });
  const target = describePostgres(store.location);
  let retries = 0;
  try {
    return await openPostgres(store.location, {
      signal: ctx.signal,
      waitMs: store.waitMs,
      onRetry: (problem) => {
        retries += 1;
        if (retries === 1 || retries % 5 === 0)
          ctx.note('info', `waiting for PostgreSQL at ${target}: ${ctx.config.redact(problem)}`);
      },
    });
  } catch (error) {
    throw new TaskFailedError(
      ctx.taskId,
      `cannot connect to PostgreSQL at ${target} within ${store.waitMs / 1000}s: ${ctx.config.redact((error as Error).message)}`,
      {
        hint: `check that the server is up and stores.${store.name}.postgres is right (user, password, database); raise stores.${store.name}.wait if it starts slowly`,
      },
    );
  }
}
