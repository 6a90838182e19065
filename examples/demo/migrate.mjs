// The demo's migration command, as an app's own migrator would be (bin/rails db:migrate:queue…):
// bootseq runs it once per store with BOOTSEQ_STORE and BOOTSEQ_DATABASE set. Applies
// examples/demo/db/<store>/NNN_*.sql in order, each in its own transaction, tracking progress in
// PRAGMA user_version. Creates the database in WAL mode, as Litestream needs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const store = process.env.BOOTSEQ_STORE;
const file = process.env.BOOTSEQ_DATABASE;
if (!store || !file) {
  console.error('migrate.mjs: BOOTSEQ_STORE and BOOTSEQ_DATABASE must be set (bootseq sets them)');
  process.exit(2);
}
const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'db', store);
const migrations = fs
  .readdirSync(dir)
  .filter((n) => /^\d+_.*\.sql$/.test(n))
  .sort();

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const current = db.pragma('user_version', { simple: true });
let applied = 0;
for (const name of migrations) {
  const version = Number.parseInt(name, 10);
  if (version <= current) continue;
  const sql = fs.readFileSync(path.join(dir, name), 'utf8');
  db.transaction(() => {
    db.exec(sql);
    db.pragma(`user_version = ${version}`);
  })();
  console.log(`applied ${name}`);
  applied += 1;
}
console.log(`${store}: ${applied} applied, schema version ${db.pragma('user_version', { simple: true })}`);
db.close();
