import { readdirSync, readFileSync } from 'node:fs';

// The registry of process groups bootseq started that may still have members. Kept apart from
// spawn.ts (which loads execa) so cli.ts can kill leftovers on exit without loading anything heavy.

const liveGroups = new Set<number>();

export function addGroup(pgid: number): void {
  liveGroups.add(pgid);
}

export function removeGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

/** Sends `signal` to the group; false when the group has no members left (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the group has a member that is not a zombie. kill(-pgid, 0) alone also succeeds for exited
 * members that their new parent (PID 1) has not reaped yet, so on Linux /proc decides.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/** SIGKILLs every group that may still have members: no process bootseq started outlives it. */
export function killAllGroups(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}
