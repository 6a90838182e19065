// What the resolvers (replication.ts, stores.ts, processes.ts) share while load.ts turns bootseq.yml
// into a Config: where relative paths resolve, the environment, the disk, and the list every problem
// goes to. Never throws for bad input: each problem becomes a ConfigIssue, all reported together.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ConfigIssue } from '../core/errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The disk as config loading sees it; unit tests pass a fake. */
export interface ConfigFs {
  readFile(file: string): string | undefined;
  /**
   * At most the first `maxBytes` of a regular file (a secret, a dump's signature), within
   * READ_HEAD_MS; undefined for anything else. A FIFO, a device or a socket is never waited on.
   */
  readHead?(file: string, maxBytes: number): string | undefined;
  /** What `file` is, in words ('a regular file', 'a FIFO (named pipe)', …); undefined when missing. */
  kindOf?(file: string): string | undefined;
  exists(file: string): boolean;
  isDirectory(file: string): boolean;
  isExecutable(file: string): boolean;
  /**
   * The path with every symlink resolved, for a file that may not exist yet (a database before its
   * first restore): what exists is resolved, the rest appended. Optional for fakes (identity).
   */
  realpath?(file: string): string;
  /** What `PROGRAM version` prints (trimmed), or undefined when it cannot be run; optional for fakes. */
  versionOf?(program: string): string | undefined;
}

/** The first `maxBytes` of a file through `disk`, whether or not it can read heads. */
export function readHead(disk: ConfigFs, file: string, maxBytes: number): string | undefined {
  return disk.readHead ? disk.readHead(file, maxBytes) : disk.readFile(file)?.slice(0, maxBytes);
}

export const realFs: ConfigFs = {
  readFile: (file) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  readHead: (file, maxBytes) => {
    let fd: number | undefined;
    try {
      // Non-blocking: opening a FIFO with no writer would otherwise wait for one, forever. Then the
      // open file itself is checked (fstat), so a path swapped for a FIFO after kindOf is no hole.
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      if (!fs.fstatSync(fd).isFile()) return undefined;
      const buffer = Buffer.alloc(maxBytes);
      const deadline = Date.now() + READ_HEAD_MS;
      let read = 0;
      for (let n = 1; n > 0 && read < maxBytes; read += n) {
        if (Date.now() > deadline) return undefined;
        n = fs.readSync(fd, buffer, read, maxBytes - read, null);
      }
      return buffer.subarray(0, read).toString('utf8');
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  },
  kindOf: (file) => {
    try {
      return kindOfStats(fs.statSync(file));
    } catch {
      return undefined;
    }
  },
  exists: (file) => fs.existsSync(file),
  isDirectory: (file) => {
    try {
      return fs.statSync(file).isDirectory();
    } catch {
      return false;
    }
  },
  isExecutable: (file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  },
  realpath: (file) => realpathLoose(file, 0),
  versionOf: (program) => {
    try {
      return execFileSync(program, ['version'], { encoding: 'utf8', timeout: 5000, stdio: 'pipe' }).trim();
    } catch {
      return undefined;
    }
  },
};

/** A regular file is read for at most this long (a slow network mount): a secret is a few bytes. */
const READ_HEAD_MS = 1000;

/** What a stat says a path is, in the words messages use. */
function kindOfStats(stats: fs.Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * fs.realpathSync for a path whose end may not exist yet: a dangling symlink is followed to what it
 * names, a missing name is kept under its resolved folder. 40 links deep at most, as the kernel.
 */
function realpathLoose(file: string, depth: number): string {
  try {
    return fs.realpathSync(file);
  } catch {
    // missing, or a dangling link: resolved below
  }
  if (depth < 40) {
    try {
      if (fs.lstatSync(file).isSymbolicLink())
        return realpathLoose(path.resolve(path.dirname(file), fs.readlinkSync(file)), depth + 1);
    } catch {
      // missing: keep the name
    }
  }
  const parent = path.dirname(file);
  if (parent === file) return file;
  return path.join(realpathLoose(parent, depth + 1), path.basename(file));
}

/** Where a command's program is looked up: relative to `dir`, or on the environment's PATH. */
export interface Lookup {
  /** Where relative paths resolve (the config file's directory). */
  readonly dir: string;
  readonly env: Env;
  readonly disk: ConfigFs;
}

export interface ResolveContext extends Lookup {
  /** The name shown in messages, e.g. `bootseq.yml`. */
  readonly file: string;
  /** Every problem found so far, in the order found (the order the user reads them in). */
  readonly issues: ConfigIssue[];
  readonly warnings: string[];
  /** Replaces every secret in `text` with *** (and URL passwords). */
  readonly redact: (text: string) => string;
  /** Adds a problem at a key path of bootseq.yml. */
  issue(path: string, message: string): void;
}

export function createResolveContext(
  lookup: Lookup & { readonly file: string; readonly redact: (text: string) => string },
  issues: ConfigIssue[],
  warnings: string[],
): ResolveContext {
  return {
    ...lookup,
    issues,
    warnings,
    issue: (path, message) => issues.push({ file: lookup.file, path, message }),
  };
}
