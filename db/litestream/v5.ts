// The v0.5 driver: Litestream v0.5.x (tested with v0.5.17; measured in docs/litestream-v05.md A–J).
// v0.5 has no generations and no shadow WAL: each database has one chain of TXIDs, written as LTX
// files, locally under `.<db>-litestream/ltx/0/<min>-<max>.ltx` and in the replica under
// `ltx/<level>/` (S3: `<path>/<level as 4 digits>/`). Its writes to a replica are logged only at
// DEBUG (`ltx file uploaded … maxTXID=`, and `replica sync … txid.replica=` at every sync), so it
// runs with bootseq's copy of litestream.yml at `logging.level: debug` (config/litestream.ts
// forLitestream05) and the DEBUG lines are not relayed. Its lines name a database by its base name
// (`db=app.db`): config/replication.ts refuses two databases with one base name, and the lines are
// given the full path here, so everything above the seam sees what v0.3's lines give.
// What it writes: the same as the v0.3 driver (bootseq's config copy, the `_litestream_seq` bump,
// the keeper connection of keeper.ts); it never removes anything beside the database.

import fs from 'node:fs';
import path from 'node:path';
import type { LitestreamDb } from '../../config/schema.js';
import { litestreamConfigFile } from './config-file.js';
import { restoreArgs, tidyRestored } from './restore-args.js';
import { keepLineage, prepareTakeover } from './keeper.js';
import { isAtOrPast, parseLine, type LitestreamLine, type Position } from './lines.js';
import type { LitestreamDriver, Shipped } from './types.js';
import { checkChain, LINEAGE, readLocalTxid } from './v5-files.js';

/**
 * The per-sync and housekeeping lines an operator need not see: every DEBUG line (bootseq asks for
 * them), and at INFO the compaction of each level (every 30 s per database).
 */
const ROUTINE_INFO = new Set(['compaction complete']);

/** The v0.5 driver for the databases of one litestream.yml (its lines are read against their paths). */
export function v5Driver(dbs: readonly Pick<LitestreamDb, 'path'>[]): LitestreamDriver {
  const byName = new Map(dbs.map((db) => [path.basename(db.path), db.path]));
  const parse = (text: string): LitestreamLine => {
    const line = parseLine(text);
    const db = line.db === undefined ? undefined : (byName.get(line.db) ?? line.db);
    return { ...line, db, position: upTo(line) };
  };
  return {
    series: '0.5',

    configFile: litestreamConfigFile,
    // A file replica holds `ltx/`, an S3 one level folders `0000/`…; a v0.3 replica's `generations/`
    // is restorable by v0.5 (docs/litestream-v05.md F2).
    backupFolders: ['ltx', '0000', '0009', 'generations'],
    foreignBackups: undefined,
    // The bundle as SSL_CERT_FILE even where one is set already (a system bundle, as many images
    // set): Go reads that one file, and the system's roots still from its folders (SSL_CERT_DIR, else
    // /etc/ssl/certs…); an SSL_CERT_FILE kept instead left the private CA out (test/peers/s3-tls).
    environment: (env): Record<string, string> => {
      const bundle = env['AWS_CA_BUNDLE'];
      return bundle ? { AWS_CA_BUNDLE: '', SSL_CERT_FILE: bundle } : {};
    },
    reportsUnreachable: false,
    replicateArgs: (configPath) => ['replicate', '-config', configPath],
    restoreArgs,
    // Neither LTX files nor a v0.3 generation: `restore` would answer "no matching backup files
    // available" (docs/litestream-v05.md E1). A remote replica is litestream's to judge.
    hasNoBackups: (replica) => {
      if (replica.type !== 'file' || !replica.path) return false;
      return ['ltx', 'generations'].every((folder) => isEmptyFolder(path.join(replica.path!, folder)));
    },
    tidyRestored,

    parseLine: parse,
    isRoutine: (line) =>
      line.level === 'DEBUG' || (line.level === 'INFO' && ROUTINE_INFO.has(line.msg ?? '')),
    shipped,
    replicaAt: (line) => shipped(line) ?? replicaSync(line),
    watchWalStartOver,
    // A snapshot is one LTX file written in one go: nothing to wait for (the dry-run sees it whole).
    copyingWhole: () => undefined,
    isAtOrPast,
    describeLineage: () => undefined,
    lineage: (metaPath) => (fs.existsSync(path.join(metaPath, 'ltx')) ? LINEAGE : undefined),
    localPosition: readLocalTxid,
    checkCommand: (configPath, db) => `litestream restore -dry-run -config ${configPath} ${db}`,
    checkRestorable: checkChain,

    // A restarted v0.5 writes a new snapshot when the replica has none at or after its TXID (I2).
    renewLineage: () => undefined,
    keepLineage,
    prepareTakeover,
  };
}

