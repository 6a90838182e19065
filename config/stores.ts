// bootseq.yml's `stores:` resolved into what the phases use as is: paths absolute, defaults filled,
// camelCase; each store checked against litestream.yml, its dump, migrations and seeds on disk, and
// the programs it needs on PATH. Only reads the disk.

import path from 'node:path';
import { readHead, type ResolveContext } from './context.js';
import { normalizeUrl } from './secrets.js';
import { checkCommand, resolveExecutable } from './executables.js';
import { defaultMetaPath } from './litestream.js';
import type {
  LitestreamConfig,
  MigrateConfig,
  PostgresStoreConfig,
  RawConfig,
  RawStore,
  SqliteStoreConfig,
  StoreConfig,
  SyncConfig,
} from './schema.js';

type Located =
  | Pick<SqliteStoreConfig, 'kind' | 'location' | 'litestream'>
  | Pick<PostgresStoreConfig, 'kind' | 'location' | 'litestream'>;

/** Every store in the order written; problems go to `ctx` in the order the user reads them. */
export function resolveStores(
  ctx: ResolveContext,
  raw: RawConfig,
  litestream: LitestreamConfig | undefined,
): StoreConfig[] {
  return Object.entries(raw.stores).map(([name, s]) => {
    checkAfter(ctx, raw, name, s);
    const located = locate(ctx, raw, name, s, litestream);
    checkRestore(ctx, name, s, located.kind);
    return {
      name,
      ...located,
      after: s.after ?? [],
      migrate: resolveMigrate(ctx, raw, name, s, located.kind),
      seed: resolveSeed(ctx, name, s),
      require: s.require,
      restoreDump: s.restore?.dump === undefined ? undefined : path.resolve(ctx.dir, s.restore.dump),
      allowFreshStart: s.restore?.allow_fresh_start ?? false,
      waitMs: s.wait,
      sync: resolveSync(ctx, name, s, located.kind),
    } as StoreConfig;
  });
}

/** `stores.NAME.sync`: sqlite only; prefer_main within tables; the batch size from IMPORT_BATCH_SIZE when not written. */
function resolveSync(
  ctx: ResolveContext,
  name: string,
  s: RawStore,
  kind: StoreConfig['kind'],
): SyncConfig | undefined {
  const raw = s.sync;
  if (!raw) return undefined;
  const at = `stores.${name}.sync`;
  if (kind !== 'sqlite') {
    ctx.issue(at, 'change-log sync is for sqlite stores only');
    return undefined;
  }
  for (const [i, table] of raw.prefer_main.entries())
    if (!raw.tables.includes(table))
      ctx.issue(`${at}.prefer_main[${i}]`, `"${table}" is not in ${at}.tables (${raw.tables.join(', ')})`);
  let batchSize = raw.batch_size;
  const fromEnv = ctx.env['IMPORT_BATCH_SIZE'];
  if (batchSize === undefined && fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (Number.isInteger(n) && n >= 1) batchSize = n;
    else ctx.issue(`${at}.batch_size`, `IMPORT_BATCH_SIZE is "${fromEnv}" (expected a whole number ≥ 1)`);
  }
  return {
    node: raw.node,
    role: raw.role,
    tables: raw.tables,
    preferMain: raw.prefer_main,
    inbox: raw.inbox === undefined ? undefined : path.resolve(ctx.dir, raw.inbox),
    batchSize: batchSize ?? 100,
    allowSchemaAlter: raw.allow_schema_alter,
    maxClockSkewMs: raw.max_clock_skew,
  };
}

/** Two stores on one database would migrate it twice and replicate it twice. */
export function checkOneStorePerDatabase(ctx: ResolveContext, stores: readonly StoreConfig[]): void {
  const byLocation = new Map<string, string>();
  for (const s of stores) {
    const other = byLocation.get(s.location);
    if (other)
      ctx.issue(
        `stores.${s.name}.${s.kind}`,
        `names the same database as stores.${other} (expected one store per database)`,
      );
    else byLocation.set(s.location, s.name);
  }
}

function checkAfter(ctx: ResolveContext, raw: RawConfig, name: string, s: RawStore): void {
  const names = Object.keys(raw.stores);
  for (const [i, target] of (s.after ?? []).entries()) {
    if (!(target in raw.stores))
      ctx.issue(`stores.${name}.after[${i}]`, `unknown store "${target}" (stores: ${names.join(', ')})`);
    if (target === name) ctx.issue(`stores.${name}.after[${i}]`, `a store cannot run after itself`);
  }
}

/**
 * The database a store names: a sqlite file listed in litestream.yml (its replicas and meta path), or
 * a postgres:// URL.
 */
