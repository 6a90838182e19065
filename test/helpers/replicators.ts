// Watching Litestream processes from the outside, as an auditor would: every 50 ms, which litestream
// process has which database of a project open (/proc/*/fd). Two of them with one database at the
// same sample is the failure a replication lease exists to prevent.

import fs from 'node:fs';

/** pid → database files (under `dir`) it has open, for every process named litestream. */
export function litestreamsWithOpen(dir: string): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'litestream') continue;
      const files = new Set<string>();
      for (const fd of fs.readdirSync(`/proc/${entry}/fd`)) {
        const target = fs.readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith(dir) && /\.sqlite3$/.test(target)) files.add(target);
      }
      if (files.size > 0) found.set(Number(entry), [...files]);
    } catch {
      // gone
    }
  }
  return found;
}

export interface Overlap {
  readonly atMs: number;
  readonly file: string;
  readonly pids: readonly number[];
}

/** Samples every `everyMs` until stopped; `stop()` returns every moment two litestreams shared a file. */
export function watchForTwoReplicators(
  dir: string,
  everyMs = 50,
): { stop(): { samples: number; overlaps: Overlap[] } } {
  const overlaps: Overlap[] = [];
  let samples = 0;
  const timer = setInterval(() => {
    samples += 1;
    const byFile = new Map<string, number[]>();
    for (const [pid, files] of litestreamsWithOpen(dir))
      for (const file of files) byFile.set(file, [...(byFile.get(file) ?? []), pid]);
    for (const [file, pids] of byFile) if (pids.length > 1) overlaps.push({ atMs: Date.now(), file, pids });
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { samples, overlaps };
    },
  };
}

/** Every descendant of `pid` (children, their children…), from /proc's parent links. */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents)
      if (parent === p) {
        found.push(child);
        walk(child);
      }
  };
  walk(pid);
  return found;
}
