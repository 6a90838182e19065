// Proof that Litestream has taken over every database (docs/litestream.md Q3): `_litestream_seq` is in
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
  /** When this Litestream process was first seen holding the database file open (its init ran). */
  openedAtMs: number | undefined;
  generation: string | undefined;
  hasSeqTable: boolean;
  snapshot: string | undefined;
  doneAtMs: number | undefined;
}

export function createTakeoverState(): TakeoverState {
  return {
    openedAtMs: undefined,
    generation: undefined,
    hasSeqTable: false,
    snapshot: undefined,
    doneAtMs: undefined,
  };
}

/** What this Litestream process logged about each database (by absolute path). */
export interface TakeoverLog {
  /** `sync: new generation … generation=G`: the generation this process created. */
  readonly newGeneration: Map<string, string>;
  /** `snapshot written … position=G/…`: generations this process snapshotted. */
  readonly snapshotWritten: Map<string, Set<string>>;
}

/**
 * Lines that mean a database file was replaced under Litestream or its WAL is broken
 * (docs/litestream.md rule 3).
 */
export const FAULT_LINE =
  /no such table: _litestream_seq|cannot verify wal state|wal (overwritten|truncated) by another process/;

/**
 * With no new generation logged, a generation that continues from an earlier run is trusted only
 * after this long with the file open: longer than Litestream's 1 s monitor tick, so its first sync ran.
 */
const CONTINUED_GENERATION_MS = 1500;

export function describeMissing(state: TakeoverState): string {
  if (state.openedAtMs === undefined) return 'litestream has not opened the file yet';
  if (!state.generation) return 'no generation yet';
  if (!state.hasSeqTable) return 'no _litestream_seq table yet';
  return `no snapshot of generation ${state.generation} in the replica yet`;
}

/**
 * Marks each database taken over once this process (pid) has opened it, its current generation is
 * known from this process's own log (or, for a generation continued from an earlier run, after one
 * full monitor tick), `_litestream_seq` exists and that generation's first snapshot is in the
 * replica. Files left by an earlier run (the generation file, old snapshots, `_litestream_seq` in a
 * restored copy) prove nothing on their own.
 */
export async function pollTakeover(
  pid: number,
  targets: readonly TakeoverTarget[],
  states: Map<string, TakeoverState>,
  log: TakeoverLog,
): Promise<boolean> {
  const now = Date.now();
  for (const target of targets) {
    const state = states.get(target.store);
    if (!state || state.doneAtMs !== undefined) continue;
    if (state.openedAtMs === undefined) {
      if (!hasOpened(pid, target.dbPath)) continue;
      state.openedAtMs = now;
    }
    const logged = log.newGeneration.get(target.dbPath);
    if (logged) state.generation = logged;
    else if (now - state.openedAtMs >= CONTINUED_GENERATION_MS)
      state.generation = readGeneration(target.metaPath);
    else continue;
    if (!state.generation) continue;
    if (!state.hasSeqTable) {
      state.hasSeqTable = await hasSeqTable(target.dbPath);
      if (!state.hasSeqTable) continue;
    }
    state.snapshot =
      target.fileReplicas.length > 0
        ? findSnapshot(target.fileReplicas, state.generation)
        : log.snapshotWritten.get(target.dbPath)?.has(state.generation)
          ? 'logged'
          : undefined;
    if (!state.snapshot) continue;
    state.doneAtMs = now;
  }
  return [...states.values()].every((s) => s.doneAtMs !== undefined);
}

function readGeneration(metaPath: string): string | undefined {
  try {
    return fs.readFileSync(path.join(metaPath, 'generation'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
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

/** Collects what a Litestream process logs about generations and snapshots. */
export function watchTakeoverLines(child: Child, log: TakeoverLog): () => void {
  return child.onLine((line) => {
    const db = /\bdb="?([^"\s]+)"?/.exec(line)?.[1];
    if (!db) return;
    if (line.includes('msg="sync: new generation"')) {
      const generation = /\bgeneration=([0-9a-f]+)/.exec(line)?.[1];
      if (generation) log.newGeneration.set(db, generation);
    } else if (line.includes('msg="snapshot written"')) {
      const generation = /\bposition=([0-9a-f]+)\//.exec(line)?.[1];
      if (!generation) return;
      const set = log.snapshotWritten.get(db) ?? new Set<string>();
      set.add(generation);
      log.snapshotWritten.set(db, set);
    }
  });
}

/** Whether process `pid` has `file` open (Linux /proc); true where /proc cannot tell. */
function hasOpened(pid: number, file: string): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return !fs.existsSync('/proc/self/fd');
  }
  for (const fd of fds) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}
