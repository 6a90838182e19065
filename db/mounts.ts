// Why a folder cannot be written, in the operator's terms: a full file system (free space), a
// read-only mount (which one: the mount point from /proc/self/mountinfo), or permissions (which
// user). The error's own code decides when it says (EROFS, ENOSPC, EACCES); SQLite's codes often do
// not (SQLITE_CANTOPEN is any of them), so the folder itself is looked at then. Reads only.

import fs from 'node:fs';
import path from 'node:path';

export interface Mount {
  /** Where it is mounted (`/`, `/data`). */
  readonly point: string;
  readonly readOnly: boolean;
  readonly fsType: string;
}

export type WriteFailure = 'read-only' | 'full' | 'permission' | 'other';

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The mounts of this process's mount namespace, from /proc/self/mountinfo (empty without /proc). */
export function readMounts(text?: string): Mount[] {
  let info = text;
  try {
    info ??= fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return info.split('\n').flatMap((line) => {
    // id parent major:minor root point options [optional…] - type source super-options
    const [left, right] = line.split(' - ');
    const fields = left?.split(' ') ?? [];
    const [fsType, , superOptions] = right?.split(' ') ?? [];
    if (fields.length < 6 || !fsType) return [];
    const options = `${fields[5]},${superOptions ?? ''}`.split(',');
    return [{ point: unescape(fields[4]!), readOnly: options.includes('ro'), fsType }];
  });
}

/**
 * `target` resolved through symlinks as far as it exists; the part that does not exist yet is kept as
 * written (it cannot cross a mount point: mount points exist).
 */
function resolveExisting(target: string): string {
  let at = path.resolve(target);
  let rest = '';
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), rest);
    } catch {
      const up = path.dirname(at);
      if (up === at) return path.join(at, rest);
      rest = path.join(path.basename(at), rest);
      at = up;
    }
  }
}

/** The nearest folder of `target` (itself included) that exists. */
function nearestExisting(target: string): string {
  let at = path.resolve(target);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}

/** The mount holding `target` (or its nearest existing folder): the longest mount point over it. */
export function mountOf(target: string, mounts: readonly Mount[] = readMounts()): Mount | undefined {
  const real = resolveExisting(target);
  // The last mount of a point wins: a later mount hides an earlier one on the same folder.
  let best: Mount | undefined;
  for (const m of mounts) {
    const over = m.point === '/' || real === m.point || real.startsWith(`${m.point}/`);
    if (over && (!best || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

const BY_CODE: Readonly<Record<string, WriteFailure>> = {
  EROFS: 'read-only',
  ENOSPC: 'full',
  EDQUOT: 'full',
  SQLITE_FULL: 'full',
  EACCES: 'permission',
  EPERM: 'permission',
  SQLITE_PERM: 'permission',
};

/** Why writing in `folder` failed with `error`: its code when decisive, else what the folder shows. */
export function whyUnwritable(
  folder: string,
  error: unknown,
  mounts: readonly Mount[] = readMounts(),
): WriteFailure {
  const code = (error as { code?: unknown } | undefined)?.code;
  const byCode = typeof code === 'string' ? BY_CODE[code] : undefined;
  if (byCode) return byCode;
  const at = nearestExisting(folder);
  if (mountOf(at, mounts)?.readOnly) return 'read-only';
  try {
    const stats = fs.statfsSync(at);
    if (stats.bavail === 0 || (stats.files > 0 && stats.ffree === 0)) return 'full';
  } catch {
    // no statfs here: go on
  }
  try {
    fs.accessSync(at, fs.constants.W_OK);
  } catch {
    return 'permission';
  }
  return 'other';
}

/** `/data (a read-only ext4 mount)`: a mount as the operator knows it. */
export function describeMount(target: string): string {
  const m = mountOf(target);
  return m ? `${m.point} (${m.fsType})` : 'its mount';
}

/**
 * What to do when `folder` cannot be written, by cause; `what` is who needs it written (`bootseq`,
 * `Litestream`). One sentence, no trailing period.
 */
export function adviseUnwritable(folder: string, cause: WriteFailure, what: string): string {
  switch (cause) {
    case 'read-only':
      return `${folder} is on a read-only mount, ${describeMount(folder)}: ${what} must write there; mount it read-write`;
    case 'full':
      return `the file system holding ${folder} is full (mounted at ${describeMount(folder)}): free space on it or give it more; waiting or retrying will not help`;
    case 'permission':
      return `bootseq runs as uid ${process.getuid?.() ?? '?'}, which may not write in ${folder} (${what} must): give that user write access to it (chown or chmod), or run bootseq as its owner`;
    case 'other':
      return `${what} must be able to create and lock files in ${folder}`;
  }
}
