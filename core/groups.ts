import { readdirSync, readFileSync } from 'node:fs';

// The registry of process groups bootseq started that may still have members. Kept apart from
// spawn.ts (which loads execa) so cli.ts can kill leftovers on exit without loading anything heavy.
// spawn.ts hands the registry to the watchdog (watchdog.ts), which kills them if bootseq dies first.

const liveGroups = new Set<number>();

/** Who else learns of every group (core/watchdog.ts, which kills them should bootseq die). */
export interface GroupWatcher {
  add(pgid: number): void;
  remove(pgid: number): void;
}
let watcher: GroupWatcher | undefined;

/** Tells `w` of every live group now and of every change from now on. */
export function watchGroups(w: GroupWatcher): void {
  watcher = w;
  for (const pgid of liveGroups) w.add(pgid);
}

export function addGroup(pgid: number): void {
  liveGroups.add(pgid);
  watcher?.add(pgid);
}

export function removeGroup(pgid: number): void {
  if (liveGroups.delete(pgid)) watcher?.remove(pgid);
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

/** The state letter (`R`, `S`, `T`, `Z`…) of each member of the group, from /proc; undefined without /proc. */
function memberStates(pgid: number): string[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const states: string[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) states.push(fields[0] ?? '');
    } catch {
      // the process ended while we looked
    }
  }
  return states;
}

/**
 * Whether the group has a member that is not a zombie. kill(-pgid, 0) alone also succeeds for exited
 * members that their new parent (PID 1) has not reaped yet, so on Linux /proc decides.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  return memberStates(pgid)?.some((state) => state !== 'Z') ?? true;
}

/**
 * Whether a member of the group is stopped by a signal (SIGSTOP, SIGTSTP: state T). Such a process
 * acts on no signal but SIGKILL until it gets SIGCONT; a handled SIGTERM just waits.
 */
export function isGroupStopped(pgid: number): boolean {
  return memberStates(pgid)?.includes('T') ?? false;
}

/** SIGKILLs every group that may still have members: no process bootseq started outlives it. */
export function killAllGroups(): void {
  for (const pgid of liveGroups) {
    signalGroup(pgid, 'SIGKILL');
    watcher?.remove(pgid);
  }
  liveGroups.clear();
}
