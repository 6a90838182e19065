// The seam between bootseq and the Litestream that runs (issue 27; docs/litestream-v05.md "The seam"):
// everything bootseq must know that depends on Litestream's version (the config it is run with, its
// arguments, its log lines, its files beside the database, how a restore is told apart from "no
// backup", what makes a takeover provable) is one of these calls, and one driver per version
// implements them (v3.ts, v5.ts). The phases hold the policy (when to restore, what a stall is, when to
// restart) and never ask which version runs.

import type { LitestreamReplica, LitestreamSeries } from '../../config/schema.js';
import type { LitestreamLine, Position } from './lines.js';

export type { LitestreamLine, Position } from './lines.js';
export type { LitestreamSeries } from '../../config/schema.js';

/**
 * What the replicate phase holds from before Litestream starts until its takeover is proven: the
 * database has a change for the new process to ship (`bumped`), and, in v0.3, a connection that
 * keeps the WAL (and so the generation) alive across the handoff (docs/litestream-v05.md H).
 */
export interface Handoff {
  /** Whether `_litestream_seq` was there to bump (a database never replicated has none). */
  readonly bumped: boolean;
  /**
   * What SQLite said when the bump failed (a read-only mount, a lock held too long); what is held is
   * held all the same, until release(): at a restart the keeper must not go for a failed bump.
   */
  readonly failed?: Error;
  /** Lets go of what prepareTakeover holds; called once the takeover is proven, failed or abandoned. */
  release(): void;
}

/** A line saying this process wrote a database's changes to a replica, up to where. */
export interface Shipped {
  readonly db: string;
  readonly replica: string;
  /** How far the replica holds the database now. */
  readonly upTo: Position;
  /** A whole-database copy (v0.3's snapshot) rather than the changes since the last one. */
  readonly whole: boolean;
}

/** Runs `litestream ARGS` (the caller adds the binary and -config) and returns its output lines. */
export type ListCommand = (
  args: readonly string[],
  timeoutMs: number,
) => Promise<{ lines: string[]; failed?: string }>;

/** Whether a replica can restore the lineage Litestream writes now. */
export type Restorability =
  | { readonly state: 'restorable' }
  /** `reason`: a few words (`its snapshot is gone`); `detail`: what was seen, with the lineage. */
  | { readonly state: 'unrestorable'; readonly reason: string; readonly detail: string }
  | { readonly state: 'unknown'; readonly why: string };

export interface LitestreamDriver {
  /** The release line it speaks: `0.3` (v0.3.x, tested with v0.3.13) or `0.5` (tested with v0.5.17). */
  readonly series: LitestreamSeries;

  // Running it.
  /** The `-config` file Litestream runs with: litestream.yml, or bootseq's copy, written first. */
  configFile(run: { readonly configPath: string; readonly text: string | undefined }): string;
  /**
   * What Litestream's environment needs beside bootseq's own (`env`: process and bootseq.yml `env:`),
   * for every run of it: v0.5 refuses to start an S3 replica while `AWS_CA_BUNDLE` is set
   * (docs/litestream-v05.md C7), so it gets it empty (unset, for the AWS SDK) and the same bundle as
   * `SSL_CERT_FILE`, which Go's TLS reads instead.
   */
  environment(env: Readonly<Record<string, string | undefined>>): Record<string, string>;
  /**
   * Whether it reports an S3 endpoint it cannot reach (v0.3: `connection refused` within seconds);
   * v0.5 retries for minutes without a line (docs/litestream-v05.md C), so bootseq asks first.
   */
  readonly reportsUnreachable: boolean;
  /** `litestream replicate` with that config. */
  replicateArgs(configPath: string): string[];
  /** `litestream restore`: only when a replica exists and only when `outPath` does not (docs/litestream.md rule 2). */
  restoreArgs(o: {
    readonly configPath: string;
    /** The database as litestream.yml names it. */
    readonly source: string;
    readonly outPath: string;
    readonly timestamp?: string | undefined;
  }): string[];
  /**
   * The folders directly under a replica's root that hold its backups (v0.3: `generations`; v0.5:
   * `ltx` in a file replica, `0000`…`0009` in S3, and a v0.3 replica's `generations`, which it restores).
   */
  readonly backupFolders: readonly string[];
  /**
   * Another version's backups this one cannot read, as the folders under a replica's root that hold
   * them, and their name (v0.3: v0.5's `ltx/` and S3 level folders, docs/litestream-v05.md F3, F4;
   * v0.5 reads v0.3's, so none). A replica holding them is refused (phases/restore).
   */
  readonly foreignBackups: { readonly folders: readonly string[]; readonly what: string } | undefined;
  /** Known without running Litestream: a file replica that holds no backup at all (v0.3: no `generations/`). */
  hasNoBackups(replica: LitestreamReplica): boolean;
  /** After a restore wrote `outPath`: removes what it left beside it and gives the file the umask's mode. */
  tidyRestored(outPath: string): void;

