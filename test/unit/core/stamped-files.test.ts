// Stamped file names sort by time, the newest is the last written, pruning keeps exactly `keep` of
// them, and a file whose name is not a stamp with that extension is never listed or deleted.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  listStamped,
  newestStamped,
  pruneStamped,
  stampAt,
  stampedName,
} from '../../../core/stamped-files.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-stamped-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

function touch(...names: string[]): void {
  for (const name of names) fs.writeFileSync(path.join(dir, name), name);
}

// Chosen so that a digit-by-digit sort would go wrong on every boundary a clock crosses.
const TIMES = [
  '2026-11-23T09:59:59.999Z',
  '2026-11-23T10:00:00.000Z',
  '2026-11-23T10:00:00.001Z',
  '2026-12-01T00:00:00.000Z',
  '2027-01-01T00:00:00.000Z',
  '2099-01-01T00:00:00.000Z',
].map((t) => Date.parse(t));

const FOREIGN = [
  'notes.txt',
  'README.json',
  '2026-11-23.json', // a date, not a stamp
  'x2026-11-23T10-00-00.000Z.json',
  '2026-11-23T10-00-00.000Z.json.tmp-4242', // a report being written
  '2026-11-23T10-00-00.000Z.sqlite3', // another extension
  '2026-11-23T10-00-00.000Zxjson', // the dot is literal
  '2026-11-23T10-00-00.000Z.old.json', // renamed aside by hand
];

describe('stamped names', () => {
  test('a stamp is the UTC time without colons', () => {
    expect(stampAt(Date.parse('2026-11-23T10:00:00.123Z'))).toBe('2026-11-23T10-00-00.123Z');
    expect(stampedName('dump', Date.parse('2026-11-23T10:00:00.123Z'))).toBe('2026-11-23T10-00-00.123Z.dump');
  });

  test('sorting the names sorts them by time', () => {
    const shuffled = [3, 0, 5, 1, 4, 2].map((i) => TIMES[i]!);
    const byName = shuffled.map((t) => stampedName('json', t)).sort();
    expect(byName).toEqual(shuffled.toSorted((a, b) => a - b).map((t) => stampedName('json', t)));
  });

  test('listStamped: oldest first, only stamps with that extension', () => {
    // Written newest first, a day less a millisecond apart: days, months and the year roll over.
    const stamps = Array.from({ length: 40 }, (_, i) => stampedName('json', TIMES[0]! + i * 86_399_999));
    touch(...FOREIGN, ...stamps.toReversed());
    fs.mkdirSync(path.join(dir, 'backups'));
    expect(listStamped(dir, 'json')).toEqual(stamps);
    expect(listStamped(dir, 'sqlite3')).toEqual(['2026-11-23T10-00-00.000Z.sqlite3']);
  });

  test('the order the directory lists them in does not matter', () => {
    // Some file systems list a directory sorted, ext4 in hash order: reverse the listing to see.
    const stamps = TIMES.map((t) => stampedName('json', t));
    touch(...stamps);
    const readdir = fs.readdirSync.bind(fs) as (dir: string) => string[];
    vi.spyOn(fs, 'readdirSync').mockImplementation(((d: string) => readdir(d).toReversed()) as never);
    expect(listStamped(dir, 'json')).toEqual(stamps);
    expect(newestStamped(dir, 'json')).toBe(path.join(dir, stamps.at(-1)!));
    expect(pruneStamped(dir, 'json', 2)).toEqual(stamps.slice(0, -2).map((n) => path.join(dir, n)));
  });

  test('an extension is matched literally', () => {
    touch('2026-11-23T10-00-00.000Z.tar.gz', '2026-11-23T10-00-00.000Z.tarxgz');
    expect(listStamped(dir, 'tar.gz')).toEqual(['2026-11-23T10-00-00.000Z.tar.gz']);
  });

  test('a folder that does not exist has none; other errors are not hidden', () => {
    expect(listStamped(path.join(dir, 'missing'), 'json')).toEqual([]);
    expect(newestStamped(path.join(dir, 'missing'), 'json')).toBeUndefined();
    touch('file');
    expect(() => listStamped(path.join(dir, 'file'), 'json')).toThrow(/ENOTDIR/);
  });

  test('newestStamped: the path of the latest, ignoring foreign names', () => {
    touch(...FOREIGN);
    expect(newestStamped(dir, 'json')).toBeUndefined();
    const names = TIMES.slice(0, 4).map((t) => stampedName('json', t));
    touch(...names, 'zzz.json');
    expect(newestStamped(dir, 'json')).toBe(path.join(dir, names[3]!));
  });
});

describe('pruneStamped', () => {
  test.each([0, 1, 3, 6, 10])('keeps exactly the newest %i and no foreign file is deleted', (keep) => {
    const stamped = TIMES.map((t) => stampedName('dump', t));
    touch(...FOREIGN, ...stamped);
    const removed = pruneStamped(dir, 'dump', keep);
    const kept = stamped.slice(Math.max(0, stamped.length - keep));
    expect(listStamped(dir, 'dump')).toEqual(kept);
    expect(removed).toEqual(stamped.slice(0, stamped.length - kept.length).map((n) => path.join(dir, n)));
    for (const name of FOREIGN) expect(fs.existsSync(path.join(dir, name)), name).toBe(true);
  });

  test('a folder that does not exist is nothing to prune', () => {
    expect(pruneStamped(path.join(dir, 'missing'), 'dump', 1)).toEqual([]);
  });
});