/** The TXID a line says a replica holds now: `ltx file uploaded`'s `maxTXID`. */
function upTo(line: LitestreamLine): Position | undefined {
  if (line.msg !== 'ltx file uploaded') return undefined;
  return txidPosition(line.fields['maxTXID']);
}

function txidPosition(hex: string | undefined): Position | undefined {
  if (hex === undefined || !/^[0-9a-f]{16}$/.test(hex)) return undefined;
  return { lineage: LINEAGE, index: Number.parseInt(hex, 16), offset: 0 };
}

/** `ltx file uploaded`: this process wrote TXIDs min..max of a database to a replica (B1). */
function shipped(line: LitestreamLine): Shipped | undefined {
  if (line.msg !== 'ltx file uploaded' || !line.db || !line.replica || !line.position) return undefined;
  return { db: line.db, replica: line.replica, upTo: line.position, whole: false };
}

/** `replica sync`: the replica's TXID as this process knows it, at every sync interval (B1, B3). */
function replicaSync(line: LitestreamLine): Omit<Shipped, 'whole'> | undefined {
  if (line.msg !== 'replica sync' || !line.db || !line.replica) return undefined;
  const at = txidPosition(line.fields['txid.replica']);
  return at && { db: line.db, replica: line.replica, upTo: at };
}

/**
 * db.go `verify`: a WAL whose salt changed since the last LTX file is snapshotted unless the page at
 * the old offset is still the last one shipped; then v0.5 goes on at offset 32 of the new WAL (K).
 * Its own checkpoint starts the WAL over on purpose, having synced to its end under a write lock: the
 * `verify` right after its `checkpoint` line finds the salt changed and its `sync … chkpt=true` goes
 * on from offset 32 (db.go checkpointWithExecutor), and that is no gap. Any other salt change is:
 * one found at a sync of its own tick, after a checkpoint that left it without its read lock (L).
 */
function watchWalStartOver(): (line: LitestreamLine) => string | undefined {
  const checkpointed = new Set<string>();
  /** The databases whose last `verify` found the salt changed: whether right after a checkpoint. */
  const saltChanged = new Map<string, boolean>();
  return (line) => {
    const db = line.db;
    if (db === undefined) return undefined;
    if (line.msg === 'checkpoint') checkpointed.add(db);
    else if (line.msg === 'verify') {
      const afterCheckpoint = checkpointed.delete(db);
      if (line.fields['saltMatch'] === 'false') saltChanged.set(db, afterCheckpoint);
      else saltChanged.delete(db); // the last verify counts (one that failed before its sync is gone)
    } else if (line.msg === 'sync' && line.fields['txid'] !== undefined && saltChanged.has(db)) {
      const own = saltChanged.get(db) === true && line.fields['chkpt'] === 'true';
      saltChanged.delete(db);
      return own || line.fields['snap'] === 'true' ? undefined : db;
    }
    return undefined;
  };
}

function isEmptyFolder(folder: string): boolean {
  try {
    return fs.readdirSync(folder).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
