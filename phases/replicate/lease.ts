// The replication lease of every sqlite store (db/lease.ts): this bootseq runs Litestream only while
// it holds all of them, so two bootseqs on one volume (a rolling deploy: the old container still
// serving, the new one booting) never replicate one database at once. Taken all or nothing, always
// in the same order. A Litestream that is not under any bootseq's lease but has a database open (an
// orphan of a killed bootseq on this host, one started by hand) counts as a holder too.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeHolder,
  describeProcess,
  leaseFile,
  me,
  releaseLease,
  tryLease,
  processesWithOpen,
  whoHolds,
  type LeaseFile,
} from '../../db/index.js';

const POLL_MS = 100;

export interface ReplicationLease {
  readonly files: readonly LeaseFile[];
  readonly dbPaths: readonly string[];
}

export function replicationLease(dbPaths: readonly string[]): ReplicationLease {
  const sorted = [...dbPaths].sort();
  return { files: sorted.map((p) => leaseFile(p, 'replicate')), dbPaths: sorted };
}

/** Hands on the boot leases (db/lease.ts) once this bootseq's files are final. */
export function releaseBootLeases(dbPaths: readonly string[]): void {
  for (const p of dbPaths) releaseLease(leaseFile(p, 'boot'));
}

export function releaseReplication(lease: ReplicationLease): void {
  for (const file of lease.files) releaseLease(file);
}

/**
 * Takes every replication lease, or none: undefined once they are all this process's, otherwise who
 * holds one (as its holder described itself) or which stray Litestream has a database open.
 */
export async function tryReplication(
  lease: ReplicationLease,
  own: readonly number[],
): Promise<string | undefined> {
  const taken: LeaseFile[] = [];
  for (const file of lease.files) {
    if (await tryLease(file, me())) {
      taken.push(file);
      continue;
    }
    for (const t of taken) releaseLease(t);
    return describeHolder(await whoHolds(file));
  }
  const stray = processesWithOpen(lease.dbPaths, 'litestream').filter((pid) => !own.includes(pid));
  if (stray.length === 0) return undefined;
  for (const t of taken) releaseLease(t);
  return stray.map(describeProcess).join('; ');
}

/** Waits until every replication lease is this process's; rejects when `signal` aborts. */
export async function waitForReplication(
  lease: ReplicationLease,
  own: () => readonly number[],
  signal: AbortSignal,
  onWait: (holder: string) => void,
): Promise<void> {
  for (;;) {
    const holder = await tryReplication(lease, own());
    if (holder === undefined) return;
    onWait(holder);
    await sleep(POLL_MS, undefined, { signal });
  }
}
