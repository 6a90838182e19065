// Change-log sync between SQLite nodes (issue 15, seeds/004's policy) through the real CLI on real
// SQLite files: a main and a client, each its own bootseq.yml, exchanging change files both ways.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { processesIn, READY, type TmpProject } from '../helpers/project.js';
import { countRows, restoreCopy } from '../helpers/sqlite.js';
import { setKeys } from '../helpers/config.js';

const SCHEMA = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INTEGER NOT NULL DEFAULT 0);
CREATE TABLE companies (code TEXT PRIMARY KEY, title TEXT);
`;

type Role = 'main' | 'client';

interface Node {
  readonly role: Role;
  readonly config: string;
  readonly db: string;
  readonly inbox: string;
  sql<T = unknown>(query: string, ...params: unknown[]): T[];
  run(query: string, ...params: unknown[]): void;
}

/** A node under `project/<role>`: its bootseq.yml (sync on items and companies), migrated. */
async function node(project: TmpProject, role: Role, extra = ''): Promise<Node> {
  const dir = project.path(role);
  fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'db', '001_tables.sql'), SCHEMA);
  fs.writeFileSync(
    path.join(dir, 'litestream.yml'),
    'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - path: replica/app\n',
  );
  fs.writeFileSync(
    path.join(dir, 'bootseq.yml'),
    `version: 1\nlitestream: { config: litestream.yml }\nstores:\n  app:\n    sqlite: data/app.sqlite3\n    migrate: { dir: db, history: bootseq }\n    sync: { node: ${role}-1, role: ${role}, tables: [items, companies], prefer_main: [companies], inbox: inbox${extra} }\n`,
  );
  const config = `${role}/bootseq.yml`;
  const migrated = await project.run(['migrate', '--config', config, '--log-format', 'plain']);
  expect(migrated.exitCode, migrated.output).toBe(0);
  const db = path.join(dir, 'data', 'app.sqlite3');
  const open = () => new Database(db);
  return {
    role,
    config,
    db,
    inbox: path.join(dir, 'inbox'),
    sql: <T>(query: string, ...params: unknown[]) => {
      const d = open();
      try {
        return d.prepare(query).all(...params) as T[];
      } finally {
        d.close();
      }
    },
    run: (query: string, ...params: unknown[]) => {
      const d = open();
      try {
        d.prepare(query).run(...params);
      } finally {
        d.close();
      }
    },
  };
}

/** Sets the time (and clock) of the last captured change of a row, as if it had been made then. */
function backdate(n: Node, table: string, pk: string, iso: string): void {
  const ms = Date.parse(iso);
  n.run(
    'UPDATE change_log SET created_at = ?, hlc_ms = ?, hlc_counter = 0 WHERE lsn = (SELECT max(lsn) FROM change_log WHERE table_name = ? AND pk_json = ?)',
    iso,
    ms,
    table,
    pk,
  );
  n.run(
    'UPDATE sync_row_version SET created_at = ?, hlc_ms = ?, hlc_counter = 0 WHERE table_name = ? AND pk_json = ?',
    iso,
    ms,
    table,
    pk,
  );
}

async function exportTo(project: TmpProject, from: Node, out: string, ...args: string[]) {
  const r = await project.run(['sync', 'export', 'app', '--config', from.config, '--out', out, ...args]);
  expect(r.exitCode, r.output + r.stderr).toBe(0);
  return project.path(out);
}

async function importInto(project: TmpProject, into: Node, file: string) {
  return project.run(['sync', 'import', 'app', '--config', into.config, file]);
}

const rows = (n: Node) => ({
  items: n.sql('SELECT * FROM items ORDER BY id'),
  companies: n.sql('SELECT * FROM companies ORDER BY code'),
});

/** The demo's primary store as sync client shop-1 of the notes table, with its inbox in .demo/inbox. */
function demoAsSyncClient(project: TmpProject): void {
  setKeys(project, ['stores', 'primary'], {
    sync: '{ node: shop-1, role: client, tables: [notes], inbox: .demo/inbox }',
  });
  fs.mkdirSync(project.path('.demo/inbox'), { recursive: true });
}

describe('change-log sync between a main and a client', () => {
  test('changes on both sides, the same rows changed on both with known times: both end identical by the rules', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client');
    // Shared starting point: main's rows reach the client.
    main.run(
      "INSERT INTO items (id, name, qty) VALUES (1, 'apple', 5), (2, 'pear', 3), (3, 'plum', 1), (4, 'fig', 9)",
    );
    main.run("INSERT INTO companies VALUES ('acme', 'Acme')");
    expect(
      (await importInto(project, client, await exportTo(project, main, 'm1.ndjson', '--to', 'client-1')))
        .exitCode,
    ).toBe(0);
    expect(rows(client)).toEqual(rows(main));

    // Both sides change, offline.
    main.run('UPDATE items SET qty = 50 WHERE id = 1'); // older than the client's change below
    backdate(main, 'items', '{"id":1}', '2026-01-01T10:00:00.000Z');
    client.run('UPDATE items SET qty = 51 WHERE id = 1');
    backdate(client, 'items', '{"id":1}', '2026-01-01T11:00:00.000Z');
    main.run("UPDATE items SET name = 'pear (main)' WHERE id = 2"); // newer than the client's
    backdate(main, 'items', '{"id":2}', '2026-01-01T12:00:00.000Z');
    client.run("UPDATE items SET name = 'pear (client)' WHERE id = 2");
    backdate(client, 'items', '{"id":2}', '2026-01-01T09:00:00.000Z');
    client.run('DELETE FROM items WHERE id = 3'); // a delete newer than main's update
    backdate(client, 'items', '{"id":3}', '2026-01-01T12:00:00.000Z');
    main.run('UPDATE items SET qty = 2 WHERE id = 3');
    backdate(main, 'items', '{"id":3}', '2026-01-01T08:00:00.000Z');
    main.run('DELETE FROM items WHERE id = 4'); // a delete older than the client's update
    backdate(main, 'items', '{"id":4}', '2026-01-01T08:00:00.000Z');
    client.run('UPDATE items SET qty = 10 WHERE id = 4');
    backdate(client, 'items', '{"id":4}', '2026-01-01T13:00:00.000Z');
    main.run("INSERT INTO items (id, name, qty) VALUES (5, 'kiwi', 1)");
    client.run("INSERT INTO items (id, name, qty) VALUES (6, 'lime', 2)");

    const toClient = await exportTo(project, main, 'm2.ndjson', '--to', 'client-1');
    const toMain = await exportTo(project, client, 'c2.ndjson');
    const intoClient = await importInto(project, client, toClient);
    const intoMain = await importInto(project, main, toMain);
    expect(intoClient.exitCode, intoClient.output).toBe(0);
    expect(intoMain.exitCode, intoMain.output).toBe(0);

    expect(rows(main)).toEqual(rows(client));
    expect(rows(main).items).toEqual([
      { id: 1, name: 'apple', qty: 51 },
      { id: 2, name: 'pear (main)', qty: 3 },
      { id: 4, name: 'fig', qty: 10 },
      { id: 5, name: 'kiwi', qty: 1 },
      { id: 6, name: 'lime', qty: 2 },
    ]);
    // Every decision where both sides had changed the row is in the audit, with the columns that differed.
    const audit = main.sql<{ pk_json: string; rule: string; winner: string; columns: string }>(
      "SELECT pk_json, rule, winner, columns FROM sync_audit WHERE rule <> 'schema_alter' ORDER BY pk_json",
    );
    expect(audit).toEqual([
      { pk_json: '{"id":1}', rule: 'lww', winner: 'incoming', columns: '["qty"]' },
      { pk_json: '{"id":2}', rule: 'lww', winner: 'existing', columns: '["name"]' },
      // The client's delete carries the row it deleted (qty 1): main's row differed in qty.
      { pk_json: '{"id":3}', rule: 'tombstone', winner: 'incoming', columns: '["qty"]' },
      { pk_json: '{"id":4}', rule: 'tombstone', winner: 'incoming', columns: '["id","name","qty"]' },
    ]);
    expect(intoMain.output).toMatch(
      /c2\.ndjson from client-1: \d+ transactions applied, 0 skipped, 0 failed; conflicts: .*lww/,
    );
    // No echo: what main applied from the client is not sent back to it.
    const back = await exportTo(project, main, 'm3.ndjson', '--to', 'client-1');
    const lines = fs.readFileSync(back, 'utf8').trim().split('\n').slice(1);
    expect(lines.filter((l) => l.includes('"source_node":"client-1"'))).toEqual([]);
    // The files the operator named are theirs: left where they are, nothing in the inbox.
    expect(fs.existsSync(toClient) && fs.existsSync(toMain)).toBe(true);
    expect(fs.existsSync(path.join(client.inbox, 'done'))).toBe(false);
  });

  test('the same file imported twice: nothing applied twice (rows, audit, sync_state unchanged)', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client');
    client.run("INSERT INTO items (id, name, qty) VALUES (1, 'apple', 5)");
    client.run('UPDATE items SET qty = qty + 1 WHERE id = 1');
    const file = await exportTo(project, client, 'c.ndjson');
    const copy = project.path('c-again.ndjson');
    fs.copyFileSync(file, copy);
    // The same changes in other bytes (a new header): every transaction is known already.
    const again2 = await exportTo(project, client, 'c-re-exported.ndjson', '--from-lsn', '0');
    expect((await importInto(project, main, file)).exitCode).toBe(0);
    const snapshot = () => ({
      items: rows(main).items,
      audit: main.sql('SELECT count(*) AS n FROM sync_audit'),
      state: main.sql('SELECT peer, last_lsn FROM sync_state'),
      log: main.sql('SELECT count(*) AS n FROM change_log'),
    });
    const once = snapshot();
    const again = await importInto(project, main, copy);
    expect(again.exitCode).toBe(0);
    expect(again.output).toMatch(
      /c-again\.ndjson: already imported \(the same bytes, as c\.ndjson at .*\); nothing to do/,
    );
    expect(snapshot()).toEqual(once);
    const reExported = await importInto(project, main, again2);
    expect(reExported.exitCode).toBe(0);
    expect(reExported.output).toMatch(/0 transactions applied, 2 skipped, 0 failed/);
    expect(snapshot()).toEqual(once);
    expect(once.items).toEqual([{ id: 1, name: 'apple', qty: 6 }]);
  });

  test("prefer_main: a client's newer change loses to main's older one; outside those tables the newer wins", async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client');
    main.run("INSERT INTO companies VALUES ('acme', 'Acme (main)')");
    backdate(main, 'companies', '{"code":"acme"}', '2026-01-01T08:00:00.000Z');
    main.run("INSERT INTO items (id, name) VALUES (1, 'main item')");
    backdate(main, 'items', '{"id":1}', '2026-01-01T08:00:00.000Z');
    client.run("INSERT INTO companies VALUES ('acme', 'Acme (client)')");
    backdate(client, 'companies', '{"code":"acme"}', '2026-01-01T12:00:00.000Z');
    client.run("INSERT INTO items (id, name) VALUES (1, 'client item')");
    backdate(client, 'items', '{"id":1}', '2026-01-01T12:00:00.000Z');
    const toClient = await exportTo(project, main, 'm.ndjson', '--to', 'client-1');
    const toMain = await exportTo(project, client, 'c.ndjson');
    await importInto(project, main, toMain);
    await importInto(project, client, toClient);
    for (const n of [main, client]) {
      expect(rows(n).companies).toEqual([{ code: 'acme', title: 'Acme (main)' }]);
      expect(rows(n).items).toEqual([{ id: 1, name: 'client item', qty: 0 }]);
    }
    expect(main.sql('SELECT rule, winner FROM sync_audit WHERE table_name = ?', 'companies')).toEqual([
      { rule: 'prefer_main', winner: 'existing' },
    ]);
  });

  test('a tampered file (one byte) and a broken header: refused whole with the reason, left where they are, nothing changed', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client');
    client.run("INSERT INTO items (id, name, qty) VALUES (1, 'apple', 5), (2, 'pear', 3)");
    const file = await exportTo(project, client, 'c.ndjson');
    const text = fs.readFileSync(file, 'utf8');
    const tampered = project.path('tampered.ndjson');
    fs.writeFileSync(tampered, text.replace('"qty\\":5', '"qty\\":6'));
    expect(fs.readFileSync(tampered, 'utf8')).not.toBe(text);
    const broken = project.path('broken.ndjson');
    fs.writeFileSync(
      broken,
      `{"__meta__": {"source_node": "client-1"}\n${text.split('\n').slice(1).join('\n')}`,
    );
    const before = main.sql('SELECT count(*) AS n FROM change_log');
    for (const [f, reason] of [
      [tampered, /does not match __meta__\.sha256/],
      [broken, /not JSON|__meta__\.\w+ is missing/],
    ] as const) {
      const r = await importInto(project, main, f);
      expect(r.exitCode).toBe(1);
      expect(r.output).toMatch(reason);
      expect(r.output).toMatch(/refused whole, nothing applied: .* \(the file is left where it is\)/);
      expect(fs.existsSync(f)).toBe(true);
    }
    expect(rows(main).items).toEqual([]);
    expect(main.sql('SELECT count(*) AS n FROM change_log')).toEqual(before);
    expect(main.sql('SELECT count(*) AS n FROM sync_state')).toEqual([{ n: 0 }]);
    // A file from this node itself.
    const own = await exportTo(project, main, 'own.ndjson', '--to', 'client-1');
    const r = await importInto(project, main, own);
    expect(r.exitCode).toBe(1);
    expect(r.output).toMatch(/comes from this node itself/);
  });

  test('a transaction that violates a constraint rolls back alone; the rest are applied', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client');
    main.run("INSERT INTO items (id, name) VALUES (1, 'apple')");
    // One declared transaction on the client: two rows, the first of which clashes with main's UNIQUE name.
    const d = new Database(client.db);
    d.transaction(() => {
      d.prepare("INSERT INTO sync_tx (id, tx_id) VALUES (1, 'tx-clash')").run();
      d.prepare("INSERT INTO items (id, name) VALUES (30, 'apple')").run();
      d.prepare("INSERT INTO items (id, name) VALUES (31, 'fig')").run();
      d.prepare('DELETE FROM sync_tx').run();
    })();
    d.prepare("INSERT INTO items (id, name) VALUES (40, 'kiwi')").run();
    d.prepare("INSERT INTO items (id, name) VALUES (41, 'lime')").run();
    d.close();
    expect(
      client.sql('SELECT DISTINCT tx_id FROM change_log WHERE pk_json IN (?, ?)', '{"id":30}', '{"id":31}'),
    ).toEqual([{ tx_id: 'tx-clash' }]);
    const r = await importInto(project, main, await exportTo(project, client, 'c.ndjson'));
    expect(r.exitCode).toBe(1);
    expect(r.output).toMatch(/2 transactions applied, 0 skipped, 1 failed/);
    expect(r.output).toMatch(
      /rolled back: tx-clash: I items \{"id":30\}: UNIQUE constraint failed: items\.name/,
    );
    expect(rows(main).items.map((i) => (i as { id: number }).id)).toEqual([1, 40, 41]);
  });

  test('an unknown column: refused by default; with allow_schema_alter the column is added NULLable and audited', async ({
    project,
  }) => {
    const strictMain = await node(project, 'main');
    const client = await node(project, 'client');
    new Database(client.db).exec(
      "ALTER TABLE items ADD COLUMN colour TEXT; INSERT INTO companies VALUES ('c', 'C')",
    );
    // The client's capture follows its new column after its next migrate (as at boot).
    expect((await project.run(['migrate', '--config', client.config])).exitCode).toBe(0);
    client.run("INSERT INTO items (id, name, colour) VALUES (7, 'plum', 'purple')");
    const file = await exportTo(project, client, 'c.ndjson', '--to', 'main-1');
    const copy = project.path('c2.ndjson');
    fs.copyFileSync(file, copy);
    const refused = await importInto(project, strictMain, file);
    expect(refused.exitCode).toBe(1);
    expect(refused.output).toMatch(/items has no column "colour" \(sync\.allow_schema_alter is off/);
    expect(strictMain.sql('SELECT code FROM companies')).toEqual([{ code: 'c' }]); // the other transaction went in
    // The same main, now allowing it.
    const yml = project.path('main/bootseq.yml');
    fs.writeFileSync(
      yml,
      fs.readFileSync(yml, 'utf8').replace('inbox: inbox }', 'inbox: inbox, allow_schema_alter: true }'),
    );
    const allowed = await importInto(project, strictMain, copy);
    expect(allowed.exitCode, allowed.output).toBe(0);
    expect(strictMain.sql('SELECT id, name, colour FROM items')).toEqual([
      { id: 7, name: 'plum', colour: 'purple' },
    ]);
    expect(
      strictMain.sql("SELECT \"notnull\" AS nn, type FROM pragma_table_info('items') WHERE name = 'colour'"),
    ).toEqual([{ nn: 0, type: 'TEXT' }]);
    expect(strictMain.sql("SELECT rule, detail FROM sync_audit WHERE rule = 'schema_alter'")).toEqual([
      { rule: 'schema_alter', detail: 'ALTER TABLE items ADD COLUMN colour TEXT (NULLable)' },
    ]);
  });
  test('an ALTER made by a transaction that then rolls back is undone with it; the next transaction adds the column again', async ({
    project,
  }) => {
    const main = await node(project, 'main', ', allow_schema_alter: true');
    const client = await node(project, 'client');
    main.run("INSERT INTO items (id, name) VALUES (1, 'apple')");
    new Database(client.db).exec('ALTER TABLE items ADD COLUMN colour TEXT');
    expect((await project.run(['migrate', '--config', client.config])).exitCode).toBe(0);
    const d = new Database(client.db);
    d.transaction(() => {
      d.prepare("INSERT INTO sync_tx (id, tx_id) VALUES (1, 'tx-clash')").run();
      d.prepare("INSERT INTO items (id, name, colour) VALUES (30, 'apple', 'red')").run();
      d.prepare('DELETE FROM sync_tx').run();
    })();
    d.prepare("INSERT INTO items (id, name, colour) VALUES (40, 'kiwi', 'green')").run();
    d.close();
    const r = await importInto(project, main, await exportTo(project, client, 'c.ndjson'));
    expect(r.output).toMatch(/1 transaction applied, 0 skipped, 1 failed/);
    expect(main.sql('SELECT id, name, colour FROM items ORDER BY id')).toEqual([
      { id: 1, name: 'apple', colour: null },
      { id: 40, name: 'kiwi', colour: 'green' },
    ]);
    // One ALTER survived: the rolled-back one left no audit row.
    expect(main.sql("SELECT count(*) AS n FROM sync_audit WHERE rule = 'schema_alter'")).toEqual([{ n: 1 }]);
  });

  test('a file brought on another file system (tmpfs) is applied and left where it is', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client');
    client.run("INSERT INTO items (id, name) VALUES (1, 'apple')");
    const file = await exportTo(project, client, 'c.ndjson');
    const shm = fs.mkdtempSync('/dev/shm/bootseq-test-');
    try {
      const stick = path.join(shm, 'from-shop.ndjson');
      fs.copyFileSync(file, stick);
      const r = await importInto(project, main, stick);
      expect(r.exitCode, r.output + r.stderr).toBe(0);
      expect(fs.existsSync(stick)).toBe(true);
      expect(fs.existsSync(path.join(main.inbox, 'done'))).toBe(false);
      expect(rows(main).items).toEqual([{ id: 1, name: 'apple', qty: 0 }]);
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
  });
});

describe("sync commands: the user's files and the log's end", () => {
  test('export --from-lsn beyond the end of the log: exit 2, nothing written or recorded; later exports still send everything', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    main.run("INSERT INTO items (id, name) VALUES (1, 'apple'), (2, 'pear')");
    const r = await project.run([
      'sync',
      'export',
      'app',
      '--config',
      main.config,
      '--to',
      'client-1',
      '--from-lsn',
      '52',
      '--out',
      'x.ndjson',
    ]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /--from-lsn 52 is beyond the end of the change log \(its last LSN is 2\): nothing was written or recorded/,
    );
    expect(fs.existsSync(project.path('x.ndjson'))).toBe(false);
    expect(main.sql('SELECT count(*) AS n FROM sync_state')).toEqual([{ n: 0 }]);
    await exportTo(project, main, 'y.ndjson', '--to', 'client-1');
    expect(fs.readFileSync(project.path('y.ndjson'), 'utf8')).toMatch(/"count":2/);
  });

  test('two processes importing one file at once: every transaction applied once, neither crashes, the file stays', async ({
    project,
  }) => {
    const main = await node(project, 'main');
    const client = await node(project, 'client', ', batch_size: 5');
    const d = new Database(main.db);
    const insert = d.prepare('INSERT INTO items (id, name, qty) VALUES (?, ?, ?)');
    d.transaction(() => {
      for (let i = 1; i <= 20_000; i += 1) insert.run(i, `item ${i}`, i);
    })();
    d.close();
    const file = await exportTo(project, main, 'm.ndjson', '--to', 'client-1');
    const [a, b] = await Promise.all([importInto(project, client, file), importInto(project, client, file)]);
    expect([a.exitCode, b.exitCode], a.output + b.output).toEqual([0, 0]);
    const applied = [a, b].map((r) => Number(/(\d+) transactions? applied/.exec(r.output)?.[1] ?? 0));
    const skipped = [a, b].map((r) => Number(/(\d+) skipped/.exec(r.output)?.[1] ?? 0));
    // Each transaction was applied by exactly one of them (one may have found the file known already).
    expect(applied[0]! + applied[1]!).toBe(20_000);
    if (!/already imported/.test(a.output + b.output)) expect(skipped[0]! + skipped[1]!).toBe(20_000);
    expect(client.sql('SELECT count(*) AS n FROM items')).toEqual([{ n: 20_000 }]);
    expect(client.sql('SELECT count(*) AS n FROM sync_applied')).toEqual([{ n: 20_000 }]);
    expect(fs.existsSync(file)).toBe(true);
  });
});

describe('sync at boot', () => {
  test('a change file in the inbox is applied before verify, and the replica has the merged rows after shutdown', async ({
    project,
  }) => {
    // A main node with the demo's notes table; the demo itself is the client.
    fs.mkdirSync(project.path('main'), { recursive: true });
    fs.writeFileSync(
      project.path('main/litestream.yml'),
      'dbs:\n  - path: primary.sqlite3\n    replicas:\n      - path: replica\n',
    );
    fs.writeFileSync(
      project.path('main/bootseq.yml'),
      'version: 1\nlitestream: { config: litestream.yml }\nstores:\n  primary:\n    sqlite: primary.sqlite3\n    migrate: { dir: ../examples/demo/db/primary, history: sqlx }\n    sync: { node: hq, role: main, tables: [notes] }\n',
    );
    expect((await project.run(['migrate', '--config', 'main/bootseq.yml'])).exitCode).toBe(0);
    const hq = new Database(project.path('main/primary.sqlite3'));
    const insert = hq.prepare('INSERT INTO notes (body) VALUES (?)');
    for (let i = 0; i < 25; i += 1) insert.run(`from hq ${i}`);
    hq.close();
    demoAsSyncClient(project);
    const exported = await project.run([
      'sync',
      'export',
      'primary',
      '--config',
      'main/bootseq.yml',
      '--to',
      'shop-1',
      '--out',
      '.demo/inbox/hq-1.ndjson',
    ]);
    expect(exported.exitCode, exported.output).toBe(0);

    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    const order = boot.lines
      .map((l) => /\[(sync:primary|verify:primary)\] (ok|started)/.exec(l)?.[0])
      .filter(Boolean);
    expect(order.indexOf('[sync:primary] ok')).toBeLessThan(order.indexOf('[verify:primary] started'));
    expect(boot.lines.join('\n')).toMatch(
      /\[sync:primary\] hq-1\.ndjson from hq: 25 transactions applied, 0 skipped, 0 failed/,
    );
    // The app writes too, then the container stops.
    const res = await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: 'local' });
    expect(res.status).toBe(201);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
    const copy = restoreCopy(project.dir, '.demo/storage/primary.sqlite3', project.path('restored.sqlite3'));
    expect(countRows(copy, 'notes')).toBe(26);
    expect(fs.readdirSync(project.path('.demo/inbox/done'))).toEqual(['hq-1.ndjson']);
    const report = project.report() as unknown as { tasks: { id: string; sync?: { totals: unknown } }[] };
    expect(report.tasks.find((t) => t.id === 'sync:primary')?.sync?.totals).toEqual({
      applied: 25,
      skipped: 0,
      failed: 0,
      conflicts: {},
    });
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('a refused file in the inbox stops the boot before verify, naming the file and the way out', async ({
    project,
  }) => {
    const yml = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
    project.write({
      'bootseq.yml': yml.replace(
        '    migrate: { dir: examples/demo/db/primary, history: sqlx }',
        '    migrate: { dir: examples/demo/db/primary, history: sqlx }\n    sync: { node: shop-1, role: client, tables: [notes], inbox: .demo/inbox }',
      ),
      '.demo/inbox/bad.ndjson': '{"__meta__": {"source_node": "hq"}}\n',
    });
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /Error: sync:primary failed: bad\.ndjson was refused whole \(__meta__\.format is undefined \(expected "bootseq-changes\/2"\)\)/,
    );
    expect(result.stderr).toMatch(/Try: it is now \.demo\/inbox\/rejected\/bad\.ndjson/);
    expect(result.output).not.toMatch(/\[verify:primary\] started/);
    expect(result.output).not.toMatch(/\[start:web\] started/);
  });
});

/** A main's change file of `n` new notes, ten to a transaction, for shop-1 (hash and count computed). */
function notesFile(file: string, n: number): void {
  const base = Date.UTC(2026, 0, 1);
  const line = (i: number) =>
    `${JSON.stringify({ lsn: i + 1, tx_id: `tx-${Math.floor(i / 10)}`, table_name: 'notes', pk_json: `{"id":${i + 1000}}`, op: 'I', payload: JSON.stringify({ id: i + 1000, body: `synth ${i}`, created_at: '2026-01-01T00:00:00.000Z' }), tombstone: 0, created_at: '2026-01-01T00:00:00.000Z', source_node: 'hq', hlc_ms: base + i, hlc_counter: 0 })}\n`;
  const parts: string[] = [];
  for (let i = 0; i < n; i += 1) parts.push(line(i));
  const body = parts.join('');
  const meta = {
    format: 'bootseq-changes/2',
    source_node: 'hq',
    source_role: 'main',
    client_id: 'shop-1',
    to: 'shop-1',
    from_lsn: 0,
    to_lsn: n,
    count: n,
    created_at: '2026-01-01T00:00:00.000Z',
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  fs.writeFileSync(file, `${JSON.stringify({ __meta__: meta })}\n${body}`);
}

describe('sync at boot stays responsive (issue 28 item 5)', () => {
  test('a long inbox import answers /livez, reports progress, and stops within a second of SIGTERM with exit 143 (up, then up --until verify); the next boot finishes it', async ({
    project,
  }) => {
    demoAsSyncClient(project);
    const N = 300_000;
    notesFile(project.path('.demo/inbox/hq-big.ndjson'), N);
    const synced = () => {
      const db = new Database(project.path('.demo/storage/primary.sqlite3'));
      try {
        return (
          db.prepare("SELECT count(*) AS n FROM notes WHERE body LIKE 'synth %'").get() as { n: number }
        ).n;
      } finally {
        db.close();
      }
    };
    const interrupted = async (args: string[], livez: boolean) => {
      const boot = project.start(args);
      const health = livez
        ? /health on (http:\/\/[\d.]+:\d+)/.exec(await boot.waitForLine(/health on http/))![1]!
        : '';
      await boot.waitForLine(/\[sync:primary\] hq-big\.ndjson: [\d,]+ of 300,000 changes applied/);
      if (livez) {
        // The event loop is free: /livez answers while the import runs.
        const asked = Date.now();
        expect((await fetch(`${health}/livez`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
        expect(Date.now() - asked).toBeLessThan(1000);
      }
      const signalled = Date.now();
      boot.child.kill('SIGTERM');
      const stopped = await boot.done;
      expect(stopped.exitCode, stopped.output.slice(-2000)).toBe(143);
      expect(Date.now() - signalled).toBeLessThan(4000);
      expect(stopped.output).not.toMatch(/\[verify:primary\] started/);
      // Whole transactions only, and the file waits in the inbox for the next boot.
      expect(synced() % 10).toBe(0);
      expect(fs.existsSync(project.path('.demo/inbox/hq-big.ndjson'))).toBe(true);
    };
    await interrupted(['up', '--log-format', 'plain'], true);
    const first = synced();
    expect(first).toBeLessThan(N);
    await interrupted(['up', '--until', 'verify', '--log-format', 'plain'], false);
    const partial = synced();
    expect(partial).toBeLessThan(N);
    const again = await project.run(['up', '--until', 'verify', '--log-format', 'plain']);
    expect(again.exitCode, again.output.slice(-2000)).toBe(0);
    expect(again.output).toMatch(
      new RegExp(`${(N - partial) / 10} transactions applied, ${partial / 10} skipped, 0 failed`),
    );
    expect(synced()).toBe(N);
    expect(fs.readdirSync(project.path('.demo/inbox/done'))).toEqual(['hq-big.ndjson']);
  });
});
