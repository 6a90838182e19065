// Restores one SQLite store from its Litestream replica before anything else touches it. A file that
// exists is left alone. "No replica yet" (exit 0, no file) is a fresh start; every other failure
// (exit ≠ 0) aborts the boot: starting empty over an unreadable backup would later retire it.
// Never runs while `litestream replicate` runs: replicate/ starts only after every store is verified.

import fs from 'node:fs';
import path from 'node:path';
import { TaskFailedError } from '../../core/errors.js';
import type { StoreConfig } from '../../config/schema.js';
import type { TaskContext } from '../../core/task.js';
import { checkIntegrity } from '../../db/index.js';
import { litestreamDriver, type LitestreamDriver } from '../../db/litestream/index.js';
import { checkFreshStart, foldersIn, probeS3 } from './siblings.js';

export async function restoreSqlite(ctx: TaskContext, store: StoreConfig): Promise<void> {
  const { config } = ctx;
  const dbPath = store.location;
  const { taskId } = ctx;
  const shown = path.relative(config.dir, dbPath) || dbPath;
  if (config.litestream) {
    const driver = litestreamDriver(config.litestream);
    await refuseForeignReplica(ctx, store, driver);
    if (!driver.reportsUnreachable) await refuseUnreachableS3(ctx, store, driver);
  }
  if (fs.existsSync(dbPath)) {
    // From here until the takeover, what lets the next Litestream continue the replica's lineage is
    // kept (the v0.3 driver: a connection, so that no bootseq connection deletes the WAL on close).
    if (config.litestream) await litestreamDriver(config.litestream).keepLineage(dbPath);
    ctx.note('info', `${shown} exists; left as it is (not restored)`);
    ctx.summarize('exists, kept');
    ctx.record('restored', false);
    return;
  }
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const litestream = config.litestream;
  if (!litestream) throw new TaskFailedError(taskId, 'no litestream config to restore from');
  const replicas =
    store.litestream?.replicas.map((r) => r.path ?? r.url ?? r.type).join(', ') ?? 'its replica';
  const driver = litestreamDriver(litestream);
  // Every replica known to hold nothing (v0.3: a file replica without generations): `litestream
  // restore` would answer "no matching backups found" (docs/litestream.md Q2), known without starting
  // it. Anything else (an unreadable folder, a remote replica) is litestream's to judge.
  if (!mayHaveBackups(store, driver)) {
    await refuseMistypedReplica(ctx, store, driver);
    ctx.note('info', `no replica of ${shown} exists yet (${replicas} holds no backup): fresh start`);
    ctx.summarize('fresh start (no replica yet)');
    ctx.record('restored', false);
    return;
  }
  // The database as litestream.yml names it; `-o` may differ (a rehearsal restores a copy elsewhere).
  const source = store.litestream?.path ?? dbPath;
  const configFile = driver.configFile(litestream.run);
  const args = driver.restoreArgs({
    configPath: configFile,
    source,
    outPath: dbPath,
    timestamp: store.restoreTimestamp,
  });
  // Paths shown relative to the project, as everywhere in bootseq's output.
  const show = (arg: string) => (path.isAbsolute(arg) ? path.relative(config.dir, arg) || arg : arg);
  await ctx.run({
    command: { file: litestream.bin, args },
    env: driver.environment({ ...process.env, ...config.env }),
    display: `litestream ${args.map(show).join(' ')}`,
    // v0.5 runs with bootseq's copy at DEBUG (docs/litestream-v05.md B): its restore plan is not relayed.
    relay: (text: string) => !driver.isRoutine(driver.parseLine(text)),
    hint: `the replica (${replicas}) could not be restored; nothing was started and the replica was not modified. Fix what the litestream lines above say (permissions, credentials, the bucket or endpoint, a damaged snapshot, the replica path), then run \`bootseq restore ${store.name}\``,
  });
  if (!fs.existsSync(dbPath)) {
    await refuseMistypedReplica(ctx, store, driver);
    ctx.note('info', `no replica of ${shown} exists yet (${replicas}): fresh start`);
    ctx.summarize('fresh start (no replica yet)');
    ctx.record('restored', false);
    return;
  }
  driver.tidyRestored(dbPath);
  const check = await checkIntegrity(dbPath);
  if (!check.ok) {
    const quarantine = `${dbPath}.restore-failed-${Date.now()}`;
    fs.renameSync(dbPath, quarantine);
    throw new TaskFailedError(
      taskId,
      `the database restored from ${replicas} fails PRAGMA integrity_check: ${check.detail}`,
      {
        hint: `nothing was started and the replica was not modified; the restored copy was moved to ${path.relative(config.dir, quarantine)}. Restore an earlier point with \`litestream restore -timestamp …\` or investigate the replica`,
      },
    );
  }
  const size = fs.statSync(dbPath).size;
  ctx.record('restored', true);
  ctx.note('info', `restored ${shown} (${size} bytes) from ${replicas}; integrity_check ok`);
  ctx.summarize(`restored from the replica (${formatBytes(size)})`);
}

