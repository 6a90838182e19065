// Change-log import (issue 15, seeds/004's own benchmark): 10,000 changes (1,000 transactions of 10
// rows: 5 updates, 5 inserts, exported by a real main node) imported by `bootseq sync import` into a
// client database of 100,000 rows it got from main by an earlier sync, with batch sizes 1, 100 (the default), 500 and 2,000 (IMPORT_BATCH_SIZE), alternating,
// each on a fresh copy of the client. Wall clock of the whole command, Node's start included.
// Targets: the default ≤ 1 s; the default ≥ 10× faster than batch size 1.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, REPO, median, tempDir, timed } from './lib.mjs';

const require = createRequire(path.join(REPO, 'package.json'));
const Database = require('better-sqlite3');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZES = [1, 100, 500, 2000];
const SCHEMA =
  'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, note TEXT);\n';

function nodeConfig(dir, role, node) {
  fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'db', '001_items.sql'), SCHEMA);
  fs.writeFileSync(
    path.join(dir, 'litestream.yml'),
    'dbs:\n  - path: app.sqlite3\n    replicas:\n      - path: replica\n',
  );
  fs.writeFileSync(
    path.join(dir, 'bootseq.yml'),
    `version: 1\nlitestream: { config: litestream.yml }\nstores:\n  app:\n    sqlite: app.sqlite3\n    migrate: { dir: db, history: bootseq }\n    sync: { node: ${node}, role: ${role}, tables: [items], inbox: inbox }\n`,
  );
  timed(process.execPath, [CLI, 'migrate', '--log-format', 'plain'], { cwd: dir });
}

export async function benchSync() {
  const root = tempDir('sync');
  try {
    const main = path.join(root, 'main');
    const client = path.join(root, 'client');
    nodeConfig(main, 'main', 'bench-main');
    nodeConfig(client, 'client', 'bench-client');
    // 100,000 rows made on main and synced to the client (its steady state: the versions are main's).
    {
      const db = new Database(path.join(main, 'app.sqlite3'));
      const insert = db.prepare('INSERT INTO items (id, name, qty, note) VALUES (?, ?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 100_000; i += 1) insert.run(i, `item ${i}`, i % 100, 'first sync');
      })();
      db.close();
      const first = path.join(root, 'first.ndjson');
      timed(process.execPath, [CLI, 'sync', 'export', 'app', '--to', 'bench-client', '--out', first], {
        cwd: main,
      });
      timed(process.execPath, [CLI, 'sync', 'import', 'app', first], { cwd: client });
    }
    // Then on main: 1,000 transactions of 10 rows (5 updates of synced rows, 5 new rows).
    {
      const db = new Database(path.join(main, 'app.sqlite3'));
      const insert = db.prepare(
        'INSERT INTO items (id, name, qty, note) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, note = excluded.note',
      );
      const declare = db.prepare('INSERT INTO sync_tx (id, tx_id) VALUES (1, ?)');
      const clear = db.prepare('DELETE FROM sync_tx');
      for (let t = 0; t < 1000; t += 1) {
        db.transaction(() => {
          declare.run(`tx-${t}`);
          for (let r = 0; r < 5; r += 1) insert.run(t * 5 + r + 1, `item ${t * 5 + r + 1}`, 7, 'from main');
          for (let r = 0; r < 5; r += 1) insert.run(200_000 + t * 5 + r, `new ${t}-${r}`, 1, 'from main');
          clear.run();
        })();
      }
      db.close();
    }
    const file = path.join(root, 'changes.ndjson');
    timed(process.execPath, [CLI, 'sync', 'export', 'app', '--to', 'bench-client', '--out', file], {
      cwd: main,
    });
    const pristine = path.join(root, 'client.pristine.sqlite3');
    {
      const db = new Database(path.join(client, 'app.sqlite3'));
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    }
    fs.copyFileSync(path.join(client, 'app.sqlite3'), pristine);
    const times = Object.fromEntries(SIZES.map((s) => [s, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const size of round % 2 ? [...SIZES].reverse() : SIZES) {
        for (const suffix of ['', '-wal', '-shm'])
          fs.rmSync(path.join(client, `app.sqlite3${suffix}`), { force: true });
        fs.copyFileSync(pristine, path.join(client, 'app.sqlite3'));
        const copy = path.join(root, `changes-${size}-${round}.ndjson`);
        fs.copyFileSync(file, copy);
        const started = performance.now();
        const run = spawnSync(process.execPath, [CLI, 'sync', 'import', 'app', copy], {
          cwd: client,
          env: { ...process.env, IMPORT_BATCH_SIZE: String(size) },
          encoding: 'utf8',
        });
        const wall = performance.now() - started;
        if (run.status !== 0) throw new Error(`import exited ${run.status}: ${run.stdout}${run.stderr}`);
        const engine = Number(/\(10000 changes in (\d+) ms\)/.exec(run.stdout)?.[1]);
        if (!Number.isFinite(engine)) throw new Error(`no timing in: ${run.stdout}`);
        times[size].push({ wall, engine });
        const db = new Database(path.join(client, 'app.sqlite3'));
        const n = db.prepare("SELECT count(*) AS n FROM items WHERE note = 'from main'").get().n;
        db.close();
        if (n !== 10_000) throw new Error(`batch ${size}: ${n} rows from main, expected 10000`);
      }
    }
    const med = (size, key) => median(times[size].map((t) => t[key]));
    const figures = SIZES.map(
      (s) => `batch ${s}: ${med(s, 'engine').toFixed(0)} ms (${med(s, 'wall').toFixed(0)} ms whole command)`,
    ).join(', ');
    return [
      {
        name: 'import 10,000 changes (1,000 transactions) into 100,000 rows, default batch size 100, whole command',
        figures: `${figures}; ${ROUNDS} rounds, medians`,
        ratio: med(100, 'wall') / 1000,
        target: '≤ 1 s',
        met: med(100, 'wall') <= 1000,
      },
      {
        name: 'the import itself (as the command reports it: check, apply, commits), default batch size against batch size 1',
        figures: `${med(1, 'engine').toFixed(0)} ms / ${med(100, 'engine').toFixed(0)} ms = ${(med(1, 'engine') / med(100, 'engine')).toFixed(1)}× faster (whole command: ${(med(1, 'wall') / med(100, 'wall')).toFixed(1)}×, Node's start and the config in both)`,
        ratio: med(100, 'engine') / med(1, 'engine'),
        target: '≥ 10× faster',
        met: med(1, 'engine') / med(100, 'engine') >= 10,
      },
    ];
  } finally {
    if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
    else console.log(`kept ${root}`);
  }
}
