// The cases of issue 28, each as it was found: a clock an hour ahead, a far-future stamp, times
// compared as text, a client's claim to be main, a key spelled another way, and every file that was
// accepted and should not have been. In-process nodes on real SQLite (test/helpers/sync-nodes.ts).

import { afterEach, describe, expect, test } from 'vitest';
import { sha256 } from '../../../db/sync/format.js';
import { describeImport, exportChanges, ExportError } from '../../../db/sync/index.js';
import { createNode, type SimNode } from '../../helpers/sync-nodes.js';

const HOUR = 3_600_000;
let nodes: SimNode[] = [];
afterEach(() => {
  for (const n of nodes) n.close();
  nodes = [];
});
function node(name: string, role: 'main' | 'client'): SimNode {
  const n = createNode(name, role);
  nodes.push(n);
  return n;
}

/** A write at the node's own wall clock: the real one plus its skew. */
function edit(n: SimNode, sql: string, skewMs = 0, at?: number): void {
  n.write(0, (db) => db.exec(sql), { at: at ?? Date.now() + skewMs });
}

async function move(from: SimNode, to: SimNode) {
  const text = from.role === 'main' ? from.exportFor(to.name) : from.exportFor();
  const result = await to.import(text);
  expect(result.status, JSON.stringify(result)).not.toBe('rejected');
  return result;
}

async function round(main: SimNode, clients: SimNode[]) {
  for (const c of clients) await move(c, main);
  for (const c of clients) await move(main, c);
}

const name = (n: SimNode) =>
  (n.db.prepare('SELECT name FROM items WHERE id = 1').get() as { name: string } | undefined)?.name;

describe('versions that respect causality', () => {
  test('hq, shop-1 and shop-2 with shop-2 1 h ahead: hq edits after seeing shop-2’s edit, and every node ends with hq’s', async () => {
    const hq = node('hq', 'main');
    const shop1 = node('shop-1', 'client');
    const shop2 = node('shop-2', 'client');
    edit(hq, "INSERT INTO items VALUES (1, 'initial', 0)");
    await round(hq, [shop1, shop2]);
    edit(shop2, "UPDATE items SET name = 'c2-edit' WHERE id = 1", HOUR);
    const seen = await move(shop2, hq);
    // The import line names the node whose clock is ahead.
    expect(seen.status === 'applied' && describeImport('s2.ndjson', seen, hq.sync.maxClockSkewMs)).toMatch(
      /node shop-2's clock is 60 min ahead of this node's \(more than sync\.max_clock_skew, 5 min\)/,
    );
    edit(hq, "UPDATE items SET name = 'hq-edit' WHERE id = 1"); // stamped after shop-2's, whatever hq's clock says
    edit(shop1, "UPDATE items SET name = 'c1-edit' WHERE id = 1"); // concurrent, earlier
    await round(hq, [shop1, shop2]);
    await round(hq, [shop1, shop2]);
    expect([hq, shop1, shop2].map(name)).toEqual(['hq-edit', 'hq-edit', 'hq-edit']);
    const before = [hq, shop1, shop2].map((n) => n.rows());
    await round(hq, [shop1, shop2]);
    expect([hq, shop1, shop2].map((n) => n.rows())).toEqual(before);
  });

  test('a change stamped 9999-12-31 does not freeze the row: an edit made after seeing it wins everywhere', async () => {
    const hq = node('hq', 'main');
    const shop1 = node('shop-1', 'client');
    const shop2 = node('shop-2', 'client');
    edit(shop2, "INSERT INTO items VALUES (1, 'from the future', 0)", 0, Date.UTC(9999, 11, 31));
    const seen = await move(shop2, hq);
    expect(seen.status === 'applied' && describeImport('f', seen, hq.sync.maxClockSkewMs)).toMatch(
      /node shop-2's clock is 7,9\d\d years ahead/,
    );
    await round(hq, [shop1, shop2]);
    edit(shop1, "UPDATE items SET name = 'fixed' WHERE id = 1");
    await round(hq, [shop1, shop2]);
    expect([hq, shop1, shop2].map(name)).toEqual(['fixed', 'fixed', 'fixed']);
  });

  test('times are compared as numbers: 10:00:00.900Z beats 10:00:00Z (format 1 files, whichever arrives first)', async () => {
    for (const order of [0, 1]) {
      const hq = node('hq', 'main');
      const files = [
        v1File('shop-1', [{ lsn: 1, name: 'at .900', created_at: '2026-01-01T10:00:00.900Z' }]),
        v1File('shop-2', [{ lsn: 1, name: 'at :00', created_at: '2026-01-01T10:00:00Z' }]),
      ];
      for (const f of order ? files.reverse() : files) expect((await hq.import(f)).status).toBe('applied');
      expect(name(hq)).toBe('at .900');
    }
  });
});

