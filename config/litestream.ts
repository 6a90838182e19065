// Reads litestream.yml the way Litestream v0.3.13 does (Go os.ExpandEnv over the whole file, then
// YAML) to learn which SQLite databases exist and where their replicas are. Refuses what Litestream
// would accept silently but wrongly: an unset ${VAR} (it becomes "" and a restore then reports
// "no backups" for a replica that does exist), durations without a unit (nanoseconds).
// Database paths are resolved through symlinks (a volume linked into the app folder): bootseq compares
// them with /proc's fd targets and binds its leases to them, and Litestream must name them the same
// way, so when one differs from what litestream.yml says, bootseq runs Litestream with a copy of
// litestream.yml whose `path:`s are the resolved ones (`runText`; everything else as written, ${VAR}s
// unexpanded). A symlinked database *file* would otherwise break Litestream outright: it reads
// `<path>-wal`, beside the link, while SQLite writes the WAL beside the real file.

import path from 'node:path';
import { parse, parseDocument } from 'yaml';
import type { ConfigIssue } from '../core/errors.js';
import type { LitestreamDb, LitestreamReplica, S3ReplicaLocation } from './schema.js';

const DB_KEYS = new Set([
  'path',
  'meta-path',
  'monitor-interval',
  'checkpoint-interval',
  'min-checkpoint-page-count',
  'max-checkpoint-page-count',
  'replicas',
  'replica',
]);
const REPLICA_KEYS = new Set([
  'type',
  'name',
  'path',
  'url',
  'retention',
  'retention-check-interval',
  'snapshot-interval',
  'sync-interval',
  'validation-interval',
  'access-key-id',
  'secret-access-key',
  'region',
  'bucket',
  'endpoint',
  'force-path-style',
  'skip-verify',
  'account-name',
  'account-key',
  'host',
  'user',
  'password',
  'key-path',
  'concurrent-writes',
  'age',
]);
const DURATION_KEYS = [
  'monitor-interval',
  'checkpoint-interval',
  'retention',
  'retention-check-interval',
  'snapshot-interval',
  'sync-interval',
  'validation-interval',
];

export interface LitestreamConfigResult {
  readonly dbs: readonly LitestreamDb[];
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly string[];
  /** litestream.yml with every database path resolved, when one differs from what is written there. */
  readonly runText: string | undefined;
}

/** Go's os.ExpandEnv: `${NAME}` and `$NAME`; an unset name becomes "" (reported here as an issue). */
export function expandLikeGo(text: string, env: Readonly<Record<string, string | undefined>>) {
  const unset = new Set<string>();
  const value = text.replace(
    /\$(?:\{([^}]*)\}|([A-Za-z0-9_]+))/g,
    (_m, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const found = env[name];
      if (found === undefined || found === '') unset.add(name);
      return found ?? '';
    },
  );
  return { value, unset: [...unset] };
}

/**
 * `dir` is where relative paths resolve: bootseq runs Litestream with that working directory.
 * `realpath` resolves a database path through symlinks (identity when not given).
 */
