// bootseq.yml's `stores:` resolved: paths absolute, each store checked against litestream.yml, its
// dump, migrations and seeds on disk, and the programs it needs on PATH. Only reads the disk.

import path from 'node:path';
import type { ResolveContext } from './context.js';
import { checkCommand, resolveExecutable } from './executables.js';
import type { LitestreamConfig, LitestreamDb, RawConfig, StoreConfig } from './schema.js';

type RawStore = RawConfig['stores'][string];

/** Every store in the order written; problems go to `ctx` in the order the user reads them. */
export function resolveStores(
  ctx: ResolveContext,
  raw: RawConfig,
  litestream: LitestreamConfig | undefined,
): StoreConfig[] {
  return Object.entries(raw.stores).map(([name, s]) => {
    checkAfter(ctx, raw, name, s);
    const { kind, location, lsDb } = locate(ctx, raw, name, s, litestream);
    checkRestore(ctx, name, s, kind);
    checkMigrate(ctx, raw, name, s, kind);
    return {
      name,
      kind,
      location,
      after: s.after ?? [],
      migrate:
        s.migrate?.history === 'rails'
          ? {
              ...s.migrate,
              environment:
                s.migrate.environment ?? ctx.env['RAILS_ENV'] ?? ctx.env['RACK_ENV'] ?? 'development',
            }
          : s.migrate,
      seed: resolveSeed(ctx, name, s),
      require: s.require,
      restoreDump: s.restore?.dump === undefined ? undefined : path.resolve(ctx.dir, s.restore.dump),
      waitMs: s.wait,
      litestream: lsDb,
    };
  });
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

/** The database a store names: a sqlite file listed in litestream.yml, or a postgres:// URL. */
function locate(
  ctx: ResolveContext,
  raw: RawConfig,
  name: string,
  s: RawStore,
  litestream: LitestreamConfig | undefined,
) {
  const at = `stores.${name}`;
  if (s.sqlite !== undefined) {
    const location = path.resolve(ctx.dir, s.sqlite);
    let lsDb: LitestreamDb | undefined;
    // No dbs: litestream.yml is missing or broken, which is reported already.
    if (litestream && litestream.dbs.length > 0) {
      lsDb = litestream.dbs.find((d) => d.path === location);
      if (!lsDb) {
        const listed = litestream.dbs.map((d) => path.relative(ctx.dir, d.path) || d.path);
        ctx.issue(
          `${at}.sqlite`,
          `${s.sqlite} is not in ${raw.litestream?.config} (its dbs: ${listed.join(', ')}); add it there so it is restored and replicated`,
        );
      }
    }
    return { kind: 'sqlite' as const, location, lsDb };
  }
  const location = s.postgres ?? '';
  if (!/^postgres(ql)?:\/\/[^/]/.test(location))
    ctx.issue(
      `${at}.postgres`,
      `expected a postgres:// or postgresql:// URL, found ${JSON.stringify(ctx.redact(location))}`,
    );
  return { kind: 'postgres' as const, location, lsDb: undefined };
}

/** `restore.dump`: postgres only, readable, and the tool that applies it on PATH. */
function checkRestore(ctx: ResolveContext, name: string, s: RawStore, kind: StoreConfig['kind']): void {
  if (!s.restore) return;
  const at = `stores.${name}.restore`;
  if (kind === 'sqlite') {
    ctx.issue(
      at,
      'applies to postgres stores only; sqlite stores are restored by Litestream from litestream.yml',
    );
    return;
  }
  const head = ctx.disk.readFile(path.resolve(ctx.dir, s.restore.dump));
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

/** `migrate:`: the folder of the built-in migrator exists, or the command's program does. */
function checkMigrate(
  ctx: ResolveContext,
  raw: RawConfig,
  name: string,
  s: RawStore,
  kind: StoreConfig['kind'],
): void {
  const at = `stores.${name}.migrate`;
  if (s.migrate?.dir !== undefined) {
    if (kind === 'postgres' && raw.backup.postgres && !resolveExecutable('pg_dump', ctx))
      ctx.issue(
        at,
        'a backup is taken with pg_dump before migrating, and pg_dump is not on PATH (install postgresql-client, or set backup.postgres: false)',
      );
    if (!ctx.disk.isDirectory(path.resolve(ctx.dir, s.migrate.dir)))
      ctx.issue(`${at}.dir`, `${s.migrate.dir} is not a directory (expected the folder of migration files)`);
  }
  if (s.migrate?.command !== undefined) {
    const problem = checkCommand(s.migrate.command, ctx);
    if (problem) ctx.issue(`${at}.command`, problem);
  }
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