/**
 * "No replica" may be a typo in the replica's path: a replica beside it under a close name stops the
 * boot (siblings.ts) unless `restore.allow_fresh_start`; what was seen beside it is logged.
 */
async function refuseMistypedReplica(
  ctx: TaskContext,
  store: StoreConfig,
  driver: LitestreamDriver,
): Promise<void> {
  const replicas = store.litestream?.replicas ?? [];
  const others = (ctx.config.litestream?.dbs ?? []).flatMap((db) =>
    db.replicas.filter((r) => !replicas.includes(r)),
  );
  const { refusal, notes } = await checkFreshStart({
    store: store.name,
    replicas,
    others,
    allowFreshStart: store.allowFreshStart,
    backupFolders: driver.backupFolders,
    env: { ...process.env, ...ctx.config.env },
    signal: ctx.signal,
  });
  for (const note of notes) ctx.note(note.level, note.text);
  if (refusal) throw new TaskFailedError(ctx.taskId, refusal.message, { hint: refusal.hint });
}

/**
 * A replica that holds backups this Litestream cannot read (v0.3 meeting v0.5's LTX files after a
 * downgrade) stops the boot, exit 1, whether the database is in place or not: a v0.3 restore of it
 * returns the older v0.3 data or "no backups" (a fresh start), and v0.3 replicating into it leaves
 * two lineages that each version restores differently (docs/litestream-v05.md F3, F4). A replica that
 * cannot be listed is a warning: nothing is known either way.
 */
async function refuseForeignReplica(
  ctx: TaskContext,
  store: StoreConfig,
  driver: LitestreamDriver,
): Promise<void> {
  const foreign = driver.foreignBackups;
  if (!foreign) return;
  const env = { ...process.env, ...ctx.config.env };
  for (const replica of store.litestream?.replicas ?? []) {
    const where = replica.s3
      ? `s3://${replica.s3.bucket}/${replica.s3.path}`
      : (replica.path ?? replica.url ?? replica.type);
    const { held, failed } = await foldersIn(replica, foreign.folders, env, ctx.signal);
    if (failed) {
      // Only a restore (or a fresh start) is at stake when the file is missing: then it is a warning.
      const level = fs.existsSync(store.location) ? 'info' : 'warn';
      ctx.note(level, `could not look into ${where} for ${foreign.what} (${failed})`);
      continue;
    }
    if (held.length === 0) continue;
    throw new TaskFailedError(
      ctx.taskId,
      `the replica ${where} of ${store.name} holds ${foreign.what} (${held.map((f) => `${f}/`).join(', ')}), which Litestream v${driver.series} cannot read: restoring from it would bring back older data or nothing, and replicating into it would leave two lineages that each version restores differently`,
      {
        hint: `run the Litestream that wrote them (litestream.bin: a v0.5.x binary; README "Litestream versions"), or, to start over on purpose, point ${store.name}'s replica in litestream.yml at a new path; nothing was restored, replicated or started`,
      },
    );
  }
}

/**
 * An S3 replica whose endpoint does not answer stops the boot at once, exit 1, when this Litestream
 * would not say so itself (v0.5: a restore retries for 240 s, replication logs nothing for minutes:
 * docs/litestream-v05.md C, E). An answer of any kind, or no credentials to ask with, lets it go on.
 */
async function refuseUnreachableS3(
  ctx: TaskContext,
  store: StoreConfig,
  driver: LitestreamDriver,
): Promise<void> {
  const env = { ...process.env, ...ctx.config.env };
  for (const replica of store.litestream?.replicas ?? []) {
    if (replica.type !== 's3' || !replica.s3) continue;
    const probe = await probeS3(replica, env, ctx.signal);
    if (probe.state !== 'unreachable' && probe.state !== 'untrusted') continue;
    const where = `s3://${replica.s3.bucket}/${replica.s3.path}${replica.s3.endpoint ? ` at ${replica.s3.endpoint}` : ''}`;
    if (probe.state === 'untrusted')
      throw new TaskFailedError(
        ctx.taskId,
        `the replica ${where} of ${store.name} answers with a TLS certificate that is not trusted: ${probe.reason}`,
        {
          hint: `give the CA that signed it as AWS_CA_BUNDLE (a PEM file; bootseq and Litestream both read it), or fix the endpoint's certificate; nothing was restored, replicated or started`,
        },
      );
    throw new TaskFailedError(
      ctx.taskId,
      `the replica ${where} of ${store.name} cannot be reached: ${probe.reason}`,
      {
        hint: `check its endpoint/URL in litestream.yml, the network and that the service is up (Litestream v${driver.series} would retry for minutes without a word); nothing was restored, replicated or started`,
      },
    );
  }
}

function mayHaveBackups(store: StoreConfig, driver: LitestreamDriver): boolean {
  const replicas = store.litestream?.replicas ?? [];
  if (replicas.length === 0) return true;
  return replicas.some((r) => !driver.hasNoBackups(r));
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
