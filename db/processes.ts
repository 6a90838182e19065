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

/**
 * Who runs a process, in words for a message: `litestream pid 41 under bootseq pid 40` when its
 * parent is a bootseq (one that took no lease on the file: a version older than this one), or
 * `litestream pid 41, which no bootseq runs` (its bootseq was killed and it was adopted, or somebody
 * started it by hand). Reads /proc only.
 */
export function describeProcess(pid: number): string {
  const name = readProc(`/proc/${pid}/comm`)?.trim() ?? 'process';
  // The fields after the command's closing parenthesis: state, then the parent's pid.
  const stat = readProc(`/proc/${pid}/stat`);
  const ppid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  const parent = Number.isInteger(ppid) && ppid > 0 ? readProc(`/proc/${ppid}/cmdline`) : undefined;
  const args = parent?.split('\0') ?? [];
  if (args.some((a) => /(^|\/)bootseq$|(^|\/)dist\/entrypoint\/cli\.js$/.test(a)))
    return `${name} pid ${pid} under bootseq pid ${ppid}, which takes no lease on the file (a bootseq older than this one)`;
  return `${name} pid ${pid}, which no bootseq runs (its bootseq was killed and left it behind, or it was started by hand)`;
}

function readProc(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
