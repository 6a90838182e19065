// The lease phase: before anything restores or migrates a sqlite store, this bootseq takes the
// store's boot lease (db/lease.ts), so that of two containers starting at once on one volume exactly
// one restores and migrates while the other waits, naming who it waits for; the other then finds the
// files final. The replicate phase hands the boot lease on once it knows whether this bootseq runs
// Litestream; a command that ends earlier (migrate, restore) lets it go as it exits.

import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailedError } from '../../core/errors.js';
import type { Config } from '../../config/schema.js';
import { taskId, type Phase, type TaskContext } from '../../core/task.js';
import {
  adviseUnwritable,
  describeHolder,
  leaseFile,
  me,
  tryLease,
  whoHolds,
  whyUnwritable,
  type LeaseFile,
} from '../../db/index.js';

const TASK_ID = taskId('lease');
const POLL_MS = 100;
/** How often a waiting bootseq says again whom it waits for. */
const NOTE_EVERY_MS = 10_000;

export const lease: Phase = {
  name: 'lease',
  tasks: (config) => {
    const stores = config.stores.filter((s) => s.kind === 'sqlite');
    if (stores.length === 0) return [];
    return [
      {
        id: TASK_ID,
        phase: 'lease',
        target: 'stores',
        after: [],
        describe: `one bootseq at a time restores and migrates ${stores.map((s) => s.name).join(', ')} (waits up to ${config.lease.waitMs / 1000}s for another)`,
        run: (ctx) => takeBootLease(ctx, config),
      },
    ];
  },
};

/**
 * tryLease, with a failure said in the store's terms and by its real cause: a full file system, a
 * read-only mount (named), or permissions (db/mounts.ts). The lease lives beside the database, so the
 * cure is always the database's folder, never another place for the lease.
 */
async function take(file: LeaseFile, store: string): Promise<boolean> {
  try {
    return await tryLease(file, me());
  } catch (error) {
    const folder = path.dirname(file.lock);
    const hint = adviseUnwritable(
      path.dirname(folder),
      whyUnwritable(folder, error),
      'bootseq, Litestream and the app',
    );
    throw new TaskFailedError(
      TASK_ID,
      `cannot take the boot lease of ${store}: ${(error as Error).message}`,
      {
        hint: `${hint}; nothing was touched`,
      },
    );
  }
}

async function takeBootLease(ctx: TaskContext, config: Config): Promise<void> {
  const startedAt = Date.now();
  const deadline = startedAt + config.lease.waitMs;
  // Always in the same order, so two bootseqs never hold one lease each and wait for the other's.
  const stores = config.stores
    .filter((s) => s.kind === 'sqlite')
    .sort((a, b) => a.location.localeCompare(b.location));
  let waitedFor: string | undefined;
  for (const store of stores) {
    const file = leaseFile(store.location, 'boot');
    let notedAt = 0;
    while (!(await take(file, store.name))) {
      const holder = describeHolder(await whoHolds(file));
      waitedFor = holder;
      if (Date.now() - notedAt >= NOTE_EVERY_MS) {
        notedAt = Date.now();
        ctx.note(
          'info',
          `waiting for ${holder}, which is restoring or migrating ${store.name}; this bootseq continues once its files are final`,
        );
      }
      if (Date.now() > deadline)
        throw new TaskFailedError(
          TASK_ID,
          `${holder} has been restoring or migrating ${store.name} for longer than lease.wait (${config.lease.waitMs / 1000}s); nothing was touched`,
          {
            hint: 'if that bootseq is stuck, stop it (its lease goes with it); raise lease.wait if its restores take that long',
          },
        );
      await sleep(POLL_MS, undefined, { signal: ctx.signal });
    }
  }
  const waitedMs = Date.now() - startedAt;
  ctx.record('waited_ms', waitedMs);
  if (waitedFor) {
    ctx.record('waited_for', waitedFor);
    ctx.note(
      'info',
      `${waitedFor} is done booting after ${Math.round(waitedMs / 100) / 10} s; the files are final`,
    );
  }
}
