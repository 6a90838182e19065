// The boot lease is the first thing that writes beside the databases, so a storage volume that cannot
// be written fails there: the hint must name the real cause (a full file system, a read-only mount and
// which one), never suggest moving the lease elsewhere (it lives beside the database, always).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { mountTmpfs, whyNoMount } from '../helpers/mount.js';
import type { TmpProject } from '../helpers/project.js';

function mountStorage(project: TmpProject, skip: (why: string) => void, options = '') {
  const why = whyNoMount();
  if (why) skip(why);
  const storage = mountTmpfs(project.path('.demo/storage'), 1024, options);
  project.onDestroy(() => storage.unmount());
  return storage;
}

describe('a storage volume that cannot be written', () => {
  test('full (no free inodes): the lease fails saying the file system is full, naming its mount', async ({
    project,
    skip,
  }) => {
    const storage = mountStorage(project, skip, 'nr_inodes=8');
    for (let i = 0; ; i += 1) {
      try {
        fs.writeFileSync(path.join(storage.dir, `filler-${i}`), '');
      } catch {
        break; // ENOSPC: no inode left
      }
    }
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toMatch(/cannot take the boot lease of \w+: .*no space left on device/i);
    expect(result.stderr).toContain(
      `Try: the file system holding ${storage.dir} is full (mounted at ${storage.dir} (tmpfs)): free space on it`,
    );
    expect(result.stderr).not.toMatch(/permissions|lease\.dir/);
  });

  test('read-only: the lease fails naming the read-only mount', async ({ project, skip }) => {
    const storage = mountStorage(project, skip);
    storage.readOnly();
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toContain(
      `Try: ${storage.dir} is on a read-only mount, ${storage.dir} (tmpfs): bootseq, Litestream and the app must write there; mount it read-write`,
    );
    expect(result.stderr).not.toMatch(/permissions|lease\.dir/);
  });

  test('not writable by the user bootseq runs as: the lease fails naming the uid and the folder', async ({
    project,
  }) => {
    // bootseq runs as nobody: it may work in the project, but the storage folder is root's.
    fs.chmodSync(project.dir, 0o755);
    execFileSync('chown', ['-R', 'nobody', project.dir]);
    const storage = project.path('.demo/storage');
    fs.mkdirSync(storage, { recursive: true, mode: 0o755 });
    execFileSync('chown', ['root', storage]);
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const result = await project.start(['up', '--log-format', 'plain'], {}, ['runuser', '-u', 'nobody', '--'])
      .done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toMatch(/cannot take the boot lease of \w+: .*permission denied/i);
    expect(result.stderr).toContain(
      `Try: bootseq runs as uid ${uid}, which may not write in ${storage} (bootseq, Litestream and the app must): give that user write access to it (chown or chmod), or run bootseq as its owner`,
    );
    expect(result.stderr).not.toContain('lease.dir');
  });
});
