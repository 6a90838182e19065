// The "likely typo" decision that stops a fresh start beside a replica of a close name (issue 31 item
// 5), as a table and as seeded properties; and the whole check on file replicas in a temp folder.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkFreshStart, editDistance, isLikelyTypo } from '../../../phases/restore/siblings.js';
import { random } from '../../helpers/random.js';

describe('isLikelyTypo', () => {
  test.each([
    ['primray', 'primary', true], // two letters swapped
    ['primay', 'primary', true], // one left out
    ['primaryy', 'primary', true], // one too many
    ['Primary', 'primary', true], // another case
    ['PRIMARY', 'primary', true],
    ['primary/', 'primary', true], // a trailing slash
    ['app//primary', 'app/primary', true], // a doubled slash
    ['pirmray', 'primary', true], // 2 swaps in 7 letters
    ['prmry', 'primary', false], // 2 edits in 5 letters: more than a third
    ['primary', 'primary', false], // itself
    ['reports', 'primary', false],
    ['reports', 'queue', false],
    ['cable', 'cache', false], // 2 edits in 5 letters: more than a third
    ['queue-a', 'queue', true], // 2 edits in 7 letters
    ['queue2', 'queue', false], // numbered siblings are not typos
    ['shard3', 'shard1', false],
    ['Shard1', 'shard1', true],
    ['db', 'dc', false], // 1 edit in 2 letters: more than a third
    ['', 'primary', false],
  ])('%s beside %s → %s', (configured, sibling, expected) => {
    expect(isLikelyTypo(configured, sibling)).toBe(expected);
  });

  const LETTERS = 'abcdefghijklmnopqrstuvwxyz_-0123456789';
  const word = (next: () => number, min: number, max: number) =>
    Array.from(
      { length: min + Math.floor(next() * (max - min + 1)) },
      () => LETTERS[Math.floor(next() * LETTERS.length)],
    ).join('');

  test('properties over seeded random names: symmetry, identity, one edit in ≥ 3 letters is a typo unless only digits changed', () => {
    const next = random(31_5);
    for (let i = 0; i < 2000; i += 1) {
      const a = word(next, 1, 12);
      const b = word(next, 1, 12);
      expect(editDistance(a, b)).toBe(editDistance(b, a));
      expect(editDistance(a, a)).toBe(0);
      expect(isLikelyTypo(a, a)).toBe(false);
      expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
      // One edit of a name of 3 letters or more.
      const long = word(next, 3, 12);
      const at = Math.floor(next() * long.length);
      const edits = [
        long.slice(0, at) + long.slice(at + 1), // deleted
        long.slice(0, at) + 'x' + long.slice(at), // inserted
        at + 1 < long.length ? long.slice(0, at) + long[at + 1] + long[at] + long.slice(at + 2) : long + 'y', // swapped
      ].filter((e) => e !== long);
      // …unless the edit only touched digits: numbered siblings.
      for (const edited of edits) {
        const numbered = long.replace(/\d+/g, '') === edited.replace(/\d+/g, '');
        expect(isLikelyTypo(long, edited), `${long} / ${edited}`).toBe(!numbered);
      }
      // Case alone always is.
      if (long.toUpperCase() !== long) expect(isLikelyTypo(long.toUpperCase(), long)).toBe(true);
      // More than a third of the name changed never is.
      if (editDistance(a, b) > a.length / 3 && a.toLowerCase() !== b.toLowerCase())
        expect(isLikelyTypo(a, b)).toBe(false);
    }
  });
});

describe('checkFreshStart on file replicas', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
    root = undefined;
  });
  const replicaAt = (dir: string) => ({ name: 'file', type: 'file', path: dir, url: undefined });
  const opts = (store: string, dir: string, allowFreshStart: boolean, others: string[] = []) => ({
    store,
    replicas: [replicaAt(dir)],
    others: others.map(replicaAt),
    allowFreshStart,
    backupFolders: ['generations'],
    env: {},
  });
  const withGeneration = (dir: string) => {
    fs.mkdirSync(path.join(dir, 'generations', '0123456789abcdef'), { recursive: true });
  };

  test('a replica under a close name beside the configured folder refuses the fresh start, unless allowed', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-siblings-'));
    withGeneration(path.join(root, 'primary'));
    withGeneration(path.join(root, 'queue'));
    const refused = await checkFreshStart(opts('primary', path.join(root, 'primray'), false));
    expect(refused.refusal?.message).toContain(`${path.join(root, 'primary')} beside it does`);
    expect(refused.refusal?.hint).toContain('stores.primary.restore.allow_fresh_start: true');
    const allowed = await checkFreshStart(opts('primary', path.join(root, 'primray'), true));
    expect(allowed.refusal).toBeUndefined();
    expect(allowed.notes).toEqual([expect.objectContaining({ level: 'warn' })]);
  });

  test('a new store beside replicas of other names starts fresh, naming them; an empty parent too', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-siblings-'));
    withGeneration(path.join(root, 'primary'));
    fs.mkdirSync(path.join(root, 'primari')); // close, but holds no replica
    const fresh = await checkFreshStart(opts('reports', path.join(root, 'reports'), false));
    expect(fresh.refusal).toBeUndefined();
    expect(fresh.notes).toEqual([
      {
        level: 'info',
        text: `replicas beside ${path.join(root, 'reports')}: ${path.join(root, 'primary')}; none has a name close to it`,
      },
    ]);
    const empty = await checkFreshStart(opts('primary', path.join(root, 'none', 'primary'), false));
    expect(empty.refusal).toBeUndefined();
  });

  test("a sibling that is another database's replica in litestream.yml is not a typo", async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-siblings-'));
    withGeneration(path.join(root, 'queues'));
    const other = await checkFreshStart(
      opts('queue', path.join(root, 'queue'), false, [path.join(root, 'queues')]),
    );
    expect(other.refusal).toBeUndefined();
    const unknown = await checkFreshStart(opts('queue', path.join(root, 'queue'), false));
    expect(unknown.refusal?.message).toContain('queues beside it does');
  });

  test('an s3 replica that cannot be listed warns and starts fresh', async () => {
    const s3 = {
      name: 's3',
      type: 's3',
      path: undefined,
      url: undefined,
      s3: {
        bucket: 'b',
        path: 'app/primray',
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: 'k',
        secretAccessKey: 's',
      },
    };
    const result = await checkFreshStart({
      store: 'primary',
      replicas: [s3],
      others: [],
      allowFreshStart: false,
      backupFolders: ['generations'],
      env: {},
    });
    expect(result.refusal).toBeUndefined();
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]?.level).toBe('warn');
    expect(result.notes[0]?.text).toContain('could not look beside s3://b/app/primray');
  });
});
