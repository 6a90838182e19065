// Leases: which bootseq, of those sharing a volume, may restore and migrate a sqlite store (`boot`)
// and which runs Litestream on it (`replicate`). Two containers on one host share one kernel, so a
// lock the kernel holds works between them and is released when its holder dies (SIGKILL, OOM):
// never a stale lock a person must delete. The lock is SQLite's own: a connection to a small lock
// database that keeps a `BEGIN IMMEDIATE` open holds its RESERVED lock (a POSIX fcntl lock) until
// it ends the transaction, closes, or dies; anyone else's `BEGIN IMMEDIATE` gets SQLITE_BUSY at once.
// better-sqlite3 is already bootseq's, so no lock is written by hand. Who holds a lease (pid, host,
// since) is written beside it for the others' messages: informative only, the lock decides.
// The lock file lives beside the database's real path (config/ resolves every path through symlinks),
// and nowhere else: a lease that could live in a folder of the config's choosing let two bootseqs
// whose configs differ only in that folder run two Litestreams on one file (issue 24). Two containers
// that mount one volume at different paths still meet: the folder is the database's own.
// POSIX locks do not work across hosts (NFS and the like): two hosts need Litestream v0.5's leases.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteFile, type SqliteFile } from './sqlite-file.js';

export type LeaseKind = 'boot' | 'replicate';

export interface LeaseFile {
  readonly lock: string;
  readonly info: string;
}

/** Who holds a lease, as its holder wrote it. */
export interface Holder {
  readonly pid: number;
  readonly host: string;
  /** ISO-8601 UTC. */
  readonly since: string;
}

/** The locks this process holds, by lock file: POSIX locks belong to the process, and so does this map. */
const held = new Map<string, SqliteFile>();

/** `.<db>-bootseq/<kind>.lock` beside the database (`dbPath` resolved through symlinks). */
export function leaseFile(dbPath: string, kind: LeaseKind): LeaseFile {
  const folder = path.join(path.dirname(dbPath), `.${path.basename(dbPath)}-bootseq`);
  return { lock: path.join(folder, `${kind}.lock`), info: path.join(folder, `${kind}.json`) };
}

export function me(): Holder {
  return { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
}

/**
 * Takes the lease if nobody holds it: true (and `holder` written beside it), or false at once when
 * another process holds it. True again when this process holds it already.
 */
export async function tryLease(file: LeaseFile, holder: Holder): Promise<boolean> {
  if (held.has(file.lock)) return true;
  fs.mkdirSync(path.dirname(file.lock), { recursive: true });
  // A lease held by another is refused at once (SQLITE_BUSY), not waited for: phases/lease/ polls.
  const db = await openSqliteFile(file.lock, { create: true, failIfBusy: true });
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  }
  held.set(file.lock, db);
  // Who holds it is for the others' messages only: a full disk must not stop a boot here.
  const temp = `${file.info}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temp, `${JSON.stringify(holder)}\n`);
    fs.renameSync(temp, file.info);
  } catch {
    fs.rmSync(temp, { force: true });
  }
  return true;
}

/** Ends this process's hold on the lease (no-op when it holds none); the next waiter takes it. */
export function releaseLease(file: LeaseFile): void {
  const db = held.get(file.lock);
  if (!db) return;
  held.delete(file.lock);
  try {
    db.exec('ROLLBACK');
  } finally {
    db.close();
  }
}

export function holdsLease(file: LeaseFile): boolean {
  return held.has(file.lock);
}

/** Who its last holder said it was; only meaningful while somebody holds the lease. */
export function readHolder(file: LeaseFile): Holder | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file.info, 'utf8')) as Partial<Holder>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.since !== 'string')
      return undefined;
    return { pid: value.pid, host: value.host, since: value.since };
  } catch {
    return undefined;
  }
}

/**
 * Who holds a lease this process was just refused: its holder writes who it is right after it takes
 * the lock, so a refusal can come a moment before that; give it up to 50 ms to say.
 */
export async function whoHolds(file: LeaseFile): Promise<Holder | undefined> {
  for (let i = 0; ; i += 1) {
    const holder = readHolder(file);
    if (holder && holder.pid !== process.pid) return holder;
    if (i >= 5) return holder;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `pid 812 on web-7f3c (since 10:02:11)`, or `another bootseq` when it did not say. */
export function describeHolder(holder: Holder | undefined): string {
  if (!holder) return 'another bootseq';
  return `pid ${holder.pid} on ${holder.host} (since ${holder.since.slice(11, 19)} UTC)`;
}