function locate(
  ctx: ResolveContext,
  raw: RawConfig,
  name: string,
  s: RawStore,
  litestream: LitestreamConfig | undefined,
): Located {
  const at = `stores.${name}`;
  if (s.sqlite !== undefined) {
    // Resolved through symlinks once, here: leases, /proc's fd targets and Litestream's lines all
    // name the real file (litestream.ts resolves its side the same way).
    const written = path.resolve(ctx.dir, s.sqlite);
    const location = ctx.disk.realpath?.(written) ?? written;
    const listed = litestream?.dbs.find((d) => d.path === location);
    // No dbs at all: litestream.yml is missing or broken, which is reported already.
    if (!listed && litestream && litestream.dbs.length > 0) {
      const dbs = litestream.dbs.map((d) => path.relative(ctx.dir, d.path) || d.path);
      ctx.issue(
        `${at}.sqlite`,
        `${s.sqlite} is not in ${raw.litestream?.config} (its dbs: ${dbs.join(', ')}); add it there so it is restored and replicated`,
      );
    }
    // Unlisted only in a config that is refused: Litestream's defaults keep the shape whole.
    const db = listed ?? { path: location, metaPath: defaultMetaPath(location), replicas: [] };
    return { kind: 'sqlite', location, litestream: db };
  }
  // Its password as people write it, encoded for pg's parser (secrets.ts splitUrl, normalizeUrl).
  const location = normalizeUrl(s.postgres ?? '');
  if (!/^postgres(ql)?:\/\/[^/]/.test(location))
    ctx.issue(
      `${at}.postgres`,
      `expected a postgres:// or postgresql:// URL, found ${JSON.stringify(ctx.redact(s.postgres ?? ''))}`,
    );
  return { kind: 'postgres', location, litestream: undefined };
}

/** `restore.dump`: postgres only, readable, and the tool that applies it on PATH. */
function checkRestore(ctx: ResolveContext, name: string, s: RawStore, kind: StoreConfig['kind']): void {
  if (!s.restore) return;
  const at = `stores.${name}.restore`;
  if (kind === 'sqlite') {
    if (s.restore.dump !== undefined)
      ctx.issue(
        `${at}.dump`,
        'applies to postgres stores only; sqlite stores are restored by Litestream from litestream.yml',
      );
    return;
  }
  if (s.restore.allow_fresh_start !== undefined)
    ctx.issue(
      `${at}.allow_fresh_start`,
      'applies to sqlite stores only (a postgres store without a dump starts from its server as it is)',
    );
  if (s.restore.dump === undefined) return;
  const head = readHead(ctx.disk, path.resolve(ctx.dir, s.restore.dump), 5);
  if (head === undefined) {
    ctx.issue(
      `${at}.dump`,
      `${s.restore.dump} cannot be read (expected a plain SQL dump or a pg_dump -Fc file)`,
    );
    return;
  }
  // pg_dump's custom format starts with PGDMP and needs pg_restore; anything else is SQL for psql.
  const tool = head.startsWith('PGDMP') ? 'pg_restore' : 'psql';
  if (!resolveExecutable(tool, ctx))
    ctx.issue(
      `${at}.dump`,
      `${s.restore.dump} needs ${tool}, which is not on PATH (install postgresql-client)`,
    );
}

/**
 * `migrate:`: the command's program exists, or the built-in migrator's folder does (and pg_dump,
 * which backs a postgres store up first). Defaults filled: `out_of_order`, Rails' environment.
 */
function resolveMigrate(
  ctx: ResolveContext,
  raw: RawConfig,
  name: string,
  s: RawStore,
  kind: StoreConfig['kind'],
): MigrateConfig | undefined {
  const m = s.migrate;
  const at = `stores.${name}.migrate`;
  if (m?.command !== undefined) {
    const problem = checkCommand(m.command, ctx);
    if (problem) ctx.issue(`${at}.command`, problem);
    return { kind: 'command', command: m.command };
  }
  // The schema refuses a migrate: without command or without dir and history.
  if (m?.dir === undefined || m.history === undefined) return undefined;
  if (kind === 'postgres' && raw.backup.postgres && !resolveExecutable('pg_dump', ctx))
    ctx.issue(
      at,
      'a backup is taken with pg_dump before migrating, and pg_dump is not on PATH (install postgresql-client, or set backup.postgres: false)',
    );
  const dir = path.resolve(ctx.dir, m.dir);
  if (!ctx.disk.isDirectory(dir))
    ctx.issue(`${at}.dir`, `${m.dir} is not a directory (expected the folder of migration files)`);
  return {
    kind: 'builtin',
    dir,
    dirShown: m.dir,
    history: m.history,
    table: m.table,
    baseline: m.baseline,
    outOfOrder: m.out_of_order ?? false,
    environment:
      m.history === 'rails'
        ? (m.environment ?? ctx.env['RAILS_ENV'] ?? ctx.env['RACK_ENV'] ?? 'development')
        : undefined,
  };
}

/** Seed files, absolute; each must exist. */
function resolveSeed(ctx: ResolveContext, name: string, s: RawStore): string[] {
  const files = s.seed ?? [];
  return files.map((f, i) => {
    const absolute = path.resolve(ctx.dir, f);
    if (!ctx.disk.exists(absolute))
      ctx.issue(
        `stores.${name}.seed${files.length > 1 ? `[${i}]` : ''}`,
        `${f} does not exist (expected an SQL file)`,
      );
    return absolute;
  });
}
