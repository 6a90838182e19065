// Seed SQL files after migrations, on every boot, one transaction per file: they must be idempotent
// (INSERT … ON CONFLICT DO NOTHING). A failing file rolls back and stops the boot.

import fs from 'node:fs';
import path from 'node:path';
import { TaskFailedError } from '../../entrypoint/core/errors.js';
import type { Config, TaskContext } from '../../entrypoint/core/task.js';

type Store = Config['stores'][number];

export async function seedSqlite(ctx: TaskContext, store: Store): Promise<void> {
  const taskId = `seed:${store.name}`;
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(store.location);
  try {
    db.pragma('busy_timeout = 5000');
    for (const file of store.seed) {
      ctx.signal.throwIfAborted();
      const shown = path.relative(ctx.config.dir, file);
      const sql = fs.readFileSync(file, 'utf8');
      try {
        db.transaction(() => db.exec(sql))();
      } catch (error) {
        throw new TaskFailedError(
          taskId,
          `${shown}: ${(error as Error).message} (the file was rolled back)`,
          {
            hint: `fix ${shown} and keep it idempotent (INSERT … ON CONFLICT DO NOTHING): it runs on every boot`,
          },
        );
      }
      ctx.emit({ event: 'note', level: 'info', task: taskId, text: `applied ${shown}` });
    }
  } finally {
    db.close();
  }
}
