// Benchmark: 500 small migrations with bootseq's built-in migrator against the baselines it replaces,
// measured alternately in the same run. SQLite: `sqlite3 db < all.sql` (one process, no history).
// PostgreSQL: `psql -1 -f FILE` once per file (the reset script's way in docs/incidents.md (seeds/000)).
// Targets: ≤ 1.3× the sqlite3 concatenation; ≥ 5× faster than the psql loop.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { CLI, fmt, median, postgres, tempDir, timed } from './lib.mjs';

const COUNT = Number(process.env.BENCH_MIGRATIONS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function migrationSql(i) {
  return `CREATE TABLE t_${i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT);\nINSERT INTO t_${i} (id, name) VALUES (1, 'row ${i}');\n`;
}

function writeMigrations(dir) {
  fs.mkdirSync(path.join(dir, 'db/migrations'), { recursive: true });
  const all = [];
  for (let i = 1; i <= COUNT; i += 1) {
    const sql = migrationSql(i);
    fs.writeFileSync(path.join(dir, 'db/migrations', `${String(i).padStart(4, '0')}_step_${i}.sql`), sql);
    all.push(sql);
  }
  fs.writeFileSync(path.join(dir, 'all.sql'), all.join(''));
}

export async function benchMigrate() {
  const results = [];
  // SQLite
  {
    const dir = tempDir('migrate-sqlite');
    try {
      writeMigrations(dir);
      fs.writeFileSync(
        path.join(dir, 'litestream.yml'),
        'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - type: file\n        path: replica/app\n',
      );
      fs.writeFileSync(
        path.join(dir, 'bootseq.yml'),
        'version: 1\nlitestream: { config: litestream.yml }\nstores:\n  app:\n    sqlite: data/app.sqlite3\n    migrate: { dir: db/migrations, history: sqlx }\n',
      );
      const ours = [];
      const theirs = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
        fs.mkdirSync(path.join(dir, 'data'));
        ours.push(timed('node', [CLI, 'migrate', '--log-format', 'json'], { cwd: dir }));
        fs.rmSync(path.join(dir, 'plain.sqlite3'), { force: true });
        theirs.push(
          timed(
            'sh',
            [
              '-c',
              'sqlite3 plain.sqlite3 "PRAGMA journal_mode=WAL;" >/dev/null && sqlite3 plain.sqlite3 < all.sql',
            ],
            { cwd: dir },
          ),
        );
      }
      const a = median(ours);
      const b = median(theirs);
      results.push({
        name: `${COUNT} migrations, SQLite: bootseq migrate (sqlx history) vs sqlite3 db < all.sql`,
        figures: `bootseq ${fmt(a)} vs sqlite3 ${fmt(b)} (medians of ${ROUNDS}, alternating)`,
        ratio: a / b,
        target: 'ratio ≤ 1.3',
        met: a / b <= 1.3,
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  // PostgreSQL
  const server = await postgres();
  const dir = tempDir('migrate-pg');
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    writeMigrations(dir);
    fs.writeFileSync(
      path.join(dir, 'bootseq.yml'),
      'version: 1\nstores:\n  app:\n    postgres: ${BENCH_DATABASE_URL}\n    migrate: { dir: db/migrations, history: sqlx }\n',
    );
    const ours = [];
    const theirs = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const db of ['bench_ours', 'bench_theirs']) {
        await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${db}`);
      }
      const url = (db) => {
        const u = new URL(server.url);
        u.pathname = `/${db}`;
        return u.toString();
      };
      ours.push(
        timed('node', [CLI, 'migrate', '--log-format', 'json'], {
          cwd: dir,
          env: { ...process.env, BENCH_DATABASE_URL: url('bench_ours') },
        }),
      );
      const loop = `for f in db/migrations/*.sql; do psql -q -X -v ON_ERROR_STOP=1 -1 -f "$f" "$URL" >/dev/null || exit 1; done`;
      theirs.push(timed('sh', ['-c', loop], { cwd: dir, env: { ...process.env, URL: url('bench_theirs') } }));
    }
    const a = median(ours);
    const b = median(theirs);
    results.push({
      name: `${COUNT} migrations, PostgreSQL: bootseq migrate (sqlx history) vs psql -1 -f per file`,
      figures: `bootseq ${fmt(a)} vs psql loop ${fmt(b)} (medians of ${ROUNDS}, alternating)`,
      ratio: b / a,
      target: 'psql loop / bootseq ≥ 5',
      met: b / a >= 5,
    });
  } finally {
    for (const db of ['bench_ours', 'bench_theirs'])
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    await admin.end();
    fs.rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
  return results;
}
