// The shape of bootseq.yml (zod, strict objects) and its conversion from snake_case YAML to the
// camelCase Config the rest of bootseq uses. Never touches the disk; load.ts does.

import * as z from 'zod';

/**
 * A duration as Go (and so litestream.yml) writes one: one or more number+unit parts, `500ms`, `20s`,
 * `1m30s`, `1h15m`, `1.5h`; units ns, us (µs), ms, s, m, h. Rounded to whole milliseconds.
 */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function toMs(text: string): number {
  if (!DURATION.test(text)) throw new Error(`not a duration: ${text}`);
  let ms = 0;
  for (const [, n, unit] of text.matchAll(PART)) ms += Number(n) * (UNIT_MS[unit ?? 's'] ?? 1000);
  return Math.round(ms);
}

const duration = z
  .string({ error: 'expected a duration like 500ms, 20s, 2m or 1m30s' })
  .regex(DURATION, 'expected a duration like 500ms, 20s, 2m or 1m30s')
  .transform(toMs)
  .describe('duration (`500ms`, `20s`, `1m30s`)');

/** A strict object whose unknown-key error lists the keys it accepts. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `expected one of: ${known}` : undefined),
  });
}

const NAME = /^[a-z][a-z0-9_-]*$/;
const names = z.array(z.string()).optional();
const nonEmpty = z.string().min(1, 'expected a non-empty string');

const HISTORY_FORMATS = ['bootseq', 'sqlx', 'flyway', 'rails'] as const;

const migrate = strict({
  command: nonEmpty.optional(),
  dir: nonEmpty.optional(),
  history: z.enum(HISTORY_FORMATS).optional(),
  table: nonEmpty.optional(),
  baseline: z.union([z.string(), z.number()]).transform(String).optional(),
  out_of_order: z.boolean().optional(),
  /** Rails history: ar_internal_metadata's environment. @default RAILS_ENV, else RACK_ENV, else development */
  environment: nonEmpty.optional(),
}).superRefine((m, ctx) => {
  if ((m.command === undefined) === (m.dir === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected exactly one of "command" (any migration command) or "dir" (built-in migrator)',
    });
  }
  if (m.dir !== undefined && m.history === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['history'],
      message: `expected one of ${HISTORY_FORMATS.join(', ')} with "dir"`,
    });
  }
  if (m.command !== undefined) {
    for (const key of ['history', 'table', 'baseline', 'out_of_order', 'environment'] as const) {
      if (m[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `only applies with "dir", not with "command"` });
    }
  }
});

const requireSpec = strict({
  tables: z.array(nonEmpty).default([]),
  columns: z.record(z.string(), z.array(nonEmpty)).default({}),
  sequences: z.array(nonEmpty).default([]),
  extensions: z.array(nonEmpty).default([]),
});

/** Change-log sync between SQLite nodes (docs/sync.md): this store's node, its role and what it syncs. */
const sync = strict({
  node: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a node id of letters, digits, ".", "_" and "-"'),
  role: z.enum(['main', 'client'], { error: 'expected "main" or "client"' }),
  tables: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a table name'))
    .min(1, 'expected at least one table'),
  prefer_main: z.array(nonEmpty).default([]),
  inbox: nonEmpty.optional(),
  /** Transactions per commit on import. @default IMPORT_BATCH_SIZE from the environment, else 100 */
  batch_size: z.number().int().min(1).optional(),
  allow_schema_alter: z.boolean().default(false),
  /** How far ahead of this node's clock a change may be stamped before its import line says so. */
  max_clock_skew: duration.prefault('5m'),
});

const store = strict({
  sqlite: nonEmpty.optional(),
  postgres: nonEmpty.optional(),
  after: names,
  restore: strict({
    /** postgres: a SQL dump or pg_dump -Fc file applied to an empty database. */
    dump: nonEmpty.optional(),
    /**
     * sqlite: boot fresh even when a replica sits beside the configured one under a name close to it
     * (a typo in the replica path would otherwise start empty over a backup that exists).
     */
    allow_fresh_start: z.boolean().optional(),
  }).optional(),
  migrate: migrate.optional(),
  seed: z.union([nonEmpty.transform((s) => [s]), z.array(nonEmpty)]).optional(),
  require: requireSpec.prefault({}),
  /** postgres: how long to retry connecting while the server starts. */
  wait: duration.prefault('30s'),
  sync: sync.optional(),
}).superRefine((s, ctx) => {
  if ((s.sqlite === undefined) === (s.postgres === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'expected exactly one of "sqlite: PATH" or "postgres: URL"' });
  }
});

