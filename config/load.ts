// One pipeline from bootseq.yml to a validated Config, each step in its own module: read → parse YAML
// → expand ${VAR} / VAR_FILE in every string (secrets.ts) → zod, strict objects (schema.ts; issues.ts
// words its problems) → resolve: paths absolute, defaults filled, camelCase (replication.ts, stores.ts,
// processes.ts, services.ts, checked against the disk and PATH) → cross-checks that need every store or process
// (one store per database, after: cycles) → Config. Every problem is collected and reported
// together; nothing is started while any remains.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type * as z from 'zod';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import {
  createResolveContext,
  readHead,
  realFs,
  type ConfigFs,
  type Env,
  type ResolveContext,
} from './context.js';
import { checkCycle } from './cycles.js';
import { packagedLitestreamBin } from './executables.js';
import { formatPath, fromZod } from './issues.js';
import { resolveProcesses } from './processes.js';
import { resolveLitestream } from './replication.js';
import { configSchema, type Config, type RawConfig } from './schema.js';
import { createExpander } from './secrets.js';
import { resolveServices } from './services.js';
import { checkOneStorePerDatabase, resolveStores } from './stores.js';
import { resolveHealth, resolveStatus } from './status.js';

export type { ConfigFs } from './context.js';

export interface ParseOptions {
  /** The name shown in messages, e.g. `bootseq.yml`. */
  readonly file: string;
  /** Where relative paths resolve (the config file's directory). */
  readonly dir: string;
  readonly env: Env;
  readonly fs?: ConfigFs;
  /** The Litestream binary to use when `litestream.bin` is not set. */
  readonly defaultLitestreamBin?: string | undefined;
}

export interface ParseResult {
  readonly config: Config | undefined;
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly string[];
}

/** Reads and validates a config file; throws ConfigError (exit 2) listing every problem. */
export function loadConfig(file: string, env: Env = process.env): Config & { warnings: readonly string[] } {
  const absolute = path.resolve(file);
  const shown = path.relative(process.cwd(), absolute) || absolute;
  const text = realFs.readFile(absolute);
  if (text === undefined) {
    throw new ConfigError(
      shown,
      [
        {
          file: shown,
          path: '',
          message: `cannot be read (expected the bootseq.yml that lists the stores and processes)`,
        },
      ],
      `run bootseq where bootseq.yml is, or pass --config PATH (or set BOOTSEQ_CONFIG)`,
    );
  }
  const result = parseConfig(text, {
    file: shown,
    dir: path.dirname(absolute),
    env,
    defaultLitestreamBin: packagedLitestreamBin(),
  });
  if (!result.config || result.issues.length > 0) throw new ConfigError(shown, result.issues);
  return Object.assign(result.config, { warnings: result.warnings });
}

/** bootseq.yml's text to a Config, or every problem found; touches the disk only through `options.fs`. */
export function parseConfig(text: string, options: ParseOptions): ParseResult {
  const { file, dir, env } = options;
  const disk = options.fs ?? realFs;
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];

  const raw = readYaml(text, file);
  if (!raw.ok) return { config: undefined, issues: raw.issues, warnings };

  const expander = createExpander({
    env,
    readFile: (f, max) => readHead(disk, path.resolve(dir, f), max),
    kindOf: (f) => disk.kindOf?.(path.resolve(dir, f)),
  });
  const expanded = mapStrings(raw.value, [], (value, at) => {
    const { value: out, problems } = expander.expand(value);
    for (const message of problems) issues.push({ file, path: formatPath(at), message });
    if (formatPath(at) === 'health.heartbeat.url') expander.addSecretUrl(out);
    return out;
  });

  const redact = expander.redactor();
  // A value quoted in a message (a schema error's "found …") is shown redacted, like everything else.
  const shown = () => issues.map((i) => ({ ...i, message: redact(i.message) }));

  const c = checkSchema(expanded, issues, file);
  if (!c) return { config: undefined, issues: shown(), warnings: warnings.map(redact) };
  const ctx = createResolveContext({ file, dir, env, disk, redact }, issues, warnings);
  const config = resolveConfig(ctx, c, {
    text,
    defaultLitestreamBin: options.defaultLitestreamBin,
    resolvedFromFiles: expander.resolvedFromFiles(),
  });
  return { config: issues.length ? undefined : config, issues: shown(), warnings: warnings.map(redact) };
}

/**
 * The expanded YAML through the schema. When it refuses something, the rest is still checked, so
 * one run lists every problem: the config without what the schema refused (defaults take their
 * place), when that much is whole; undefined when not even that is. Problems go to `issues`.
 */
