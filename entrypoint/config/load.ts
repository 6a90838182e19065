// One pipeline from bootseq.yml to a validated Config: read → parse YAML → expand ${VAR} / VAR_FILE
// in every string → zod (strict objects) → cross-checks (after: targets, cycles, stores listed in
// litestream.yml, dirs and commands that exist). Every problem is collected and reported together;
// nothing is started while any remains.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { createResolveContext, realFs, type ConfigFs } from './context.js';
import { checkCycle } from './cycles.js';
import { checkCommand, packagedLitestreamBin, resolveExecutable } from './executables.js';
import { formatPath, fromZod } from './issues.js';
import { parseLitestreamConfig } from './litestream.js';
import {
  configSchema,
  type Config,
  type LitestreamDb,
  type ProcessConfig,
  type StoreConfig,
} from './schema.js';
import { createExpander } from './secrets.js';

export type { ConfigFs } from './context.js';

export interface ParseOptions {
  /** The name shown in messages, e.g. `bootseq.yml`. */
  readonly file: string;
  /** Where relative paths resolve (the config file's directory). */
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
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
export function loadConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config & { warnings: readonly string[] } {
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

export function parseConfig(text: string, options: ParseOptions): ParseResult {
  const { file, dir, env } = options;
  const disk = options.fs ?? realFs;
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const lookup = { dir, env, disk };

  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      config: undefined,
      warnings,
      issues: doc.errors.map((e) => ({
        file,
        path: '',
        message: `is not valid YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`,
      })),
    };
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      config: undefined,
      warnings,
      issues: [{ file, path: '', message: 'expected a mapping with version: 1, stores: and processes:' }],
    };
  }

  const expander = createExpander({ env, readFile: (f) => disk.readFile(path.resolve(dir, f)) });
  const expanded = mapStrings(raw, [], (value, at) => {
    const { value: out, problems } = expander.expand(value);
    for (const message of problems) issues.push({ file, path: formatPath(at), message });
    return out;
  });

  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) {
    // A value that failed to expand is already reported; its schema error would only repeat it.
    const reported = new Set(issues.map((i) => i.path));
    for (const issue of parsed.error.issues)
      issues.push(...fromZod(issue, expanded, file).filter((i) => !reported.has(i.path)));
    return { config: undefined, issues, warnings };
  }
  const c = parsed.data;
  const redact = expander.redactor();
  const ctx = createResolveContext({ ...lookup, file, redact }, issues, warnings);

  // litestream.yml: which sqlite databases exist and where their replicas are.
  let litestream: Config['litestream'];
  const sqliteNames = Object.entries(c.stores)
    .filter(([, s]) => s.sqlite !== undefined)
    .map(([n]) => n);
  if (c.litestream) {
    const lsFile = path.resolve(dir, c.litestream.config);
    const lsShown = c.litestream.config;
    const lsText = disk.readFile(lsFile);
    let dbs: readonly LitestreamDb[] = [];
    if (lsText === undefined) {
      issues.push({
        file,
        path: 'litestream.config',
        message: `cannot read ${lsShown} (expected the litestream.yml that lists the sqlite stores)`,
      });
    } else {
      const ls = parseLitestreamConfig(lsText, lsShown, dir, env);
      issues.push(...ls.issues);
      warnings.push(...ls.warnings);
      dbs = ls.dbs;
    }
    let bin = c.litestream.bin ?? options.defaultLitestreamBin;
    if (c.litestream.bin !== undefined) {
      bin = resolveExecutable(c.litestream.bin, lookup);
      if (!bin)
        issues.push({
          file,
          path: 'litestream.bin',
          message: `${c.litestream.bin} is not an executable file (expected the litestream binary, v0.3.13)`,
        });
    } else if (!bin) {
      bin = resolveExecutable('litestream', lookup);
      if (!bin)
        issues.push({
          file,
          path: 'litestream',
          message:
            'no litestream binary found (install the npm package @flydotio/litestream-linux-x64, put litestream on PATH, or set litestream.bin)',
        });
    }
    litestream = {
      configPath: lsFile,
      bin: bin ?? 'litestream',
      takeoverTimeoutMs: c.litestream.takeover_timeout,
      dbs,
      restart: { maxRestarts: c.litestream.max_restarts, backoffMs: c.litestream.backoff },
    };
  } else if (sqliteNames.length > 0) {
    issues.push({
      file,
      path: 'litestream',
      message: `missing (expected litestream.config naming the litestream.yml that lists the sqlite stores: ${sqliteNames.join(', ')})`,
    });
  }

  const storeNames = Object.keys(c.stores);
  const stores: StoreConfig[] = Object.entries(c.stores).map(([name, s]) => {
    const at = `stores.${name}`;
    for (const [i, target] of (s.after ?? []).entries()) {
      if (!(target in c.stores))
        issues.push({
          file,
          path: `${at}.after[${i}]`,
          message: `unknown store "${target}" (stores: ${storeNames.join(', ')})`,
        });
      if (target === name)
        issues.push({ file, path: `${at}.after[${i}]`, message: `a store cannot run after itself` });
    }
    let lsDb: LitestreamDb | undefined;
    const kind = s.sqlite !== undefined ? 'sqlite' : 'postgres';
    const location = s.sqlite !== undefined ? path.resolve(dir, s.sqlite) : (s.postgres ?? '');
    if (kind === 'sqlite' && litestream && litestream.dbs.length > 0) {
      lsDb = litestream.dbs.find((d) => d.path === location);
      if (!lsDb) {
        issues.push({
          file,
          path: `${at}.sqlite`,
          message: `${s.sqlite} is not in ${c.litestream?.config} (its dbs: ${litestream.dbs.map((d) => path.relative(dir, d.path) || d.path).join(', ')}); add it there so it is restored and replicated`,
        });
      }
    }
    if (kind === 'postgres' && !/^postgres(ql)?:\/\/[^/]/.test(location)) {
      issues.push({
        file,
        path: `${at}.postgres`,
        message: `expected a postgres:// or postgresql:// URL, found ${JSON.stringify(redact(location))}`,
      });
    }
    if (s.restore && kind === 'postgres') {
      const dump = path.resolve(dir, s.restore.dump);
      const head = disk.readFile(dump);
      if (head === undefined) {
        issues.push({
          file,
          path: `${at}.restore.dump`,
          message: `${s.restore.dump} cannot be read (expected a plain SQL dump or a pg_dump -Fc file)`,
        });
      } else {
        // pg_dump's custom format starts with PGDMP and needs pg_restore; anything else is SQL for psql.
        const tool = head.startsWith('PGDMP') ? 'pg_restore' : 'psql';
        if (!resolveExecutable(tool, lookup)) {
          issues.push({
            file,
            path: `${at}.restore.dump`,
            message: `${s.restore.dump} needs ${tool}, which is not on PATH (install postgresql-client)`,
          });
        }
      }
    }
    if (
      kind === 'postgres' &&
      s.migrate?.dir !== undefined &&
      c.backup.postgres &&
      !resolveExecutable('pg_dump', lookup)
    ) {
      issues.push({
        file,
        path: `${at}.migrate`,
        message:
          'a backup is taken with pg_dump before migrating, and pg_dump is not on PATH (install postgresql-client, or set backup.postgres: false)',
      });
    }
    if (s.restore && kind === 'sqlite') {
      issues.push({
        file,
        path: `${at}.restore`,
        message:
          'applies to postgres stores only; sqlite stores are restored by Litestream from litestream.yml',
      });
    }
    if (s.migrate?.dir !== undefined) {
      const migrateDir = path.resolve(dir, s.migrate.dir);
      if (!disk.isDirectory(migrateDir))
        issues.push({
          file,
          path: `${at}.migrate.dir`,
          message: `${s.migrate.dir} is not a directory (expected the folder of migration files)`,
        });
    }
    if (s.migrate?.command !== undefined) {
      const problem = checkCommand(s.migrate.command, lookup);
      if (problem) issues.push({ file, path: `${at}.migrate.command`, message: problem });
    }
    const seed = (s.seed ?? []).map((f, i) => {
      const absolute = path.resolve(dir, f);
      if (!disk.exists(absolute))
        issues.push({
          file,
          path: `${at}.seed${s.seed && s.seed.length > 1 ? `[${i}]` : ''}`,
          message: `${f} does not exist (expected an SQL file)`,
        });
      return absolute;
    });
    return {
      name,
      kind,
      location,
      after: s.after ?? [],
      migrate:
        s.migrate?.history === 'rails'
          ? {
              ...s.migrate,
              environment: s.migrate.environment ?? env['RAILS_ENV'] ?? env['RACK_ENV'] ?? 'development',
            }
          : s.migrate,
      seed,
      require: s.require,
      restoreDump: s.restore?.dump === undefined ? undefined : path.resolve(dir, s.restore.dump),
      waitMs: s.wait,
      litestream: lsDb,
    };
  });
  const byLocation = new Map<string, string>();
  for (const s of stores) {
    const other = byLocation.get(s.location);
    if (other)
      issues.push({
        file,
        path: `stores.${s.name}.${s.kind}`,
        message: `names the same database as stores.${other} (expected one store per database)`,
      });
    else byLocation.set(s.location, s.name);
  }
  checkCycle(ctx, 'stores', stores);

  const processNames = Object.keys(c.processes);
  const processes: ProcessConfig[] = Object.entries(c.processes).map(([name, p]) => {
    const at = `processes.${name}`;
    for (const [i, target] of (p.after ?? []).entries()) {
      if (!(target in c.processes))
        issues.push({
          file,
          path: `${at}.after[${i}]`,
          message: `unknown process "${target}" (processes: ${processNames.join(', ')})`,
        });
    }
    const problem = checkCommand(p.command, lookup);
    if (problem) issues.push({ file, path: `${at}.command`, message: problem });
    return {
      name,
      command: p.command,
      after: p.after,
      env: p.env ?? {},
      ready: p.ready,
      restart: { onFailure: p.restart === 'on-failure', maxRestarts: p.max_restarts, backoffMs: p.backoff },
    };
  });
  checkCycle(
    ctx,
    'processes',
    processes.map((p) => ({ name: p.name, after: p.after ?? [] })),
  );

  const hash = createHash('sha256').update(text);
  if (litestream) hash.update(disk.readFile(litestream.configPath) ?? '');

  const config: Config = {
    file: path.resolve(dir, path.basename(file)),
    dir,
    hash: hash.digest('hex').slice(0, 16),
    litestream,
    stores,
    processes,
    shutdown: { graceMs: c.shutdown.grace, replicationGraceMs: c.shutdown.replication_grace },
    report: { dir: path.resolve(dir, c.report.dir), keep: c.report.keep },
    backup: {
      dir: path.join(path.resolve(dir, c.report.dir), 'backups'),
      keep: c.backup.keep,
      postgres: c.backup.postgres,
    },
    env: expander.resolvedFromFiles(),
    redact,
  };
  return { config: issues.length ? undefined : config, issues, warnings };
}

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