  // Reading it.
  /** One line of its output as data (parsed once per line: phases/replicate/lines.ts); `this`-free. */
  readonly parseLine: (text: string) => LitestreamLine;
  /** The per-sync lines an operator need not see (relayed only with `litestream.log: all`). */
  isRoutine(line: LitestreamLine): boolean;
  /** A line saying this process wrote to a replica, and up to where; undefined for any other line. */
  shipped(line: LitestreamLine): Shipped | undefined;
  /**
   * A line saying how far a replica is, as this process knows it: every `shipped` line, and (v0.5)
   * its `replica sync` line, which says it at every sync even when there was nothing to write. What
   * the progress monitor settles by; never a takeover proof (that needs this process's own write).
   */
  replicaAt(line: LitestreamLine): Omit<Shipped, 'whole'> | undefined;
  /**
   * A reader for one Litestream process's lines that answers, at the line where it happens, the
   * database whose WAL Litestream found started over by another connection since its last sync and
   * went on from without a new snapshot: the writes just before may be in no file of the replica (v0.5:
   * DEBUG `verify saltMatch=false`, then a `sync` without `snap=true`; docs/litestream-v05.md K, L).
   * It cannot happen while Litestream holds its read lock. v0.3 starts a new generation instead.
   */
  watchWalStartOver(): (line: LitestreamLine) => string | undefined;
  /**
   * Whether a line says a whole-database copy to its replica has begun (true) or is over, written or
   * failed (false); undefined for any other line (v0.3: `write snapshot`, `snapshot written`, an ERROR).
   */
  copyingWhole(line: LitestreamLine): boolean | undefined;
  /** Whether `a` is at or past `b`; never across lineages. */
  isAtOrPast(a: Position, b: Position): boolean;
  /** A lineage in words for messages (v0.3: `generation 5f2e…`); undefined when there is one only (v0.5). */
  describeLineage(lineage: string): string | undefined;
  /** The lineage Litestream replicates a database in now (v0.3: `.<db>-litestream/generation`). */
  lineage(metaPath: string): string | undefined;
  /** How far Litestream's own copy of the database is (v0.3: the newest shadow WAL), with its mtime. */
  localPosition(metaPath: string): (Position & { readonly mtimeMs: number }) | undefined;

  /** The command an operator runs to see what `checkRestorable` sees (v0.3 `snapshots`, v0.5 `restore -dry-run`). */
  checkCommand(configPath: string, db: string): string;
  /**
   * Whether `replica` can restore the database's current lineage, asked of Litestream through `list`
   * (v0.3: `snapshots`, and with `thorough` `wal`: docs/litestream.md Q12); undefined when there is
   * nothing to judge (no lineage yet) or the lineage moved while Litestream was asked.
   */
  checkRestorable(
    list: ListCommand,
    target: { readonly dbPath: string; readonly listPath?: string; readonly metaPath: string },
    replica: string,
    thorough: boolean,
    timeoutMs: number,
  ): Promise<{ generation: string; verdict: Restorability } | undefined>;

  // Changing it (only while no Litestream runs).
  /**
   * Makes the next Litestream start a new lineage (v0.3: removes the generation file, and returns it).
   * v0.5: nothing to do, a restarted Litestream writes a new snapshot when the replica has none at or
   * after its TXID (docs/litestream-v05.md I2); undefined.
   */
  renewLineage(metaPath: string): string | undefined;
  /**
   * From the moment bootseq finds a database file that is not restored on this boot (the restore
   * phase) until the next prepareTakeover adopts it: keeps what lets the next Litestream continue the
   * replica's lineage instead of starting over (v0.3: one connection open, so that the WAL is never
   * deleted by bootseq's own connections closing: docs/litestream-v05.md H). Never throws. A boot that
   * stops before replicate leaves it to the process's exit.
   */
  keepLineage(dbPath: string): Promise<void>;
  /**
   * Before Litestream starts: gives it a change to ship so that its own write proves its takeover
   * (`_litestream_seq` bumped, never created: docs/litestream.md rules), and holds what must be held
   * until that proof. A bump SQLite refuses is the handoff's `failed`; throws only when the database
   * cannot be opened at all.
   */
  prepareTakeover(dbPath: string): Promise<Handoff>;
}