export function parseLitestreamConfig(
  text: string,
  file: string,
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  realpath: (p: string) => string = (p) => p,
): LitestreamConfigResult {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const { value, unset } = expandLikeGo(text, env);
  for (const name of unset) {
    issues.push({
      file,
      path: '',
      message: `\${${name}} is not set or empty; Litestream would silently use "" and treat an existing replica as missing (set ${name}${name.includes(':') ? '; Litestream does not support ${VAR:-default}' : ''})`,
    });
  }
  let doc: unknown;
  try {
    doc = parse(value);
  } catch (error) {
    issues.push({ file, path: '', message: `is not valid YAML: ${(error as Error).message.split('\n')[0]}` });
    return { dbs: [], issues, warnings, runText: undefined };
  }
  checkLogging(isRecord(doc) ? doc['logging'] : undefined, file, issues);
  const dbsRaw = isRecord(doc) ? doc['dbs'] : undefined;
  if (!Array.isArray(dbsRaw) || dbsRaw.length === 0) {
    issues.push({ file, path: 'dbs', message: 'expected a list of databases (dbs: - path: … replicas: …)' });
    return { dbs: [], issues, warnings, runText: undefined };
  }
  const dbs: LitestreamDb[] = [];
  /** dbs index → the path as written (absolute) and resolved, for each database where they differ. */
  const resolved = new Map<number, { written: string; real: string }>();
  dbsRaw.forEach((entry: unknown, i) => {
    const at = `dbs[${i}]`;
    if (!isRecord(entry) || typeof entry['path'] !== 'string' || entry['path'] === '') {
      issues.push({ file, path: `${at}.path`, message: 'expected the path of the SQLite database' });
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!DB_KEYS.has(key))
        warnings.push(`${file}: ${at}.${key}: unknown key; Litestream ignores it silently`);
    }
    checkDurations(entry, at, file, issues);
    const written = path.resolve(dir, entry['path']);
    const dbPath = realpath(written);
    if (dbPath !== written) resolved.set(i, { written, real: dbPath });
    const metaPath =
      typeof entry['meta-path'] === 'string'
        ? path.resolve(dir, entry['meta-path'])
        : defaultMetaPath(dbPath);
    const list: unknown[] = Array.isArray(entry['replicas'])
      ? entry['replicas']
      : entry['replica']
        ? [entry['replica']]
        : [];
    if (list.length === 0)
      issues.push({ file, path: `${at}.replicas`, message: 'expected at least one replica' });
    const replicas = list.flatMap((r, j) => {
      const replica = parseReplica(r, `${at}.replicas[${j}]`, file, dir, issues, warnings);
      return replica ? [replica] : [];
    });
    dbs.push({ path: dbPath, metaPath, replicas });
  });
  const runText =
    resolved.size > 0
      ? withResolvedPaths(text, resolved, file, issues, (raw) =>
          path.resolve(dir, expandLikeGo(raw, env).value),
        )
      : undefined;
  return { dbs, issues, warnings, runText };
}

/**
 * litestream.yml as written (comments, ${VAR}s and all), with `dbs[i].path` replaced by its resolved
 * path. A path that only ${VAR} expansion makes (a whole `dbs:` list from the environment) cannot be
 * rewritten: then the resolved path must be written in litestream.yml itself.
 */
function withResolvedPaths(
  text: string,
  resolved: ReadonlyMap<number, { written: string; real: string }>,
  file: string,
  issues: ConfigIssue[],
  asLitestreamReads: (raw: string) => string,
): string | undefined {
  const doc = parseDocument(text);
  const problems: ConfigIssue[] = [];
  for (const [i, { written, real }] of resolved) {
    const at = `dbs[${i}].path`;
    const raw: unknown = doc.errors.length === 0 ? doc.getIn(['dbs', i, 'path']) : undefined;
    if (typeof raw !== 'string' || asLitestreamReads(raw) !== written || real.includes('$')) {
      problems.push({
        file,
        path: at,
        message: `resolves through a symlink to ${real}, and bootseq cannot give Litestream that path in a copy of this file; write ${real} there`,
      });
      continue;
    }
    doc.setIn(['dbs', i, 'path'], real);
  }
  issues.push(...problems);
  return problems.length > 0 ? undefined : doc.toString();
}

/** One entry of a database's `replicas:`; undefined (and an issue) when it is not a mapping. */
function parseReplica(
  r: unknown,
  at: string,
  file: string,
  dir: string,
  issues: ConfigIssue[],
  warnings: string[],
): LitestreamReplica | undefined {
  if (!isRecord(r)) {
    issues.push({ file, path: at, message: 'expected a replica (type/path or url)' });
    return undefined;
  }
  for (const key of Object.keys(r)) {
    if (!REPLICA_KEYS.has(key))
      warnings.push(`${file}: ${at}.${key}: unknown key; Litestream ignores it silently`);
  }
  checkDurations(r, at, file, issues);
  const url = typeof r['url'] === 'string' ? r['url'] : undefined;
  const type = typeof r['type'] === 'string' ? r['type'] : url ? (url.split('://')[0] ?? 'file') : 'file';
  let replicaPath: string | undefined;
  if (type === 'file') {
    const raw = url?.startsWith('file://')
      ? url.slice('file://'.length)
      : typeof r['path'] === 'string'
        ? r['path']
        : undefined;
    if (!raw)
      issues.push({ file, path: `${at}.path`, message: 'expected the directory of the file replica' });
    else replicaPath = path.resolve(dir, raw);
  }
  const name = typeof r['name'] === 'string' && r['name'] !== '' ? r['name'] : type;
  if (type !== 's3') return { name, type, path: replicaPath, url };
  return { name, type, path: replicaPath, url, s3: s3Location(r, url) };
}

