// Files named by the UTC time they were written (`2026-11-23T10-00-00.123Z.json`): run reports,
// backups, the `before-restore-<stamp>` copies. Owns the name, the listing, the newest and the pruning,
// so every folder of them sorts, keeps and forgets alike. Touches nothing but files whose name is such
// a stamp with the extension asked for: an operator's own file in the folder is never listed or
// deleted. Never reads a file's contents. Synchronous: a folder holds about `keep` names and a run
// reads it once or twice, so blocking for one readdir is not worth an async API.

import fs from 'node:fs';
import path from 'node:path';

/**
 * `2026-11-23T10-00-00.123Z`: ISO 8601 in UTC, milliseconds included, with `:` turned into `-` (a
 * colon is not allowed in Windows file names and reads as a host in `scp`/`rsync` arguments). Fixed
 * width, so sorting the names as strings sorts them by time.
 */
export function stampAt(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

/** `<stamp>.<ext>`, e.g. `stampedName('json', startedAtMs)`; the extension without its dot. */
export function stampedName(ext: string, ms: number = Date.now()): string {
  return `${stampAt(ms)}.${ext}`;
}

/** Names (not paths) of the stamped `.ext` files in `dir`, oldest first; none when `dir` does not exist. */
export function listStamped(dir: string, ext: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const stamped = new RegExp(`^\\d{4}-.*Z\\.${ext.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return names.filter((n) => stamped.test(n)).sort();
}

/** Path of the newest stamped `.ext` file in `dir`, or undefined when there is none. */
export function newestStamped(dir: string, ext: string): string | undefined {
  const newest = listStamped(dir, ext).at(-1);
  return newest === undefined ? undefined : path.join(dir, newest);
}

/** Deletes all but the newest `keep` stamped `.ext` files in `dir`; returns the paths it deleted. */
export function pruneStamped(dir: string, ext: string, keep: number): string[] {
  const names = listStamped(dir, ext);
  const removed = names.slice(0, Math.max(0, names.length - keep)).map((n) => path.join(dir, n));
  for (const file of removed) fs.rmSync(file, { force: true });
  return removed;
}
