// `bootseq rehearse --into DIR [--timestamp T]`: the restore drill a Kamal pre-deploy hook or an
// operator runs. Restores every sqlite store from its Litestream replica into DIR (optionally to a point
// in time), migrates (built-in migrator) and verifies those copies, writes the run report, and never
// touches the live files or the replica: every path a task writes is inside DIR.

import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../core/errors.js';
import { runBoot } from './boot.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq rehearse --into DIR [--timestamp 2026-11-23T10:00:00Z]
  Restore every sqlite store from its replica into DIR (empty or new), apply the migrations and check
  every gate on those copies; the live databases and the replica are not touched. Exit 0 when every
  gate passes.`;

export async function run(cmd: CommandContext): Promise<number> {
  if (!cmd.into)
    throw new UsageError(
      '--into DIR is required: the folder the copies are restored into',
      'bootseq rehearse --into /tmp/rehearsal',
    );
  const into = path.resolve(cmd.into);
  if (fs.existsSync(into) && fs.readdirSync(into).length > 0) {
    throw new UsageError(
      `--into ${cmd.into} is not empty; a rehearsal restores into an empty folder`,
      `pick a new folder, e.g. --into ${cmd.into}-${Date.now()}`,
    );
  }
  if (cmd.timestamp !== undefined && Number.isNaN(Date.parse(cmd.timestamp))) {
    throw new UsageError(
      `--timestamp: expected an RFC 3339 time like 2026-11-23T10:00:00Z, found "${cmd.timestamp}"`,
    );
  }
  const live = loadConfig(cmd.configPath);
  const skipped: string[] = [];
  const stores = live.stores.flatMap((store) => {
    if (store.kind !== 'sqlite') {
      skipped.push(`${store.name} (postgres stores are not rehearsed in this version)`);
      return [];
    }
    const copy = path.join(into, `${store.name}${path.extname(store.location) || '.sqlite3'}`);
    // A command migration runs the app's own migrator, which knows the live database, not the copy.
    const migrate = store.migrate?.command !== undefined ? undefined : store.migrate;
    if (store.migrate?.command !== undefined)
      skipped.push(`migrate:${store.name} (a migrate command cannot be pointed at the copy)`);
    return [{ ...store, location: copy, migrate, restoreTimestamp: cmd.timestamp }];
  });
  if (stores.length === 0) throw new UsageError('there is no sqlite store to rehearse');
  fs.mkdirSync(into, { recursive: true });
  const config: Config & { warnings: readonly string[] } = {
    ...live,
    stores,
    processes: [],
    report: { ...live.report, dir: path.join(into, 'runs') },
    backup: { ...live.backup, dir: path.join(into, 'backups') },
    warnings: [...live.warnings, ...skipped.map((s) => `not rehearsed: ${s}`)],
  };
  return runBoot(cmd, { command: 'rehearse', until: 'verify', supervise: false, config });
}
