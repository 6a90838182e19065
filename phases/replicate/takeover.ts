// Proof that Litestream has taken over every database (litestream-facts Q3): `_litestream_seq` is in
// the database, `.<db>-litestream/generation` exists, and the first snapshot of that generation is in
// the replica (`generations/<gen>/snapshots/*.snapshot.lz4`, not `.tmp`; for non-file replicas the
// `snapshot written` log line for that db). The log line `initialized db` proves nothing: Litestream
// prints it for databases that do not even exist.

import fs from 'node:fs';
import path from 'node:path';
import type { Child } from '../../entrypoint/core/task.js';

export interface TakeoverTarget {
  readonly store: string;
  readonly dbPath: string;
  readonly metaPath: string;
  /** Directories of file replicas; empty when the replicas are remote. */
  readonly fileReplicas: readonly string[];
}

export interface TakeoverState {
  generation: string | undefined;
  hasSeqTable: boolean;
  snapshot: string | undefined;
  doneAtMs: number | undefined;
}

/** Lines that mean a database file was replaced under Litestream or its WAL is broken (facts rule 3). */
export const FAULT_LINE =
  /no such table: _litestream_seq|cannot verify wal state|wal (overwritten|truncated) by another process/;

export function describeMissing(state: TakeoverState): string {
  if (!state.generation) return 'no .<db>-litestream/generation yet';
  if (!state.hasSeqTable) return 'no _litestream_seq table yet';
  return 'no snapshot in the replica yet';
}

export async function pollTakeover(
  targets: readonly TakeoverTarget[],
  states: Map<string, TakeoverState>,
  snapshotLogged: ReadonlySet<string>,
): Promise<boolean> {
  for (const target of targets) {
    const state = states.get(target.store);
    if (!state || state.doneAtMs !== undefined) continue;
    if (!state.generation) {
      try {
        state.generation =
          fs.readFileSync(path.join(target.metaPath, 'generation'), 'utf8').trim() || undefined;
      } catch {
        continue;
      }
      if (!state.generation) continue;
    }
    if (!state.hasSeqTable) {
      state.hasSeqTable = await hasSeqTable(target.dbPath);
      if (!state.hasSeqTable) continue;
    }
    if (!state.snapshot) {
      state.snapshot =
        target.fileReplicas.length > 0
          ? findSnapshot(target.fileReplicas, state.generation)
          : snapshotLogged.has(target.dbPath)
            ? 'logged'
            : undefined;
      if (!state.snapshot) continue;
    }
    state.doneAtMs = Date.now();
  }
  return [...states.values()].every((s) => s.doneAtMs !== undefined);
}

function findSnapshot(replicaDirs: readonly string[], generation: string): string | undefined {
  for (const dir of replicaDirs) {
    const snapshots = path.join(dir, 'generations', generation, 'snapshots');
    try {
      const found = fs.readdirSync(snapshots).find((n) => n.endsWith('.snapshot.lz4'));
      if (found) return path.join(snapshots, found);
    } catch {
      // not written yet
    }
  }
  return undefined;
}

async function hasSeqTable(dbPath: string): Promise<boolean> {
  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(dbPath, { fileMustExist: true, readonly: true });
    return (
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq'").get() !==
      undefined
    );
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/** Collects `snapshot written db=…` lines for remote replicas. */
export function watchSnapshotLines(child: Child, into: Set<string>): () => void {
  return child.onLine((line) => {
    if (!line.includes('snapshot written')) return;
    const match = /\bdb="?([^"\s]+)"?/.exec(line);
    if (match?.[1]) into.add(match[1]);
  });
}
