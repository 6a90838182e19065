// The v0.5 driver (db/litestream/v5.ts, v5-files.ts) on lines and files as Litestream v0.5.17 writes
// them (docs/litestream-v05.md A1, B1, B3, E, I2): its lines given the databases' full paths, what
// proves a write to a replica and what only restates where the replica is, the local TXID, and the
// `restore -dry-run` verdicts. Real files in a temp dir; the listing command is a fake (no Litestream).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { v5Driver } from '../../../db/litestream/v5.js';
import { checkChain, readLocalTxid } from '../../../db/litestream/v5-files.js';
import type { ListCommand } from '../../../db/litestream/types.js';
import { isReplacedLine } from '../../../phases/replicate/faults.js';

const DB = '/data/storage/app.db';
const driver = v5Driver([{ path: DB }, { path: '/data/storage/queue.db' }]);
const T = 'time=2026-12-05T03:13:57.874Z';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const tempDir = () => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-v5-')));

describe('lines', () => {
  test('`ltx file uploaded` (text): this process wrote up to maxTXID, for the database by its full path', () => {
    const line = driver.parseLine(
      `${T} level=DEBUG msg="ltx file uploaded" system=store db=app.db replica=file level=0 minTXID=0000000000000002 maxTXID=000000000000002a size=191`,
    );
    expect(line.level).toBe('DEBUG');
    expect(line.db).toBe(DB);
    expect(driver.shipped(line)).toEqual({
      db: DB,
      replica: 'file',
      upTo: { lineage: 'ltx', index: 42, offset: 0 },
      whole: false,
    });
    expect(driver.replicaAt(line)?.upTo.index).toBe(42);
    expect(driver.isRoutine(line)).toBe(true);
  });

  test('the JSON line, whose `level` key is both the log level and the LTX level', () => {
    const line = driver.parseLine(
      '{"time":"2026-12-05T03:13:57Z","level":"DEBUG","msg":"ltx file uploaded","system":"store","db":"queue.db","replica":"s3","level":0,"minTXID":"0000000000000001","maxTXID":"0000000000000001","size":567}',
    );
    expect(line.level).toBe('DEBUG');
    expect(driver.shipped(line)?.db).toBe('/data/storage/queue.db');
    expect(driver.shipped(line)?.upTo.index).toBe(1);
  });

  test('`replica sync` says where the replica is (text and nested JSON) but proves no write', () => {
    const text = driver.parseLine(
      `${T} level=DEBUG msg="replica sync" system=store db=app.db replica=file txid.replica=0000000000000003 txid.db=0000000000000004`,
    );
    expect(driver.shipped(text)).toBeUndefined();
    expect(driver.replicaAt(text)).toEqual({
      db: DB,
      replica: 'file',
      upTo: { lineage: 'ltx', index: 3, offset: 0 },
    });
    const json = driver.parseLine(
      '{"time":"2026-12-05T03:13:57Z","level":"DEBUG","msg":"replica sync","system":"store","db":"app.db","replica":"file","txid":{"replica":"0000000000000010","db":"0000000000000011"}}',
    );
    expect(driver.replicaAt(json)?.upTo.index).toBe(16);
  });

  test('a base name not in litestream.yml stays as printed; other lines ship nothing', () => {
    const line = driver.parseLine(
      `${T} level=DEBUG msg="ltx file uploaded" db=other.db replica=file level=0 minTXID=0000000000000001 maxTXID=0000000000000001`,
    );
    expect(line.db).toBe('other.db');
    for (const text of [
      `${T} level=INFO msg="snapshot complete" system=store db=app.db txid=0000000000000001 size=567`,
      `${T} level=DEBUG msg=sync system=store db=app.db txid=0000000000000001 offset=32 snap=true`,
      `${T} level=DEBUG msg="ltx file uploaded" db=app.db replica=file maxTXID=xyz`,
    ])
      expect(driver.replicaAt(driver.parseLine(text))).toBeUndefined();
  });

  test('relayed: INFO lifecycle lines, WARN and ERROR; not DEBUG, not the compaction of each level', () => {
    const routine = (text: string) => driver.isRoutine(driver.parseLine(text));
    expect(routine(`${T} level=INFO msg="snapshot complete" db=app.db txid=0000000000000001`)).toBe(false);
    expect(routine(`${T} level=ERROR msg="monitor error" db=app.db error="no space left on device"`)).toBe(
      false,
    );
    expect(routine(`${T} level=INFO msg="compaction complete" db=app.db level=1`)).toBe(true);
    expect(routine(`${T} level=DEBUG msg="db not ready, skipping" db=app.db`)).toBe(true);
  });

  test('v0.5 starting over with a snapshot at DEBUG is not a replaced database; the ERROR is', () => {
    const debug = driver.parseLine(
      `${T} level=DEBUG msg=sync system=store db=app.db txid=0000000000000008 offset=8272 snap=true reason="wal truncated by another process"`,
    );
    expect(isReplacedLine(debug)).toBe(false);
    const error = driver.parseLine(
      `${T} level=ERROR msg="sync error" db=app.db error="ensure wal exists: disk I/O error (522)"`,
    );
    expect(isReplacedLine(error)).toBe(true);
  });

  test('a WAL another connection started over, gone on from without a snapshot, is named at its sync (K, L)', () => {
    // The lines of a failing round of test/races/handoff-under-writes (docs/litestream-v05.md K): a
    // checkpoint inside a `litestream sync` (L), then, at the next tick, the WAL found started over.
    const watch = driver.watchWalStartOver();
    const seen = (text: string) => watch(driver.parseLine(`${T} level=DEBUG ${text}`));
    expect(seen('msg=checkpoint system=store db=app.db mode=PASSIVE result=0,1651,1420')).toBeUndefined();
    expect(seen('msg=verify system=store db=app.db saltMatch=true prevWALOffset=6657952')).toBeUndefined();
    expect(seen('msg=sync system=store db=app.db txid=000000000000007b offset=6662072')).toBeUndefined();
    expect(seen('msg=verify system=store db=app.db saltMatch=false prevWALOffset=6798032')).toBeUndefined();
    expect(seen('msg=verify.2 system=store db=app.db lastPageMatch=true')).toBeUndefined();
    expect(seen('msg=verify system=store db=queue.db saltMatch=true prevWALOffset=4120')).toBeUndefined();
    expect(seen('msg="db sync" system=store db=app.db status=ok')).toBeUndefined();
    expect(seen('msg=sync system=store db=queue.db txid=0000000000000004 offset=8272')).toBeUndefined();
    expect(seen('msg=sync system=store db=app.db txid=000000000000007c offset=32')).toBe(DB);
    // Its own checkpoint starting the WAL over (the `_litestream_seq` bump after it) is no gap.
    expect(seen('msg=checkpoint system=store db=queue.db mode=PASSIVE result=0,3986,3986')).toBeUndefined();
    expect(
      seen('msg=verify system=store db=queue.db saltMatch=false prevWALOffset=16418232'),
    ).toBeUndefined();
    expect(
      seen('msg=sync system=store db=queue.db txid=0000000000000007 offset=32 chkpt=true'),
    ).toBeUndefined();
    // A checkpoint that did not start it over excuses nothing after the next verify.
    expect(seen('msg=checkpoint system=store db=queue.db mode=PASSIVE result=0,1651,1420')).toBeUndefined();
    expect(seen('msg=verify system=store db=queue.db saltMatch=true prevWALOffset=4120')).toBeUndefined();
    expect(seen('msg=verify system=store db=queue.db saltMatch=false prevWALOffset=8240')).toBeUndefined();
    expect(seen('msg=sync system=store db=queue.db txid=0000000000000009 offset=32')).toBe(
      '/data/storage/queue.db',
    );
    // Round 9's order: the verify right after the checkpoint, but at a sync of the next tick (no chkpt).
    expect(seen('msg=checkpoint system=store db=queue.db mode=PASSIVE result=0,1746,1531')).toBeUndefined();
    expect(seen('msg=verify system=store db=queue.db saltMatch=false prevWALOffset=7189432')).toBeUndefined();
    expect(seen('msg=sync system=store db=queue.db txid=0000000000000056 offset=32')).toBe(
      '/data/storage/queue.db',
    );
    // A salt change whose sync never came (an error between) is forgotten at the next verify.
    expect(seen('msg=verify system=store db=queue.db saltMatch=false prevWALOffset=8240')).toBeUndefined();
    expect(seen('msg=verify system=store db=queue.db saltMatch=true prevWALOffset=32')).toBeUndefined();
    expect(seen('msg=sync system=store db=queue.db txid=000000000000005a offset=4152')).toBeUndefined();
    // Said once per start-over: the next sync goes on from what it shipped.
    expect(seen('msg=sync system=store db=app.db txid=000000000000007d offset=1161872')).toBeUndefined();
    // A salt change v0.5 answers with a snapshot loses nothing; another process's watcher starts clean.
    expect(seen('msg=verify system=store db=app.db saltMatch=false prevWALOffset=4120')).toBeUndefined();
    expect(
      seen(
        'msg=sync system=store db=app.db txid=000000000000007e offset=32 snap=true reason="wal header salt reset, snapshotting"',
      ),
    ).toBeUndefined();
    expect(seen('msg=verify system=store db=app.db saltMatch=false prevWALOffset=8240')).toBeUndefined();
    expect(
      driver.watchWalStartOver()(
        driver.parseLine(`${T} level=DEBUG msg=sync db=app.db txid=0000000000000080 offset=32`),
      ),
    ).toBeUndefined();
  });

  test('AWS_CA_BUNDLE, which v0.5.17 refuses with an S3 replica, reaches it as SSL_CERT_FILE', () => {
    expect(driver.environment({ PATH: '/bin' })).toEqual({});
    expect(driver.environment({ AWS_CA_BUNDLE: '/etc/ca.pem' })).toEqual({
      AWS_CA_BUNDLE: '',
      SSL_CERT_FILE: '/etc/ca.pem',
    });
    // Go reads one SSL_CERT_FILE: the bundle, not a system one already set (its roots come from folders).
    expect(
      driver.environment({
        AWS_CA_BUNDLE: '/etc/ca.pem',
        SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt',
      }),
    ).toEqual({ AWS_CA_BUNDLE: '', SSL_CERT_FILE: '/etc/ca.pem' });
  });

  test('positions: one lineage, ordered by TXID', () => {
    const at = (index: number) => ({ lineage: 'ltx', index, offset: 0 });
    expect(driver.isAtOrPast(at(5), at(5))).toBe(true);
    expect(driver.isAtOrPast(at(6), at(5))).toBe(true);
    expect(driver.isAtOrPast(at(4), at(5))).toBe(false);
  });
});

