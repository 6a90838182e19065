// The v0.3 driver: Litestream v0.3.x (tested with v0.3.13; docs/litestream.md Q1–Q12), whose files
// beside the database (`.<db>-litestream/generation`, the shadow WAL under `generations/`) and log
// lines (`snapshot written`, `wal segment written … position=G/I:OFF sz=N`) bootseq reads. What it
// writes: only bootseq's copy of litestream.yml, the `_litestream_seq` bump (a row Litestream's own
// table already has), and the removal of the `generation` file while no Litestream runs (Q12).
// A clean restart continues the generation: keeper.ts keeps the WAL the last Litestream left.

import fs from 'node:fs';
import path from 'node:path';
import { litestreamConfigFile } from './config-file.js';
import { restoreArgs, tidyRestored } from './restore-args.js';
import { isAtOrPast, isRoutine, parseLine, type LitestreamLine } from './lines.js';
import { keepLineage, prepareTakeover } from './keeper.js';
import type { LitestreamDriver, Shipped } from './types.js';
import { readGeneration, readShadow } from './v3-files.js';
import { listReplica } from './v3-restorable.js';

export const v3Driver: LitestreamDriver = {
  series: '0.3',

  configFile: litestreamConfigFile,
  backupFolders: ['generations'],
  foreignBackups: { folders: ['ltx', '0000', '0009'], what: 'Litestream v0.5 backups (LTX files)' },
  environment: () => ({}),
  reportsUnreachable: true,
  replicateArgs: (configPath) => ['replicate', '-config', configPath],
  restoreArgs,
  // No generation in a file replica: `litestream restore` would answer "no matching backups found"
  // (docs/litestream.md Q2). An unreadable folder or a remote replica is litestream's to judge.
  hasNoBackups: (replica) => {
    if (replica.type !== 'file' || !replica.path) return false;
    try {
      return fs.readdirSync(path.join(replica.path, 'generations')).length === 0;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT';
    }
  },
  tidyRestored,

  parseLine,
  isRoutine,
  shipped,
  replicaAt: shipped,
  watchWalStartOver: () => () => undefined,
  copyingWhole: (line) => {
    if (line.msg === 'write snapshot') return true;
    if (line.msg === 'snapshot written' || line.level === 'ERROR') return false;
    return undefined;
  },
  isAtOrPast,
  describeLineage: (generation) => `generation ${generation}`,
  lineage: readGeneration,
  localPosition: readShadow,
  checkCommand: (configPath, db) => `litestream snapshots -config ${configPath} ${db}`,
  checkRestorable: listReplica,

  renewLineage: (metaPath) => {
    const file = path.join(metaPath, 'generation');
    fs.rmSync(file, { force: true });
    return file;
  },
  keepLineage,
  prepareTakeover,
};

/**
 * How far a line says a replica now holds: a snapshot the whole database up to its position, a WAL
 * segment `sz` bytes from its own; undefined for any other line.
 */
function shipped(line: LitestreamLine): Shipped | undefined {
  if (!line.db || !line.replica || !line.position) return undefined;
  if (line.msg === 'wal segment written')
    return {
      db: line.db,
      replica: line.replica,
      upTo: { ...line.position, offset: line.position.offset + (line.size ?? 0) },
      whole: false,
    };
  if (line.msg === 'snapshot written')
    return { db: line.db, replica: line.replica, upTo: line.position, whole: true };
  return undefined;
}
