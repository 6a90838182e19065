// Why a folder cannot be written: the mount holding a path (from mountinfo text), the cause from an
// error's code or, when the code says nothing (SQLite's, ENOENT from a recursive mkdir), from the folder.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { adviseUnwritable, mountOf, readMounts, whyUnwritable } from '../../../db/mounts.js';

const MOUNTINFO = [
  '22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l',
  '30 22 0:30 / /data rw,nosuid - ext4 /dev/sdb rw',
  '31 30 0:31 / /data/replica ro,relatime - tmpfs tmpfs rw,size=1024k',
  '32 22 0:32 / /mnt/with\\040space rw - tmpfs tmpfs ro',
].join('\n');

describe('readMounts / mountOf', () => {
  const mounts = readMounts(MOUNTINFO);
  test('mount points, read-only from the mount or the super block options, escapes undone', () => {
    expect(mounts).toEqual([
      { point: '/', readOnly: false, fsType: 'overlay' },
      { point: '/data', readOnly: false, fsType: 'ext4' },
      { point: '/data/replica', readOnly: true, fsType: 'tmpfs' },
      { point: '/mnt/with space', readOnly: true, fsType: 'tmpfs' },
    ]);
  });
  test.each([
    ['/data/replica/primary/generations', '/data/replica'],
    ['/data/app.db', '/data'],
    ['/database', '/'],
    ['/mnt/with space/x', '/mnt/with space'],
  ])('%s is on %s', (target, point) => {
    expect(mountOf(target, mounts)?.point).toBe(point);
  });
});

describe('whyUnwritable', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  test.each([
    ['EROFS', 'read-only'],
    ['ENOSPC', 'full'],
    ['EDQUOT', 'full'],
    ['SQLITE_FULL', 'full'],
    ['EACCES', 'permission'],
    ['EPERM', 'permission'],
  ] as const)('the code %s says %s', (code, cause) => {
    expect(whyUnwritable('/nowhere', Object.assign(new Error(code), { code }))).toBe(cause);
  });
  test('a code that says nothing, on a writable folder with room: other', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-mounts-'));
    dirs.push(dir);
    const error = Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' });
    expect(whyUnwritable(path.join(dir, '.app.db-bootseq'), error)).toBe('other');
  });
  test('a code that says nothing (ENOENT from a recursive mkdir), on a read-only mount: read-only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-mounts-'));
    dirs.push(dir);
    const readOnlyRoot = readMounts('1 0 0:1 / / ro - ext4 /dev/sda ro');
    const error = Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    expect(whyUnwritable(path.join(dir, '.app.db-bootseq'), error, readOnlyRoot)).toBe('read-only');
  });
});

describe('adviseUnwritable', () => {
  test.each([
    [
      'read-only',
      /^\/proc is on a read-only mount, \/proc \(proc\): bootseq must write there; mount it read-write$/,
    ],
    ['full', /^the file system holding \/proc is full \(mounted at \/proc \(proc\)\): free space on it/],
    [
      'permission',
      /^bootseq runs as uid \d+, which may not write in \/proc \(bootseq must\): give that user write access/,
    ],
    ['other', /^bootseq must be able to create and lock files in \/proc$/],
  ] as const)('%s', (cause, advice) => {
    expect(adviseUnwritable('/proc', cause, 'bootseq')).toMatch(advice);
  });
});