describe('files', () => {
  test('the local TXID is the newest level-0 LTX file; the lineage exists once ltx/ does', () => {
    const meta = path.join(tempDir(), '.app.db-litestream');
    expect(readLocalTxid(meta)).toBeUndefined();
    expect(driver.lineage(meta)).toBeUndefined();
    fs.mkdirSync(path.join(meta, 'ltx', '0'), { recursive: true });
    for (const name of ['0000000000000001-0000000000000001.ltx', '0000000000000002-000000000000000b.ltx'])
      fs.writeFileSync(path.join(meta, 'ltx', '0', name), 'x');
    fs.writeFileSync(path.join(meta, 'ltx', '0', '0000000000000099.ltx.tmp'), 'x');
    expect(readLocalTxid(meta)).toMatchObject({ lineage: 'ltx', index: 11, offset: 0 });
    expect(driver.lineage(meta)).toBe('ltx');
  });

  test('a file replica holds no backup without LTX files or a v0.3 generation', () => {
    const root = tempDir();
    const replica = { type: 'file', name: 'file', path: root, url: undefined };
    expect(driver.hasNoBackups(replica)).toBe(true);
    fs.mkdirSync(path.join(root, 'ltx'));
    expect(driver.hasNoBackups(replica)).toBe(true);
    fs.mkdirSync(path.join(root, 'generations', 'abcd'), { recursive: true });
    expect(driver.hasNoBackups(replica)).toBe(false);
    expect(driver.hasNoBackups({ type: 's3', name: 's3', path: undefined, url: 's3://b/p' })).toBe(false);
  });
});

