// Which processes have a database file open (Linux /proc): a rollback refuses while any does, and
// the replication lease treats a Litestream nobody leases as a holder. Reads /proc only; where /proc
// cannot tell (another OS, another PID namespace), nothing is found.

import fs from 'node:fs';
import path from 'node:path';

/** PIDs of processes other than this one that hold any of `files` open; `name` keeps only that command. */
export function processesWithOpen(files: readonly string[], name?: string): number[] {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return found;
  }
  for (const pid of entries) {
    if (Number(pid) === process.pid) continue;
    try {
      if (name !== undefined && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== name) continue;
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        if (wanted.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          found.push(Number(pid));
          break;
        }
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