/**
 * Where an s3 replica is, as Litestream v0.3.13 reads it: `url: s3://BUCKET/PATH`, or `bucket:` and
 * `path:`; endpoint, region, force-path-style and credentials from their keys (undefined: Litestream's
 * defaults and the environment). Undefined when no bucket is named (Litestream refuses that itself).
 */
function s3Location(r: Record<string, unknown>, url: string | undefined): S3ReplicaLocation | undefined {
  const text = (key: string) => (typeof r[key] === 'string' && r[key] !== '' ? r[key] : undefined);
  let bucket = text('bucket');
  let prefix = text('path');
  if (url?.startsWith('s3://')) {
    try {
      const u = new URL(url);
      bucket ??= u.hostname;
      prefix ??= decodeURIComponent(u.pathname);
    } catch {
      // Litestream reports a URL it cannot parse.
    }
  }
  if (!bucket) return undefined;
  const pathStyle = r['force-path-style'];
  return {
    bucket,
    path: (prefix ?? '').replace(/^\/+/, ''),
    endpoint: text('endpoint'),
    region: text('region'),
    forcePathStyle: typeof pathStyle === 'boolean' ? pathStyle : undefined,
    accessKeyId: text('access-key-id'),
    secretAccessKey: text('secret-access-key'),
  };
}

/**
 * bootseq proves replication from Litestream's INFO lines (`snapshot written`, `wal segment written`);
 * `logging.level: warn` or `error` would hide them and every boot would wait for a proof that never
 * comes. Text and JSON lines are both read.
 */
function checkLogging(logging: unknown, file: string, issues: ConfigIssue[]): void {
  if (!isRecord(logging)) return;
  const level = typeof logging['level'] === 'string' ? logging['level'].toLowerCase() : undefined;
  if (level !== undefined && !['debug', 'info'].includes(level))
    issues.push({
      file,
      path: 'logging.level',
      message: `bootseq reads Litestream's INFO lines to prove that each database reaches its replica; expected debug or info, found ${JSON.stringify(logging['level'])}`,
    });
}

/**
 * The copy of litestream.yml a Litestream v0.5 runs with: `logging.level: debug`, because v0.5 logs
 * its writes to a replica (`ltx file uploaded … maxTXID=`, `replica sync`) only at DEBUG, and they are
 * what proves its takeover and measures its lag (docs/litestream-v05.md B1, B2); and, unless it says
 * otherwise, a `shutdown-sync-timeout` that ends inside bootseq's `replication_grace` (v0.5 retries a
 * failing final sync for 30 s, then exits 0: C, G), so that one that cannot ship gives up and says so
 * before the SIGKILL. The whole grace less a second, not a share per database: the timeout also cuts
 * off an upload that is merely slow (db.go syncReplicaWithRetry), and Litestream closes its databases
 * one after the other. Everything else as written (a `socket:` too: bootseq itself never uses v0.5's
 * control socket, L); bootseq relays only the lines above DEBUG (litestream.log).
 */
export function forLitestream05(text: string, replicationGraceMs: number): string {
  const doc = parseDocument(text);
  doc.setIn(['logging', 'level'], 'debug');
  const timeout = shutdownSyncTimeout(replicationGraceMs);
  if (timeout !== undefined && !doc.has('shutdown-sync-timeout')) doc.set('shutdown-sync-timeout', timeout);
  return doc.toString();
}

/**
 * `replication_grace` less a second, in whole tenths (Go's duration syntax); undefined (v0.5's own
 * 30 s, cut by the SIGKILL) under a second left: `0s` would mean one try without any deadline.
 */
export function shutdownSyncTimeout(replicationGraceMs: number): string | undefined {
  const ms = Math.floor((replicationGraceMs - 1000) / 100) * 100;
  return ms < 1000 ? undefined : `${ms}ms`;
}

/** Where Litestream keeps a database's generation and WAL copies unless `meta-path` says otherwise. */
export function defaultMetaPath(dbPath: string): string {
  return path.join(path.dirname(dbPath), `.${path.basename(dbPath)}-litestream`);
}

function checkDurations(
  entry: Record<string, unknown>,
  at: string,
  file: string,
  issues: ConfigIssue[],
): void {
  for (const key of DURATION_KEYS) {
    const v = entry[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
      issues.push({
        file,
        path: `${at}.${key}`,
        message: `expected a Go duration with a unit like 1s or 500ms, found ${JSON.stringify(v)} (without a unit Litestream reads nanoseconds)`,
      });
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
