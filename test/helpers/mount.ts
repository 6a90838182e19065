// Small tmpfs mounts for fault injection: a replica that fills up, databases on a read-only file
// system. Root can mount one; where mounting is impossible the tests that need it say so and skip.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Mount {
  readonly dir: string;
  /** Fills what is left of the file system with one file. */
  fill(): void;
  readOnly(): void;
  unmount(): void;
}

function run(command: string, args: string[]): { ok: boolean; error: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: result.status === 0, error: `${result.stderr ?? ''}${result.error?.message ?? ''}`.trim() };
}

/** Why a tmpfs cannot be mounted here, or undefined when it can. */
export function whyNoMount(): string | undefined {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-mount-probe-'));
  try {
    const mounted = run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
    if (!mounted.ok)
      return `cannot mount a tmpfs here (${mounted.error || 'mount failed'}); run the tests as root`;
    run('umount', [probe]);
    return undefined;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

/** `options`: more tmpfs options (`nr_inodes=8`). */
export function mountTmpfs(dir: string, sizeKb: number, options = ''): Mount {
  fs.mkdirSync(dir, { recursive: true });
  const mounted = run('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=${sizeKb}k${options ? `,${options}` : ''}`,
    'tmpfs',
    dir,
  ]);
  if (!mounted.ok) throw new Error(`mount tmpfs on ${dir}: ${mounted.error}`);
  let isMounted = true;
  return {
    dir,
    fill() {
      // dd stops with "No space left on device" once it is full: that is the point.
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
    },
    readOnly() {
      // "mount point is busy" while a process killed a moment ago still has a file there open for
      // writing (its files are released as it exits, a little after it is gone from the scan that
      // waited for it): retried for up to 5 s, any other error at once.
      const deadline = Date.now() + 5000;
      for (;;) {
        const result = run('mount', ['-o', 'remount,ro', dir]);
        if (result.ok) return;
        if (!/busy/.test(result.error) || Date.now() > deadline)
          throw new Error(`remount ${dir} read-only: ${result.error}`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    },
    unmount() {
      if (!isMounted) return;
      isMounted = false;
      run('umount', ['-l', dir]);
    },
  };
}