describe('restorable: restore -dry-run', () => {
  const meta = () => {
    const m = path.join(tempDir(), '.app.db-litestream');
    fs.mkdirSync(path.join(m, 'ltx', '0'), { recursive: true });
    return m;
  };
  const answering =
    (answer: { lines: string[]; failed?: string }, calls: (readonly string[])[] = []): ListCommand =>
    (args) => {
      calls.push(args);
      return Promise.resolve(answer);
    };
  const target = (metaPath: string) => ({ dbPath: DB, listPath: 'storage/app.db', metaPath });

  test('a plan is restorable; asked by the path litestream.yml gives', async () => {
    const calls: (readonly string[])[] = [];
    const seen = await checkChain(
      answering({ lines: ['Restore plan:', '  txid range: 0000000000000001 - 0000000000000002'] }, calls),
      target(meta()),
      'file',
      true,
      5000,
    );
    expect(seen).toEqual({ generation: 'ltx', verdict: { state: 'restorable' } });
    expect(calls).toEqual([['restore', '-dry-run', 'storage/app.db']]);
  });

  test.each([
    'Error: no matching backup files available',
    'Error: non-contiguous ltx files: 0000000000000003 after 0000000000000001',
  ])('%s: unrestorable, with what Litestream said', async (said) => {
    const seen = await checkChain(
      answering({ lines: [said], failed: `litestream restore exited with code 1: ${said}` }),
      target(meta()),
      'file',
      false,
      5000,
    );
    expect(seen?.verdict).toMatchObject({ state: 'unrestorable' });
    expect(seen?.verdict.state === 'unrestorable' && seen.verdict.detail).toContain(
      said.replace('Error: ', ''),
    );
  });

  test('no answer, or another error: unknown, never unrestorable', async () => {
    const seen = await checkChain(
      answering({ lines: [], failed: 'litestream restore did not answer within 5 s' }),
      target(meta()),
      'file',
      false,
      5000,
    );
    expect(seen?.verdict).toEqual({ state: 'unknown', why: 'litestream restore did not answer within 5 s' });
  });

  test('nothing to judge before Litestream wrote anything for the database', async () => {
    const calls: (readonly string[])[] = [];
    const none = await checkChain(
      answering({ lines: [] }, calls),
      target(path.join(tempDir(), 'x')),
      'file',
      false,
      5000,
    );
    expect(none).toBeUndefined();
    expect(calls).toEqual([]);
  });
});
