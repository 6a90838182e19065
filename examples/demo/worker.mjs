// The demo's worker: takes jobs from the queue store and writes what they produce to the cache and
// cable stores. Prints "worker started" once its databases are open (its readiness line).
import path from 'node:path';
import Database from 'better-sqlite3';

const storage = process.env.DEMO_STORAGE ?? '.demo/storage';
const open = (name) => {
  const db = new Database(path.join(storage, `${name}.sqlite3`), { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
};
const queue = open('queue');
const cache = open('cache');
const cable = open('cable');
const nextJobs = queue.prepare(
  'SELECT id, kind, payload FROM jobs WHERE finished_at IS NULL ORDER BY id LIMIT 50',
);
const finish = queue.prepare(
  "UPDATE jobs SET finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
);
const putCache = cache.prepare(
  "INSERT INTO cache_entries (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
);
const broadcast = cable.prepare('INSERT INTO cable_messages (channel, payload) VALUES (?, ?)');

let stopping = false;
function work() {
  if (stopping) return;
  for (const job of nextJobs.all()) {
    const note = JSON.parse(job.payload);
    putCache.run(`note:${note.id}`, job.payload);
    broadcast.run('notes', job.payload);
    finish.run(job.id);
  }
  setTimeout(work, 100);
}
console.log('worker started');
work();

const stop = (signal) => {
  stopping = true;
  console.log(`worker: ${signal}, stopping`);
  for (const db of [queue, cache, cable]) db.close();
  process.exit(0);
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
