// `node bench/fake-rails-migrate.mjs STORE`: a migrate command that costs what `bin/rails db:migrate`
// costs a small Rails app (issue 18): it burns BENCH_MIGRATE_CPU_MS of CPU (default 1000, Node's own
// start included, as Rails' boot is), then applies the demo's SQL files for STORE
// (examples/demo/db/STORE) under a history table of its own, idempotently, in WAL mode (Litestream needs
// it; bootseq's verify checks it). The database is BOOTSEQ_DATABASE (bootseq sets it), else
// .demo/storage/STORE.sqlite3. With BENCH_MIGRATE_LOG set it appends one JSON line per run (store, start
// and end in epoch ms, CPU ms) so a benchmark can read every entrypoint's per-task times the same way.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';

const store = process.argv[2] ?? process.env.BOOTSEQ_STORE;
if (!store) throw new Error('usage: fake-rails-migrate.mjs STORE');
const database = process.env.BOOTSEQ_DATABASE ?? `.demo/storage/${store}.sqlite3`;
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

// "Booting Rails": CPU, not sleep, so that four of them on two cores take twice as long as on four.
const budget = Number(process.env.BENCH_MIGRATE_CPU_MS ?? 1000);
let x = 0;
while (cpuMs() < budget) for (let i = 0; i < 100_000; i += 1) x = (x * 31 + i) % 1_000_003;

fs.mkdirSync(path.dirname(database), { recursive: true }); // as Rails' sqlite3 adapter does
const db = new Database(database);
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE IF NOT EXISTS fake_rails_migrations (name TEXT PRIMARY KEY)');
const applied = db.prepare('SELECT 1 FROM fake_rails_migrations WHERE name = ?');
const record = db.prepare('INSERT INTO fake_rails_migrations (name) VALUES (?)');
const dir = path.join('examples/demo/db', store);
let count = 0;
for (const name of fs
  .readdirSync(dir)
  .filter((n) => n.endsWith('.sql'))
  .sort()) {
  if (applied.get(name)) continue;
  const sql = fs.readFileSync(path.join(dir, name), 'utf8');
  db.transaction(() => {
    db.exec(sql);
    record.run(name);
  })();
  count += 1;
}
db.close();
console.log(`${store}: ${count} applied`);

if (process.env.BENCH_MIGRATE_LOG)
  fs.appendFileSync(
    process.env.BENCH_MIGRATE_LOG,
    `${JSON.stringify({ store, started_at_ms: performance.timeOrigin, ended_at_ms: Date.now(), cpu_ms: cpuMs() })}\n`,
  );
