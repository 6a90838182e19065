// How the boot grows with the number of stores (issue 18): `bootseq up --until ready` on generated
// projects of 1, 4, 16 and 64 sqlite stores (one trivial migration each, built-in migrator; one
// Litestream for all; one process ready on `delay: 0ms`), time to ready, fresh and restoring from a replica,
// alternating between the sizes, medians of BENCH_ROUNDS. The takeover wait (the replicate task in the
// run report) must stay ≈ one Litestream monitor tick (≈ 1.05 s) however many stores there are, not
// one per store. Per-store cost: the slope of the time to ready between 16 and 64 stores.
import { $, fs, path } from 'zx';
import { CLI, LITESTREAM, fmt, median, tempDir } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = (process.env.BENCH_STORES ?? '1,4,16,64').split(',').map(Number);
const TICK_MS = 1050; // docs/litestream.md Q3

function project(count) {
  const dir = tempDir(`stores-${count}`);
  const names = Array.from({ length: count }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
  fs.outputFileSync(path.join(dir, 'db/1_init.sql'), 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n');
  fs.writeFileSync(
    path.join(dir, 'litestream.yml'),
    `dbs:\n${names.map((n) => `  - path: data/${n}.sqlite3\n    replicas:\n      - { type: file, path: replica/${n} }\n`).join('')}`,
  );
  fs.writeFileSync(
    path.join(dir, 'bootseq.yml'),
    `version: 1
litestream: { config: litestream.yml }
stores:
${names.map((n) => `  ${n}: { sqlite: data/${n}.sqlite3, migrate: { dir: db, history: bootseq }, require: { tables: [t] } }\n`).join('')}processes:
  app: { command: "node -e 'setInterval(() => {}, 1000)'", ready: { delay: 0ms } }
report: { dir: runs }
`,
  );
  const sh = $({ cwd: dir, env: { ...process.env, LITESTREAM, NO_COLOR: '1' }, quiet: true });
  return { count, dir, sh };
}

/** One boot: time to ready (its `--until ready` shutdown line), and from its report the takeover wait. */
async function boot(p) {
  const started = performance.now();
  const run = p.sh`node ${CLI} up --until ready --log-format plain`;
  let ready;
  for await (const line of run)
    if (ready === undefined && line.includes('shutting down (--until ready reached)'))
      ready = performance.now() - started;
  await run;
  const runs = path.join(p.dir, 'runs');
  const last = fs
    .readdirSync(runs)
    .filter((n) => n.endsWith('Z.json'))
    .sort()
    .at(-1);
  const report = fs.readJsonSync(path.join(runs, last));
  const replicate = report.tasks.find((t) => t.id === 'replicate');
  return {
    ready,
    takeover: replicate.duration_ms,
    toReplicate: replicate.started_at_ms - report.started_at_ms,
  };
}

export async function benchStores() {
  const projects = SIZES.map(project);
  try {
    const results = [];
    for (const scenario of ['fresh', 'restore']) {
      const runs = new Map(projects.map((p) => [p, []]));
      for (const p of projects) {
        fs.removeSync(path.join(p.dir, 'data'));
        fs.removeSync(path.join(p.dir, 'replica'));
        if (scenario === 'restore') await boot(p); // writes the replica every round restores from
      }
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const p of projects) {
          fs.removeSync(path.join(p.dir, 'data'));
          if (scenario === 'fresh') fs.removeSync(path.join(p.dir, 'replica'));
          runs.get(p).push(await boot(p));
        }
      }
      const m = (p, key) => median(runs.get(p).map((r) => r[key]));
      const rows = projects.map(
        (p) =>
          `${p.count}: ${fmt(m(p, 'ready'))} (to replicate ${fmt(m(p, 'toReplicate'))}, takeover ${fmt(m(p, 'takeover'))})`,
      );
      const [a, b] = [projects.at(-2), projects.at(-1)];
      const perStore = (m(b, 'ready') - m(a, 'ready')) / (b.count - a.count);
      const worstTakeover = Math.max(...projects.map((p) => m(p, 'takeover')));
      results.push({
        name: `boot to ready by number of stores, ${scenario === 'fresh' ? 'fresh (no replica)' : 'restoring from a replica'}: takeover wait vs one Litestream tick`,
        figures: `${rows.join('; ')} (medians of ${ROUNDS}, alternating); per store ${perStore.toFixed(1)} ms (slope ${a.count} → ${b.count})`,
        ratio: worstTakeover / TICK_MS,
        target: `takeover ≤ 1.5 ticks at every size (ratio ≤ 1.5)`,
        met: worstTakeover <= 1.5 * TICK_MS,
      });
    }
    return results;
  } finally {
    for (const p of projects) fs.removeSync(p.dir);
  }
}
