// Seed SQL files after migrations, on every boot, one transaction per file: they must be idempotent
// (INSERT … ON CONFLICT DO NOTHING). A failing file rolls back and stops the boot.

import fs from 'node:fs';
import path from 'node:path';
import { escapeControl, excerpt, TaskFailedError } from '../../core/errors.js';
import type { StoreConfig } from '../../config/schema.js';
import type { TaskContext } from '../../core/task.js';
import { openStore, StatementError } from '../../db/index.js';

export async function seedStore(ctx: TaskContext, store: StoreConfig): Promise<void> {
  const { taskId } = ctx;
  const db = await openStore(ctx, store);
  try {
    for (const file of store.seed) {
      ctx.signal.throwIfAborted();
      const shown = escapeControl(path.relative(ctx.config.dir, file));
      const sql = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
      try {
        await db.transaction(() => db.execScript(sql));
      } catch (error) {
        const where = error instanceof StatementError && error.line ? `${shown}:${error.line}` : shown;
        throw new TaskFailedError(
          taskId,
          `${where}: ${error instanceof StatementError ? error.message : excerpt((error as Error).message, 300)} (the file was rolled back)`,
          {
            hint: `fix ${where} and keep it idempotent (INSERT … ON CONFLICT DO NOTHING): it runs on every boot`,
          },
        );
      }
      ctx.note('info', `applied ${shown}`);
    }
  } finally {
    await db.close();
  }
  ctx.summarize(`${store.seed.length} seed file${store.seed.length === 1 ? '' : 's'} applied`);
}