function checkSchema(expanded: unknown, issues: ConfigIssue[], file: string): RawConfig | undefined {
  const parsed = configSchema.safeParse(expanded);
  if (parsed.success) return parsed.data;
  // A value that failed to expand is already reported; its schema error would only repeat it.
  const reported = new Set(issues.map((i) => i.path));
  for (const issue of parsed.error.issues)
    issues.push(...fromZod(issue, expanded, file).filter((i) => !reported.has(i.path)));
  // With issues, the Config resolved from the rest is never returned.
  const rest = configSchema.safeParse(withoutRefused(expanded, parsed.error.issues));
  return rest.success ? rest.data : undefined;
}

/** The schema's output resolved against the disk and PATH, and cross-checked; problems go to ctx. */
function resolveConfig(
  ctx: ResolveContext,
  c: RawConfig,
  source: {
    readonly text: string;
    readonly defaultLitestreamBin: string | undefined;
    readonly resolvedFromFiles: Readonly<Record<string, string>>;
  },
): Config {
  const { dir, disk } = ctx;
  // Resolved in this order so problems read top to bottom: litestream.yml first, as stores are
  // checked against it; then cross-checks that need every store or every process.
  const litestream = resolveLitestream(ctx, c, source.defaultLitestreamBin);
  const stores = resolveStores(ctx, c, litestream);
  checkOneStorePerDatabase(ctx, stores);
  checkCycle(ctx, 'stores', stores);
  const processes = resolveProcesses(ctx, c.processes, c.services);
  const services = resolveServices(ctx, c);
  checkCycle(
    ctx,
    'processes',
    processes.map((p) => ({ name: p.name, after: p.after ?? [] })),
  );

  if (c.rehearse && stores.length === 0)
    ctx.issue('rehearse', 'there is no store to rehearse (expected stores: with a sqlite or postgres store)');
  if (c.lease.dir !== undefined)
    ctx.warnings.push(
      `${ctx.file}: lease.dir is no longer used: the leases live beside each database (its real path), so that no config can run a second Litestream on the same file; remove it`,
    );

  const hash = createHash('sha256').update(source.text);
  if (litestream) hash.update(disk.readFile(litestream.configPath) ?? '');
  const reportDir = path.resolve(dir, c.report.dir);
  return {
    file: path.resolve(dir, path.basename(ctx.file)),
    dir,
    hash: hash.digest('hex').slice(0, 16),
    litestream,
    stores,
    processes,
    services,
    shutdown: { graceMs: c.shutdown.grace, replicationGraceMs: c.shutdown.replication_grace },
    report: { dir: reportDir, keep: c.report.keep },
    backup: { dir: path.join(reportDir, 'backups'), keep: c.backup.keep, postgres: c.backup.postgres },
    status: resolveStatus(ctx, c, reportDir),
    health: resolveHealth(ctx, c),
    lease: { waitMs: c.lease.wait },
    rehearse: c.rehearse && {
      everyMs: c.rehearse.every,
      into: path.resolve(dir, c.rehearse.into ?? path.join(reportDir, 'rehearsals')),
      keep: c.rehearse.keep,
      failReady: c.rehearse.fail_ready,
    },
    env: source.resolvedFromFiles,
    redact: ctx.redact,
  };
}

/**
 * A copy of `value` without what each schema issue points at: the offending key, or the unknown keys
 * a strict object refused. What is left parses again when nothing required was refused.
 */
function withoutRefused(value: unknown, refused: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const issue of refused) {
    const at = [...issue.path];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [at.pop()];
    let node: unknown = copy;
    for (const key of at) node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
    if (node === null || typeof node !== 'object') continue;
    for (const key of keys) if (key !== undefined) delete (node as Record<PropertyKey, unknown>)[key];
  }
  return copy;
}

/** The YAML document as a mapping, or why it is not one. */
function readYaml(
  text: string,
  file: string,
): { ok: true; value: object } | { ok: false; issues: ConfigIssue[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        file,
        path: '',
        message: `is not valid YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`,
      })),
    };
  }
  let value: unknown;
  try {
    // The yaml library refuses more than 100 alias expansions (a "billion laughs" bomb): a config error.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      ok: false,
      issues: [
        {
          file,
          path: '',
          message: `is not valid YAML: ${(error as Error).message} (too many *alias expansions; write the values out)`,
        },
      ],
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return {
      ok: false,
      issues: [{ file, path: '', message: 'expected a mapping with version: 1, stores: and processes:' }],
    };
  return { ok: true, value };
}

/** `value` with `fn` applied to every string in it; `at` is the key path, for messages. */
function mapStrings(
  value: unknown,
  at: (string | number)[],
  fn: (s: string, at: (string | number)[]) => string,
): unknown {
  if (typeof value === 'string') return fn(value, at);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, [...at, i], fn));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, [...at, k], fn)]));
  }
  return value;
}