const ready = strict({
  log: nonEmpty.optional(),
  tcp: z.union([z.number().int().min(1).max(65535), nonEmpty]).optional(),
  http: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  file: nonEmpty.optional(),
  delay: duration.optional(),
  timeout: duration.prefault('60s'),
}).superRefine((r, ctx) => {
  const given = (['log', 'tcp', 'http', 'file', 'delay'] as const).filter((k) => r[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected exactly one of log, tcp, http, file, delay${given.length ? `, found ${given.join(' and ')}` : ''}`,
    });
  }
  if (r.log !== undefined) {
    try {
      new RegExp(r.log);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['log'],
        message: `expected a regular expression: ${(error as Error).message}`,
      });
    }
  }
});

/**
 * A check that keeps running after the process is ready (issue 30): `failures` in a row stop it (its
 * group, by the shutdown rules) so its restart policy brings it back; without one, supervision ends.
 */
const liveness = strict({
  http: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  tcp: z.union([z.number().int().min(1).max(65535), nonEmpty]).optional(),
  /** A shell command line run in the project folder with the process's env; exit 0 means alive. */
  exec: nonEmpty.optional(),
  /** Time from one check's start to the next one's (never two at once). */
  every: duration.prefault('10s'),
  /** A check without an answer by then failed (a hung process answers nothing). */
  timeout: duration.prefault('5s'),
  /** Consecutive failed checks that count as dead. */
  failures: z.number().int().min(1).default(3),
}).superRefine((l, ctx) => {
  const given = (['http', 'tcp', 'exec'] as const).filter((k) => l[k] !== undefined);
  if (given.length !== 1)
    ctx.addIssue({
      code: 'custom',
      message: `expected exactly one of http, tcp, exec${given.length ? `, found ${given.join(' and ')}` : ''}`,
    });
});

const processSpec = strict({
  command: nonEmpty,
  after: names,
  env: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
  ready: ready.optional(),
  restart: z.enum(['no', 'on-failure'], { error: 'expected "no" or "on-failure"' }).default('no'),
  max_restarts: z.number().int().min(0).default(3),
  /** Only restarts within this window count toward max_restarts. */
  restart_window: duration.prefault('10m'),
  backoff: duration.prefault('1s'),
  liveness: liveness.optional(),
});

/** A service the app needs (Redis, a broker, an HTTP API): waited on before the first task that needs it. */
const service = strict({
  /** redis, rediss, amqp, amqps, tcp, http or https; checked at preflight (services.ts). */
  url: nonEmpty,
  /** How long to retry until it answers (backoff between attempts). */
  wait: duration.prefault('30s'),
});

export const configSchema = strict({
  version: z.literal(1, { error: 'expected 1 (the only config version)' }),
  litestream: strict({
    config: nonEmpty,
    bin: nonEmpty.optional(),
    takeover_timeout: duration.prefault('60s'),
    max_restarts: z.number().int().min(0).default(3),
    /** Only restarts within this window count toward max_restarts. */
    restart_window: duration.prefault('10m'),
    backoff: duration.prefault('1s'),
    /** A local change waiting this long for the replica is a replication stall (an error). */
    stall_timeout: duration.prefault('30s'),
    /** A stall this long kills Litestream and restarts it (it counts as a restart). */
    stall_restart: duration.prefault('60s'),
    /**
     * How often each replica is asked whether its current generation can still be restored (a snapshot,
     * and the WAL from its start); one that cannot restarts Litestream in a new generation.
     */
    snapshot_check: duration.prefault('30s'),
    /** Which of Litestream's lines reach bootseq's log: `warnings` hides its routine per-sync lines. */
    log: z.enum(['warnings', 'all'], { error: 'expected "warnings" or "all"' }).default('warnings'),
  })
    .superRefine((l, ctx) => {
      if (l.stall_restart <= l.stall_timeout)
        ctx.addIssue({
          code: 'custom',
          path: ['stall_restart'],
          message:
            'expected a duration longer than stall_timeout (the stall is reported first, then Litestream is restarted)',
        });
    })
    .optional(),
  stores: z
    .record(z.string().regex(NAME, 'expected a name of lowercase letters, digits, _ and -'), store)
    .default({}),
  processes: z
    .record(z.string().regex(NAME, 'expected a name of lowercase letters, digits, _ and -'), processSpec)
    .default({}),
  services: z
    .record(z.string().regex(NAME, 'expected a name of lowercase letters, digits, _ and -'), service)
    .default({}),
  shutdown: strict({ grace: duration.prefault('20s'), replication_grace: duration.prefault('10s') }).prefault(
    {},
  ),
  report: strict({
    dir: nonEmpty.default('.bootseq/runs'),
    keep: z.number().int().min(1).default(20),
  }).prefault({}),
  /**
   * One bootseq at a time restores/migrates a sqlite store, and one runs Litestream on it: kernel-held
   * locks beside each database's real path (`.<db>-bootseq/`). Always on. `dir` is no longer used (a
   * folder of its own let two configs run two Litestreams on one file): accepted, warned about.
   */
  lease: strict({
    dir: nonEmpty.optional(),
    /** How long to wait for another bootseq that is restoring or migrating the same databases. */
    wait: duration.prefault('5m'),
  }).prefault({}),
  /** `bootseq status` asks the running bootseq over this unix socket (owner-only); default under report.dir. */
  status: strict({ socket: nonEmpty.optional() }).prefault({}),
  /** HTTP health and metrics (/livez, /readyz, /metrics): off unless `listen` is set. */
  health: strict({
    listen: nonEmpty.optional(),
    /** A store whose replica is further behind than this is a problem (below: whether it makes /readyz 503). */
    max_lag: duration.prefault('30s'),
    /**
     * Whether ready means "replicating too": Litestream up and every store's lag under max_lag. true: a
     * lagging replica makes /readyz 503 and `bootseq status` exit 1 (a router takes the instance out).
     * false: those are warnings, shown but not failing; ready is the boot done and every process ready.
     */
    ready_requires_replication: z.boolean().default(true),
    /**
     * A dead-man check (healthchecks.io, Better Stack): `url` is called (GET) every `every` while
     * /readyz would answer 200, so its silence means trouble. The URL is a secret (redacted).
     */
    heartbeat: strict({
      url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
      every: duration.prefault('1m'),
    }).optional(),
  }).prefault({}),
  /**
   * Restore rehearsals while `up` supervises (issue 30): every `every`, `bootseq rehearse` in the
   * background at low priority, into a new folder under `into` that is deleted afterwards; its run
   * report is kept (the last `keep`). `fail_ready`: a failed rehearsal makes /readyz 503 until one passes.
   */
  rehearse: strict({
    every: duration,
    /** @default <report.dir>/rehearsals */
    into: nonEmpty.optional(),
    keep: z.number().int().min(1).default(10),
    fail_ready: z.boolean().default(false),
  }).optional(),
  /** Backups taken before the built-in migrator applies anything: `<report.dir>/backups/<store>/`. */
  backup: strict({ keep: z.number().int().min(1).default(3), postgres: z.boolean().default(true) }).prefault(
    {},
  ),
});

export type RawConfig = z.output<typeof configSchema>;
/** One `stores:` entry as written (snake_case), before stores.ts resolves it. */
export type RawStore = RawConfig['stores'][string];
type RawProcess = RawConfig['processes'][string];

/** Where a sqlite store's Litestream replica lives, as learned from litestream.yml. */
export interface LitestreamReplica {
  /** What Litestream's log lines call it (`replica=…`): `name:`, else the type. */
  readonly name: string;
  readonly type: string;
  /** Absolute directory for file replicas. */
  readonly path: string | undefined;
  readonly url: string | undefined;
  /** s3 replicas: where the replica is and how to reach it, as litestream.yml says (`url:` or the keys). */
  readonly s3?: S3ReplicaLocation | undefined;
}

/** An s3 replica's bucket and prefix, endpoint and credentials (undefined: Litestream's defaults / env). */
export interface S3ReplicaLocation {
  readonly bucket: string;
  /** The prefix as written, without a leading slash. */
  readonly path: string;
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly forcePathStyle: boolean | undefined;
  readonly accessKeyId: string | undefined;
  /** Secret: never printed. */
  readonly secretAccessKey: string | undefined;
}

/** A Litestream release line bootseq has a driver for (db/litestream/): v0.3.x, v0.5.x. */
export type LitestreamSeries = '0.3' | '0.5';

export interface LitestreamDb {
  readonly path: string;
  readonly metaPath: string;
  readonly replicas: readonly LitestreamReplica[];
}

export interface LitestreamConfig {
  /** litestream.yml, absolute. */
  readonly configPath: string;
  /**
   * The config Litestream is run with (`-config`): litestream.yml itself, or, when a database path in
   * it goes through a symlink, a copy with the resolved paths (`text`, written there before each run
   * by db/litestream/config-file.ts; docs/litestream.md "Paths").
   */
  readonly run: { readonly configPath: string; readonly text: string | undefined };
  readonly bin: string;
  /**
   * The Litestream release line the binary speaks, from `litestream version` at preflight (the packaged
   * binary is v0.3.13 by its pinned version): picks the driver (db/litestream/). v0.4 and others are refused.
   */
  readonly series: LitestreamSeries;
  readonly takeoverTimeoutMs: number;
  readonly dbs: readonly LitestreamDb[];
  /** Restarts of Litestream when it exits while the app runs, before bootseq gives up (exit 1). */
  readonly restart: RestartLimits;
  /** How long a local change may wait for the replica before it is a stall, and before Litestream is restarted. */
  readonly stall: { readonly timeoutMs: number; readonly restartMs: number };
  /** Time between two checks that each replica can still restore its store (docs/litestream.md Q12). */
  readonly snapshotCheckMs: number;
  /**
   * `warnings`: errors, warnings and lifecycle lines are relayed, not the per-sync lines (v0.3: `write
   * wal segment`, `wal segment written`, snapshots; v0.5: every DEBUG line, which bootseq's copy of
   * litestream.yml asks for, and `compaction complete`); `all`: every line. bootseq reads every line
   * either way (the driver's `isRoutine`, db/litestream/).
   */
  readonly log: 'warnings' | 'all';
}

/** `health.listen`: a TCP address; port 0 takes any free port (the one taken is logged). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** As written in bootseq.yml. */
  readonly shown: string;
}

/** At most `maxRestarts` within `windowMs`; the wait before one starts at `backoffMs` and doubles. */
export interface RestartLimits {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly backoffMs: number;
}

/** The validated config: paths absolute, durations in ms, names in camelCase. */
export interface Config {
  readonly file: string;
  readonly dir: string;
  readonly hash: string;
  readonly litestream: LitestreamConfig | undefined;
  readonly stores: readonly StoreConfig[];
  readonly processes: readonly ProcessConfig[];
  /** `services:`, in the order written. */
  readonly services: readonly ServiceConfig[];
  readonly shutdown: { readonly graceMs: number; readonly replicationGraceMs: number };
  readonly report: { readonly dir: string; readonly keep: number };
  /**
   * Backups before the built-in migrator changes a store, in `<report.dir>/backups/<store>/`;
   * postgres: pg_dump -Fc (needs pg_dump ≥ the server).
   */
  readonly backup: { readonly dir: string; readonly keep: number; readonly postgres: boolean };
  /** How long to wait for a booting holder of a boot lease (the locks live beside each database). */
  readonly lease: { readonly waitMs: number };
  /** The control socket `bootseq status` reads (absolute), or undefined when its path cannot be one. */
  readonly status: { readonly socket: string | undefined };
  /** HTTP health: where it listens (undefined: off), and the replication lag past which it is degraded. */
  readonly health: {
    readonly listen: ListenAddress | undefined;
    readonly maxLagMs: number;
    readonly readyRequiresReplication: boolean;
    /** `health.heartbeat`: the dead-man URL (secret: print it only through redact) and its interval. */
    readonly heartbeat?: HeartbeatConfig | undefined;
  };
  /** `rehearse:`, resolved (`into` absolute); undefined: no scheduled rehearsals. */
  readonly rehearse?: RehearseConfig | undefined;
  /** Variables resolved from `VAR_FILE`, passed on to every child. */
  readonly env: Readonly<Record<string, string>>;
  /** Replaces every secret in `text` with *** (and URL passwords). */
  readonly redact: (text: string) => string;
}

/** A store as the phases see it: `kind` tells which database it names. */
export type StoreConfig = SqliteStoreConfig | PostgresStoreConfig;

interface StoreCommon {
  readonly name: string;
  /** Absolute file path (sqlite) or the URL (postgres; print it only through redact). */
  readonly location: string;
  readonly after: readonly string[];
  readonly migrate: MigrateConfig | undefined;
  /** Absolute paths of the seed files, in order. */
  readonly seed: readonly string[];
  /** verify's gates; every list empty when bootseq.yml has no `require:`. */
  readonly require: RawStore['require'];
  /** postgres: `restore.dump`, absolute. */
  readonly restoreDump: string | undefined;
  /** sqlite: `restore.allow_fresh_start` (a replica under a likely-typo sibling name does not stop the boot). */
  readonly allowFreshStart: boolean;
  readonly waitMs: number;
  /** `litestream restore -timestamp`: set by `bootseq rehearse --timestamp`, never by bootseq.yml. */
  readonly restoreTimestamp?: string | undefined;
}

/** `stores.NAME.sync`, resolved: the inbox absolute, the batch size decided. */
export interface SyncConfig {
  readonly node: string;
  readonly role: 'main' | 'client';
  readonly tables: readonly string[];
  readonly preferMain: readonly string[];
  /** Where change files wait to be imported at boot (absolute), or undefined: only `bootseq sync import`. */
  readonly inbox: string | undefined;
  readonly batchSize: number;
  readonly allowSchemaAlter: boolean;
  /** A change stamped further ahead than this is still applied, and its node named as ahead. @default 5m */
  readonly maxClockSkewMs: number;
}

export interface SqliteStoreConfig extends StoreCommon {
  readonly kind: 'sqlite';
  /** Change-log sync with other nodes, when configured. */
  readonly sync: SyncConfig | undefined;
  /** litestream.yml's entry for the file: its replicas and meta path (`.<db>-litestream` beside it unless set). */
  readonly litestream: LitestreamDb;
}

export interface PostgresStoreConfig extends StoreCommon {
  readonly kind: 'postgres';
  readonly litestream: undefined;
  readonly sync: undefined;
}

export type HistoryName = (typeof HISTORY_FORMATS)[number];

/** `migrate: { command }`: the app's own migrator, run as a shell command line. */
export interface CommandMigrate {
  readonly kind: 'command';
  readonly command: string;
}

/** `migrate: { dir, history, … }`: the built-in migrator. */
export interface BuiltinMigrate {
  readonly kind: 'builtin';
  /** The folder of migration files, absolute. */
  readonly dir: string;
  /** `dir` as written in bootseq.yml (relative to it), for messages. */
  readonly dirShown: string;
  readonly history: HistoryName;
  /** undefined: the format's own table (`_sqlx_migrations`, `flyway_schema_history`, …). */
  readonly table: string | undefined;
  readonly baseline: string | undefined;
  /** @default false */
  readonly outOfOrder: boolean;
  /** Rails history only (undefined otherwise): bootseq.yml's, else RAILS_ENV, else RACK_ENV, else development. */
  readonly environment: string | undefined;
}

export type MigrateConfig = CommandMigrate | BuiltinMigrate;

export interface ProcessConfig {
  readonly name: string;
  readonly command: string;
  /** The processes named in `after:`; undefined: after the process written before it. */
  readonly after: readonly string[] | undefined;
  /** The services named in `after:`: waited on right before this process starts. */
  readonly services: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly ready: RawProcess['ready'];
  readonly restart: RestartLimits & { readonly onFailure: boolean };
  /** `liveness:`, resolved; undefined: checked only at start (ready) and by its exit. */
  readonly liveness?: LivenessConfig | undefined;
}

/** `processes.NAME.liveness`: exactly one of http, tcp, exec; durations in ms. */
export interface LivenessConfig {
  readonly http?: string | undefined;
  readonly tcp?: number | string | undefined;
  readonly exec?: string | undefined;
  readonly everyMs: number;
  readonly timeoutMs: number;
  readonly failures: number;
}

/** `rehearse:`, resolved. */
export interface RehearseConfig {
  readonly everyMs: number;
  /** Absolute: each rehearsal restores into a new folder under it. */
  readonly into: string;
  readonly keep: number;
  readonly failReady: boolean;
}

/** `health.heartbeat`, resolved. */
export interface HeartbeatConfig {
  /** Secret: print it only through redact. */
  readonly url: string;
  readonly everyMs: number;
}

export const SERVICE_SCHEMES = ['redis', 'rediss', 'amqp', 'amqps', 'tcp', 'http', 'https'] as const;
export type ServiceScheme = (typeof SERVICE_SCHEMES)[number];

/** A service bootseq waits for; `url` may hold a password: print it only through redact. */
export interface ServiceConfig {
  readonly name: string;
  readonly url: string;
  readonly scheme: ServiceScheme;
  readonly host: string;
  readonly port: number;
  readonly waitMs: number;
  /**
   * The processes whose `after:` names it: waited on only before them. Empty: waited on before
   * migrate (migrations and seeds may talk to it).
   */
  readonly processes: readonly string[];
}