/** A file as bootseq 0.x (format 1) wrote it: no clock, the time is the version; entries say their role. */
function v1File(
  from: string,
  entries: { lsn: number; name: string; created_at: string; table?: string; role?: string }[],
  role = 'client',
): string {
  const body = entries
    .map((e) =>
      JSON.stringify({
        lsn: e.lsn,
        tx_id: `${from}-${e.lsn}`,
        table_name: e.table ?? 'items',
        pk_json: e.table === 'companies' ? '{"code":"a"}' : '{"id":1}',
        op: 'U',
        payload:
          e.table === 'companies'
            ? `{"code":"a","title":"${e.name}"}`
            : `{"id":1,"name":"${e.name}","qty":0}`,
        tombstone: 0,
        created_at: e.created_at,
        source_node: from,
        source_role: e.role ?? role,
      }),
    )
    .map((l) => `${l}\n`)
    .join('');
  const meta = {
    format: 'bootseq-changes/1',
    source_node: from,
    source_role: role,
    client_id: from,
    to: null,
    from_lsn: 0,
    to_lsn: entries.length,
    count: entries.length,
    created_at: '2026-01-01T12:00:00.000Z',
    sha256: sha256(body),
  };
  return `${JSON.stringify({ __meta__: meta })}\n${body}`;
}

describe('prefer_main decides by what this node knows of the main', () => {
  test('a client’s entries that claim source_role main do not beat main in a prefer_main table', async () => {
    const hq = node('hq', 'main');
    edit(hq, "INSERT INTO companies VALUES ('a', 'from hq')", 0, Date.UTC(2026, 0, 1, 8));
    const claim = v1File('shop-1', [
      { lsn: 1, name: 'claims main', created_at: '2026-01-01T12:00:00Z', table: 'companies', role: 'main' },
    ]);
    expect((await hq.import(claim)).status).toBe('applied');
    expect(hq.rows().companies).toEqual([{ code: 'a', title: 'from hq' }]);
  });

  test('a file whose header says main: refused by the main, and by a client that knows another main', async () => {
    const hq = node('hq', 'main');
    const shop1 = node('shop-1', 'client');
    edit(hq, "INSERT INTO items VALUES (1, 'x', 0)");
    await move(hq, shop1);
    const fake = v1File('shop-2', [{ lsn: 1, name: 'y', created_at: '2026-01-01T12:00:00Z' }], 'main');
    expect(await hq.import(fake)).toEqual({
      status: 'rejected',
      reason: 'it says it comes from a main ("shop-2"), but this node ("hq") is the main',
    });
    expect(await shop1.import(fake)).toEqual({
      status: 'rejected',
      reason: 'it says "shop-2" is main, but this node\'s main is "hq"',
    });
  });

  test('a client that edits a prefer_main row main has changed gets main’s row back', async () => {
    const hq = node('hq', 'main');
    const shop1 = node('shop-1', 'client');
    edit(hq, "INSERT INTO companies VALUES ('a', 'from hq')");
    await round(hq, [shop1]);
    edit(shop1, "UPDATE companies SET title = 'from shop' WHERE code = 'a'");
    await round(hq, [shop1]);
    expect([hq.rows(), shop1.rows()].map((r) => r.companies)).toEqual([
      [{ code: 'a', title: 'from hq' }],
      [{ code: 'a', title: 'from hq' }],
    ]);
  });
});

