// Change-log import (issue 15, seeds/004's own benchmark): 10,000 changes (1,000 transactions of 10
// rows: 5 updates, 5 inserts, exported by a real main node) imported by `bootseq sync import` into a
// client database of 100,000 rows it got from main by an earlier sync, with batch sizes 1, 100 (the default), 500 and 2,000 (IMPORT_BATCH_SIZE), alternating,
// each on a fresh copy of the client. Wall clock of the whole command, Node's start included.
// Targets: the default ≤ 1 s; the default ≥ 10× faster than batch size 1.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { CLI as BUILT_CLI, REPO, median, tempDir, timed } from './lib.mjs';

// BENCH_CLI=/path/to/dist/entrypoint/cli.js measures another build (the figures before a change).
const CLI = process.env.BENCH_CLI ?? BUILT_CLI;

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

/**
 * A change file from node bench-main (format 2; a format-1 reader ignores the clock fields), written
 * twice over (once for the header's hash, once for real) so that no file is ever held in memory.
 * `txSize` rows per transaction (Infinity: one transaction), `pad` characters of note per row, `bad`:
 * a column the table lacks (every transaction fails).
 */
export function synthFile(file, { n, txSize = 1, pad = 0, bad = false, firstId = 1 }) {
  const note = 'x'.repeat(pad);
  const base = Date.UTC(2026, 0, 1);
  const line = (i) => {
    const id = firstId + i;
    const row = { id, name: `synth ${id}`, qty: i % 100, note };
    if (bad) row.colour = 'red';
    return `${JSON.stringify({ lsn: i + 1, tx_id: txSize === Infinity ? 'one-tx' : `tx-${Math.floor(i / txSize)}`, table_name: 'items', pk_json: `{"id":${id}}`, op: 'I', payload: JSON.stringify(row), tombstone: 0, created_at: '2026-01-01T00:00:00.000Z', source_node: 'bench-main', hlc_ms: base + i, hlc_counter: 0 })}\n`;
  };
  const chunks = function* () {
    let chunk = '';
    for (let i = 0; i < n; i += 1) {
      chunk += line(i);
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  };
  const hash = createHash('sha256');
  for (const c of chunks()) hash.update(c);
  const meta = {
    format: 'bootseq-changes/2',
    source_node: 'bench-main',
    source_role: 'main',
    client_id: 'bench-client',
    to: 'bench-client',
    from_lsn: 0,
    to_lsn: n,
    count: n,
    created_at: '2026-01-01T00:00:00.000Z',
    sha256: hash.digest('hex'),
  };
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, `${JSON.stringify({ __meta__: meta })}\n`);
  for (const c of chunks()) fs.writeSync(fd, c);
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

/** A command under /usr/bin/time: wall ms, peak RSS in MB, the engine's own ms from its line, stdout. */
function measured(args, cwd, env = {}) {
  const started = performance.now();
  const run = spawnSync('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const wall = performance.now() - started;
  const rss = Number(/maxrss=(\d+)/.exec(run.stderr)?.[1]) / 1024;
  const engine = Number(/changes? in (\d+) ms/.exec(run.stdout)?.[1]);
  return { wall, rss, engine, status: run.status, out: `${run.stdout}${run.stderr}`.slice(-600) };
}

/** Issue 28 item 4: 100k changes, 100k failing, one transaction of 1M rows, a 1 GB file (BENCH_SYNC_BIG=1), export. */
export async function benchSyncScale() {
  const root = tempDir('sync-scale');
  const results = [];
  try {
    const client = path.join(root, 'client');
    nodeConfig(client, 'client', 'bench-client');
    const db = path.join(client, 'app.sqlite3');
    const pristine = path.join(root, 'pristine.sqlite3');
    fs.copyFileSync(db, pristine);
    const fresh = () => {
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${db}${suffix}`, { force: true });
      fs.copyFileSync(pristine, db);
    };
    const importOf = (file, env) => {
      fresh();
      return measured(['sync', 'import', 'app', file], client, env);
    };
    const good = path.join(root, 'good.ndjson');
    synthFile(good, { n: 100_000 });
    const bad = path.join(root, 'bad.ndjson');
    synthFile(bad, { n: 100_000, bad: true });
    const g = [];
    const b = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      g.push(importOf(good));
      b.push(importOf(bad));
    }
    if (g[0].status !== 0) throw new Error(`import of 100k exited ${g[0].status}: ${g[0].out}`);
    const gw = median(g.map((r) => r.wall));
    const grss = Math.max(...g.map((r) => r.rss));
    results.push({
      name: 'import 100,000 changes (100,000 one-row transactions) into an empty client, whole command',
      figures: `${gw.toFixed(0)} ms (import itself ${median(g.map((r) => r.engine)).toFixed(0)} ms), peak RSS ${grss.toFixed(0)} MB; ${ROUNDS} rounds, medians`,
      ratio: gw / 2000,
      target: '≤ 2 s and ≤ 150 MB',
      met: gw <= 2000 && grss <= 150,
    });
    const bw = median(b.map((r) => r.wall));
    results.push({
      name: '100,000 failing transactions (a column the table lacks) against 100,000 good ones',
      figures: `${bw.toFixed(0)} ms / ${gw.toFixed(0)} ms, peak RSS ${Math.max(...b.map((r) => r.rss)).toFixed(0)} MB, output ${b[0].out.length >= 600 ? '≥ 600' : b[0].out.length} characters: ${JSON.stringify(b[0].out.split('\n')[0].slice(0, 160))}`,
      ratio: bw / gw,
      target: '≤ 2×',
      met: bw <= 2 * gw,
    });
    const huge = path.join(root, 'one-tx.ndjson');
    synthFile(huge, { n: 1_000_000, txSize: Infinity });
    const h = importOf(huge);
    results.push({
      name: 'one transaction of 1,000,000 rows (a sync_tx declaration left open)',
      figures: `exit ${h.status}, ${h.wall.toFixed(0)} ms, peak RSS ${h.rss.toFixed(0)} MB${h.status === 0 ? '' : `: ${JSON.stringify(h.out.slice(-200))}`}`,
      ratio: h.rss / 300,
      target: 'applied, ≤ 300 MB',
      met: h.status === 0 && h.rss <= 300,
    });
    fs.rmSync(huge);
    if (process.env.BENCH_SYNC_BIG) {
      const big = path.join(root, 'big.ndjson');
      const size = synthFile(big, { n: 2_300_000, pad: 330 });
      const r = importOf(big);
      results.push({
        name: `a ${(size / 1e9).toFixed(2)} GB file (2,300,000 changes of ≈ 450 bytes)`,
        figures: `exit ${r.status}, ${(r.wall / 1000).toFixed(1)} s, peak RSS ${r.rss.toFixed(0)} MB${r.status === 0 ? '' : `: ${JSON.stringify(r.out.slice(-200))}`}`,
        ratio: r.rss / 300,
        target: 'applied, ≤ 300 MB',
        met: r.status === 0 && r.rss <= 300,
      });
      fs.rmSync(big);
    }
    // Export: the client's 100,000 rows made locally, exported (bounded by streaming, not by the log's size).
    fresh();
    {
      const d = new Database(db);
      const insert = d.prepare('INSERT INTO items (id, name, qty, note) VALUES (?, ?, ?, ?)');
      d.transaction(() => {
        for (let i = 1; i <= 100_000; i += 1) insert.run(i, `item ${i}`, i % 100, 'local');
      })();
      d.close();
    }
    const e = measured(['sync', 'export', 'app', '--out', path.join(root, 'export.ndjson')], client);
    results.push({
      name: 'export 100,000 changes to a file, whole command',
      figures: `exit ${e.status}, ${e.wall.toFixed(0)} ms, peak RSS ${e.rss.toFixed(0)} MB`,
      ratio: e.rss / 150,
      target: '≤ 150 MB',
      met: e.status === 0 && e.rss <= 150,
    });
    return results;
  } finally {
    if (!process.env.BENCH_KEEP) fs.rmSync(root, { recursive: true, force: true });
  }
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
