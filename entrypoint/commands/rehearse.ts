// `bootseq rehearse --into DIR [--timestamp T]`: the restore drill a Kamal pre-deploy hook or an
// operator runs. Restores every sqlite store from its Litestream replica into DIR (optionally to a point
// in time), migrates (built-in migrator) and verifies those copies, writes the run report, and never
// touches the live files or the replica: every path a task writes is inside DIR.

import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { UsageError } from '../../core/errors.js';
import { taskId } from '../../core/task.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'rehearse',
  usage: [
    {
      synopsis: 'rehearse --into DIR [--timestamp T] [--postgres-url URL]',
      summary: `restore every store into DIR (postgres: a scratch database), migrate
and verify the copies; the live databases and the replica are untouched`,
      details: `Restore every sqlite store from its replica into DIR (empty or new), apply the migrations and check
every gate on those copies; postgres stores are rehearsed in a scratch database (on their server, or
--postgres-url) that is created and dropped. The live databases and the replica are not touched.
Exit 0 when every gate passes.`,
    },
  ],
  options: {
    into: { type: 'string', value: 'DIR', help: 'the empty or new folder the copies are restored into' },
    timestamp: {
      type: 'string',
      value: 'T',
      help: 'restore the sqlite stores as of this time (RFC 3339: 2026-11-23T10:00:00Z)',
    },
    'postgres-url': {
      type: 'string',
      value: 'URL',
      help: "a server for the scratch databases (default: each store's own server)",
    },
  },
};

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
  const [{ loadConfig }, { runBoot }, { newestBackup }] = await Promise.all([
    import('../../config/load.js'),
    import('./boot.js'),
    import('../../db/backups/index.js'),
  ]);
  const live = loadConfig(cmd.configPath);
  const skipped: string[] = [];
  const scratch: { server: string; name: string }[] = [];
  const stores = live.stores.map((store) => {
    // A command migration runs the app's own migrator, which knows the live database, not the copy.
    const migrate = store.migrate?.kind === 'command' ? undefined : store.migrate;
    if (store.migrate?.kind === 'command')
      skipped.push(`${taskId('migrate', store.name)} (a migrate command cannot be pointed at the copy)`);
    if (store.kind === 'postgres') {
      // A scratch database on the same server (or --postgres-url), dropped afterwards: the baseline
      // dump (restore.dump) and the migrations are rehearsed on it from empty.
      const server = cmd.postgresUrl ?? store.location;
      const name = `bootseq_rehearsal_${store.name.replace(/-/g, '_')}_${Date.now().toString(36)}`;
      scratch.push({ server, name });
      const url = new URL(server);
      url.pathname = `/${name}`;
      // From the newest pg_dump backup when there is one (the live data as of the last migration),
      // else from restore.dump (the baseline).
      return {
        ...store,
        location: url.toString(),
        migrate,
        restoreDump: newestBackup(live, store) ?? store.restoreDump,
      };
    }
    const copy = path.join(into, `${store.name}${path.extname(store.location) || '.sqlite3'}`);
    return { ...store, location: copy, migrate, restoreTimestamp: cmd.timestamp };
  });
  if (stores.length === 0) throw new UsageError('there is no store to rehearse');
  fs.mkdirSync(into, { recursive: true });
  const config: Config & { warnings: readonly string[] } = {
    ...live,
    stores,
    processes: [],
    // A rehearsal migrates copies with the built-in migrator only (command migrations are skipped
    // above), which never talks to Redis or an API: it need not wait for the app's services.
    services: [],
    report: { ...live.report, dir: path.join(into, 'runs') },
    // Copies need no backups of their own; a scratch postgres database is dropped anyway.
    backup: { ...live.backup, dir: path.join(into, 'backups'), postgres: false },
    warnings: [...live.warnings, ...skipped.map((s) => `not rehearsed: ${s}`)],
  };
  await forEachScratch(scratch, (name) => `CREATE DATABASE "${name}"`);
  try {
    // No sync phase: a rehearsal must not take the change files waiting in the live inbox.
    return await runBoot(cmd, {
      command: 'rehearse',
      until: 'verify',
      phases: ['lease', 'restore', 'migrate', 'seed', 'verify'],
      supervise: false,
      config,
    });
  } finally {
    await forEachScratch(scratch, (name) => `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

/** Runs one statement per scratch database on its server (CREATE/DROP DATABASE cannot be parameterized). */
async function forEachScratch(
  scratch: readonly { server: string; name: string }[],
  statement: (name: string) => string,
): Promise<void> {
  if (scratch.length === 0) return;
  const { runOnServer } = await import('../../db/index.js');
  for (const { server, name } of scratch) {
    try {
      await runOnServer(server, statement(name));
    } catch (error) {
      const u = new URL(server);
      throw new UsageError(
        `cannot prepare the scratch database ${name} on ${u.hostname}:${u.port || '5432'}: ${(error as Error).message}`,
        'the rehearsal needs a role that may CREATE DATABASE; pass --postgres-url for a server where it may',
      );
    }
  }
}