/** A change file from `from` with raw header fields and entry lines, its hash computed. */
function craft(header: string, lines: string[]): string {
  const body = lines.map((l) => `${l}\n`).join('');
  return `${header.replace('SHA', sha256(body))}\n${body}`;
}
const HEADER = (over = '') =>
  `{"__meta__":{"format":"bootseq-changes/2","source_node":"shop-1","source_role":"client","client_id":"shop-1","to":null,"from_lsn":0,"to_lsn":1,"count":1,"created_at":"2026-01-01T10:00:00.000Z","sha256":"SHA"${over}}}`;
const ENTRY = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    lsn: 1,
    tx_id: 't1',
    table_name: 'items',
    pk_json: '{"id":1}',
    op: 'U',
    payload: '{"id":1,"name":"x","qty":0}',
    tombstone: 0,
    created_at: '2026-01-01T10:00:00.000Z',
    source_node: 'shop-1',
    hlc_ms: Date.UTC(2026, 0, 1, 10),
    hlc_counter: 0,
    ...over,
  });

describe('strict files: refused whole, with the reason, nothing applied', () => {
  test.each([
    [
      'format 99',
      craft(HEADER().replace('/2', '/99'), [ENTRY()]),
      /format is "bootseq-changes\/99", a format this bootseq cannot read/,
    ],
    [
      'another format',
      craft(HEADER().replace('bootseq-changes/2', 'something-else/1'), [ENTRY()]),
      /format is "something-else\/1" \(expected "bootseq-changes\/2"\)/,
    ],
    ['a duplicate header key', craft(HEADER(',"to_lsn":5'), [ENTRY()]), /the header names "to_lsn" twice/],
    [
      'an unknown header key',
      craft(HEADER(',"signed_by":"me"'), [ENTRY()]),
      /__meta__ has unknown keys: signed_by/,
    ],
    [
      'a file for another peer',
      craft(HEADER().replace('"to":null', '"to":"hq-2"'), [ENTRY()]),
      /it is for node "hq-2", not this node \("hq"\)/,
    ],
    [
      'entries from this node',
      craft(HEADER().replace('"source_node":"shop-1"', '"source_node":"shop-9"'), [
        ENTRY({ source_node: 'hq' }),
      ]),
      /change 1 \(line 2\) was made on this node \("hq"\)/,
    ],
    [
      'a relayed entry in a client file',
      craft(HEADER(), [ENTRY({ source_node: 'shop-2' })]),
      /comes from "shop-2", but a client's file carries only its own changes/,
    ],
    [
      'to_lsn 1e300',
      craft(HEADER().replace('"to_lsn":1', '"to_lsn":1e300'), [ENTRY()]),
      /__meta__\.to_lsn is 1e\+300 \(expected a whole number ≥ 0\)/,
    ],
    [
      'to_lsn < from_lsn',
      craft(HEADER().replace('"from_lsn":0', '"from_lsn":5'), [ENTRY()]),
      /to_lsn \(1\) is before from_lsn \(5\)/,
    ],
    ['a negative LSN', craft(HEADER().replace('"from_lsn":0', '"from_lsn":-3'), [ENTRY()]), /from_lsn is -3/],
    [
      'an entry outside the header’s LSNs',
      craft(HEADER(), [ENTRY({ lsn: 7 })]),
      /lsn 7 is not a whole number within the header's from_lsn\.\.to_lsn \(0\.\.1\)/,
    ],
    [
      'an impossible date',
      craft(HEADER(), [ENTRY({ created_at: '2026-13-45T99:99:99Z' })]),
      /created_at is "2026-13-45T99:99:99Z" \(expected an ISO-8601 UTC time that exists\)/,
    ],
    [
      'an impossible header date',
      craft(HEADER().replace('2026-01-01T10', '2026-02-30T10'), [ENTRY()]),
      /__meta__\.created_at is "2026-02-30T10:00:00\.000Z"/,
    ],
    ['a clock past 9999', craft(HEADER(), [ENTRY({ hlc_ms: 1e300 })]), /hlc_ms is 1e\+300/],
    [
      'a payload without its key',
      craft(HEADER(), [ENTRY({ payload: '{"name":"x","qty":0}' })]),
      /the payload has no "id", part of items's primary key/,
    ],
    [
      'a payload naming another row',
      craft(HEADER(), [ENTRY({ payload: '{"id":2,"name":"x","qty":0}' })]),
      /the payload's "id" is 2 but pk_json's is 1/,
    ],
    [
      'a bad $hex',
      craft(HEADER(), [ENTRY({ payload: '{"id":1,"name":{"$hex":"zz"},"qty":0}' })]),
      /"name" has a bad \$hex \("zz"/,
    ],
    [
      'a pk that is not the table’s key',
      craft(HEADER(), [ENTRY({ pk_json: '{"name":"x"}' })]),
      /pk_json names "name", not part of items's primary key \(id\)/,
    ],
  ])('%s', async (_case, text, reason) => {
    const hq = node('hq', 'main');
    const result = await hq.import(text);
    expect(result.status).toBe('rejected');
    if (result.status === 'rejected') expect(result.reason).toMatch(reason);
    expect(hq.rows().items).toEqual([]);
    expect(hq.db.prepare('SELECT count(*) AS n FROM sync_state').get()).toEqual({ n: 0 });
  });
});

describe('canonical keys', () => {
  test.each(['{"id": 1}', '{"id":"1"}', '{"id":1.0}', '{ "id" : 1 }'])(
    'a deleted row stays deleted when an older change names it %s',
    async (spelling) => {
      const hq = node('hq', 'main');
      edit(hq, "INSERT INTO items VALUES (1, 'x', 0)", 0, Date.UTC(2026, 0, 1, 9));
      edit(hq, 'DELETE FROM items WHERE id = 1', 0, Date.UTC(2026, 0, 1, 11));
      const older = craft(HEADER(), [ENTRY({ pk_json: spelling })]);
      const result = await hq.import(older);
      expect(result.status).toBe('applied');
      expect(hq.rows().items).toEqual([]);
      expect(hq.db.prepare('SELECT pk_json, deleted FROM sync_row_version').all()).toEqual([
        { pk_json: '{"id":1}', deleted: 1 },
      ]);
    },
  );
});

describe('export', () => {
  test('--from-lsn beyond the end of the log is refused and nothing is recorded', () => {
    const hq = node('hq', 'main');
    edit(hq, "INSERT INTO items VALUES (1, 'x', 0)");
    expect(() => exportChanges(hq.db, { to: 'shop-1', fromLsn: 50 })).toThrow(ExportError);
    expect(() => exportChanges(hq.db, { to: 'shop-1', fromLsn: 50 })).toThrow(
      '--from-lsn 50 is beyond the end of the change log (its last LSN is 1): nothing was written or recorded',
    );
    expect(hq.db.prepare('SELECT count(*) AS n FROM sync_state').get()).toEqual({ n: 0 });
    expect(hq.db.inTransaction).toBe(false);
  });

  test('the same bytes imported twice: the second is known and skipped', async () => {
    const hq = node('hq', 'main');
    const shop1 = node('shop-1', 'client');
    edit(shop1, "INSERT INTO items VALUES (1, 'x', 0)");
    const text = shop1.exportFor();
    expect((await hq.import(text, 'a.ndjson')).status).toBe('applied');
    expect(await hq.import(text, 'b.ndjson')).toMatchObject({ status: 'known', name: 'a.ndjson' });
  });
});

describe('a database set up by an earlier bootseq', () => {
  test('gets the clock columns: its versions keep their times as the clock, and its clock starts after them', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { ensureCapture } = await import('../../../db/sync/index.js');
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);
        CREATE TABLE companies (code TEXT PRIMARY KEY, title TEXT);
        CREATE TABLE change_log (lsn INTEGER PRIMARY KEY AUTOINCREMENT, tx_id TEXT NOT NULL, table_name TEXT NOT NULL, pk_json TEXT NOT NULL, op TEXT NOT NULL, payload TEXT, tombstone INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, source_node TEXT NOT NULL);
        CREATE TABLE sync_row_version (table_name TEXT NOT NULL, pk_json TEXT NOT NULL, created_at TEXT NOT NULL, source_node TEXT NOT NULL, from_main INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (table_name, pk_json));
        CREATE TABLE sync_node (id INTEGER PRIMARY KEY CHECK (id = 1), node TEXT NOT NULL, role TEXT NOT NULL, applying INTEGER NOT NULL DEFAULT 0);
        INSERT INTO sync_node (id, node, role) VALUES (1, 'hq', 'main');
        INSERT INTO change_log (tx_id, table_name, pk_json, op, payload, created_at, source_node) VALUES ('t', 'items', '{"id":1}', 'I', '{"id":1}', '2026-01-01T10:00:00.250Z', 'hq');
        INSERT INTO sync_row_version VALUES ('items', '{"id":1}', '2030-01-01T10:00:00.250Z', 'shop-1', 0, 0);`);
      ensureCapture(db, 'sync:app', { node: 'hq', role: 'main', tables: ['items', 'companies'] });
      expect(db.prepare('SELECT hlc_ms, hlc_counter FROM change_log').get()).toEqual({
        hlc_ms: Date.parse('2026-01-01T10:00:00.250Z'),
        hlc_counter: 0,
      });
      expect(db.prepare('SELECT hlc_ms FROM sync_row_version').get()).toEqual({
        hlc_ms: Date.parse('2030-01-01T10:00:00.250Z'),
      });
      db.exec("INSERT INTO items VALUES (2, 'new', 0)");
      const stamp = db.prepare('SELECT hlc_ms, hlc_counter FROM change_log WHERE lsn = 2').get() as {
        hlc_ms: number;
        hlc_counter: number;
      };
      expect(stamp).toEqual({ hlc_ms: Date.parse('2030-01-01T10:00:00.250Z'), hlc_counter: 1 });
    } finally {
      db.close();
    }
  });
});

describe('one line per file', () => {
  test('the first five failed transactions are named, the rest counted', async () => {
    const hq = node('hq', 'main');
    const lines = Array.from({ length: 8 }, (_, i) =>
      ENTRY({ lsn: i + 1, tx_id: `t${i + 1}`, table_name: 'ghosts', hlc_counter: i }),
    );
    const text = craft(HEADER().replace('"to_lsn":1,"count":1', '"to_lsn":8,"count":8'), lines);
    const result = await hq.import(text, 'ghosts.ndjson');
    expect(result).toMatchObject({ status: 'applied', applied: 0, failed: 8 });
    if (result.status !== 'applied') return;
    expect(result.failures.map((f) => f.tx_id)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect(describeImport('ghosts.ndjson', result, hq.sync.maxClockSkewMs)).toMatch(
      /^ghosts\.ndjson from shop-1: 0 transactions applied, 0 skipped, 8 failed \(8 changes in \d+ ms\); rolled back: t1: table "ghosts" is not synced here \(sync\.tables\); t2: .*; t5: [^;]* and 3 more$/,
    );
    // Not remembered: once the table is synced, the same bytes can be imported again.
    expect((await hq.import(text, 'ghosts.ndjson')).status).toBe('applied');
  });
});
