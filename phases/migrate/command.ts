// Migrate with the store's own command (`bin/rails db:migrate:queue`, `sqlx migrate run`, anything):
// run in the config's directory with the environment passed through, plus BOOTSEQ_STORE and
// BOOTSEQ_DATABASE (the sqlite path or postgres URL) so one script can serve every store.

import type { StoreConfig } from '../../config/schema.js';
import type { TaskContext } from '../../core/task.js';

export async function migrateWithCommand(
  ctx: TaskContext,
  store: StoreConfig,
  command: string,
): Promise<void> {
  await ctx.run({
    command,
    env: { BOOTSEQ_STORE: store.name, BOOTSEQ_DATABASE: store.location },
    hint: `fix the migration, or run \`${ctx.config.redact(command)}\` in ${ctx.config.dir} (BOOTSEQ_STORE=${store.name}) to see the whole output; nothing was replicated and no process was started`,
  });
}
