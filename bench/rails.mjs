// Boot on a rails-like workload (issue 18): the four-store demo, every store restored from a replica,
// every migrate a command that costs what booting a small Rails app costs (bench/fake-rails-migrate.mjs:
// ≈ 1 s of CPU, then its SQL), worker and web as in the demo. Measured in the same run, alternating,
// medians of BENCH_ROUNDS (default 5) of the time to ready (each boot's ready line; its ordered stop
// follows and is shown apart):
// - `bootseq up --until ready` vs bench/entrypoint.sh (correct, sequential), target ≤ 0.6×;
// - vs bench/entrypoint-seeds-002.sh (seeds/002 as written: fast and wrong), target ≤ 1.15×;
// - vs bootseq's own critical path from its run report (the slowest store's restore + migrate +
//   verify, then Litestream's takeover, then worker and web ready), target ≤ path + 150 ms.
// Every migrate command logs its start, end and CPU time (BENCH_MIGRATE_LOG), which gives what the
// figures would be with as many cores as stores (the migrations no longer share the CPU).
import { $, fs, path } from 'zx';
import { CLI, LITESTREAM, REPO, fmt, median, tempDir } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STORES = ['primary', 'queue', 'cache', 'cable'];

/** A copy of the demo whose stores migrate with bench/fake-rails-migrate.mjs. */
function railsProject(port) {
  const dir = tempDir('rails');
  for (const f of ['bootseq.yml', 'litestream.yml']) fs.copySync(path.join(REPO, f), path.join(dir, f));
  fs.copySync(path.join(REPO, 'examples'), path.join(dir, 'examples'));
  fs.copySync(
    path.join(REPO, 'bench/fake-rails-migrate.mjs'),
    path.join(dir, 'bench/fake-rails-migrate.mjs'),
  );
  const yml = fs
    .readFileSync(path.join(dir, 'bootseq.yml'), 'utf8')
    .replace(
      /migrate: \{ dir: examples\/demo\/db\/(\w+), history: \w+ \}.*$/gm,
      'migrate: { command: "node bench/fake-rails-migrate.mjs $1" }',
    );
  if ((yml.match(/fake-rails-migrate/g) ?? []).length !== STORES.length)
    throw new Error('the demo bootseq.yml changed: update railsProject()');
  fs.writeFileSync(path.join(dir, 'bootseq.yml'), yml);
  const log = path.join(dir, 'migrate-times.jsonl');
  const env = {
    ...process.env,
    DEMO_PORT: String(port),
    LITESTREAM,
    NO_COLOR: '1',
    BENCH_MIGRATE_LOG: log,
    MIGRATE_COMMAND: 'node bench/fake-rails-migrate.mjs',
    UNTIL_READY: '1',
  };
  return { dir, log, sh: $({ cwd: dir, env, quiet: true }) };
}

/** Every store restored from `pristine`: no databases, the replica as the first boot left it. */
function resetFrom(project, pristine) {
  fs.removeSync(path.join(project.dir, '.demo/storage'));
  fs.removeSync(path.join(project.dir, '.demo/replica'));
  fs.copySync(pristine, path.join(project.dir, '.demo/replica'));
  fs.removeSync(project.log);
}

// The line each entrypoint prints when the app is ready: bootseq's `--until ready` shutdown line, the
// shells' `ready`.
const READY = /^ready$|shutting down \(--until ready reached\)/;

/** Runs one boot; returns its time to ready, its wall time (ready + ordered stop), the migrations' times. */
async function timedBoot(project, run) {
  const started = performance.now();
  const boot = run(project.sh);
  let ready;
  for await (const line of boot)
    if (ready === undefined && READY.test(line)) ready = performance.now() - started;
  await boot;
  const wall = performance.now() - started;
  if (ready === undefined) throw new Error(`no ready line from ${boot.cmd}`);
  const migrations = fs
    .readFileSync(project.log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { ready, wall, migrations };
}

function lastReport(dir) {
  const runs = path.join(dir, '.demo/runs');
  const name = fs
    .readdirSync(runs)
    .filter((n) => n.endsWith('Z.json'))
    .sort()
    .at(-1);
  return fs.readJsonSync(path.join(runs, name));
}

/** The critical path of one bootseq run, from its report. */
function criticalPath(report) {
  const task = (id) => report.tasks.find((t) => t.id === id);
  const chains = STORES.map((s) => ({
    store: s,
    ms: report.tasks.filter((t) => t.target === s).reduce((sum, t) => sum + (t.duration_ms ?? 0), 0),
  }));
  const slowest = chains.reduce((a, b) => (b.ms > a.ms ? b : a));
  const takeover = task('replicate').duration_ms;
  const readiness = task('start:worker').duration_ms + task('start:web').duration_ms;
  const lease = task('lease')?.duration_ms ?? 0;
  return { slowest, takeover, readiness, lease, total: slowest.ms + takeover + readiness };
}

/** From the first to the last end of these migrate commands (ms). */
const span = (ms) => Math.max(...ms.map((m) => m.ended_at_ms)) - Math.min(...ms.map((m) => m.started_at_ms));
const wallOf = (m) => m.ended_at_ms - m.started_at_ms;

const ENTRYPOINTS = {
  bootseq: (sh) => sh`node ${CLI} up --until ready --log-format plain`,
  shell: (sh) => sh`sh ${path.join(REPO, 'bench/entrypoint.sh')}`,
  seeds002: (sh) => sh`sh ${path.join(REPO, 'bench/entrypoint-seeds-002.sh')}`,
};

export async function benchRails() {
  const port = 4000 + Math.floor(Math.random() * 90);
  // One project each: the entrypoints write different things next to the databases.
  const projects = Object.fromEntries(Object.keys(ENTRYPOINTS).map((n) => [n, railsProject(port)]));
  const pristine = path.join(projects.bootseq.dir, 'replica-pristine');
  try {
    // The replica every round restores from: one fresh boot (migrations applied), then frozen.
    await ENTRYPOINTS.bootseq(projects.bootseq.sh);
    fs.copySync(path.join(projects.bootseq.dir, '.demo/replica'), pristine);

    const runs = { bootseq: [], shell: [], seeds002: [] };
    const paths = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, run] of Object.entries(ENTRYPOINTS)) {
        resetFrom(projects[name], pristine);
        runs[name].push(await timedBoot(projects[name], run));
        if (name === 'bootseq') paths.push(criticalPath(lastReport(projects.bootseq.dir)));
      }
    }
    return summarize(runs, paths);
  } finally {
    for (const p of Object.values(projects)) fs.removeSync(p.dir);
  }
}

function summarize(runs, paths) {
  const med = (name, key) => median(runs[name].map((r) => r[key]));
  const [ours, shell, seeds] = ['bootseq', 'shell', 'seeds002'].map((n) => med(n, 'ready'));
  const [oursW, shellW, seedsW] = ['bootseq', 'shell', 'seeds002'].map((n) => med(n, 'wall'));
  const path3 = median(paths.map((p) => p.total));
  const over = median(runs.bootseq.map((r, i) => r.ready - paths[i].total));
  const part = (key) => fmt(median(paths.map((p) => (key === 'slowest' ? p.slowest.ms : p[key]))));
  const slowestStores = [...new Set(paths.map((p) => p.slowest.store))].join('/');

  // Per-task times. The shell runs its migrations one at a time: its migrate commands' wall time is
  // what one costs with a core to itself. bootseq runs four at once and seeds/002 three (after
  // primary): with a core each, their migrate span would shrink to one uncontended migration.
  const alone = median(runs.shell.flatMap((r) => r.migrations.map(wallOf)));
  const cpu = median(runs.shell.flatMap((r) => r.migrations.map((m) => m.cpu_ms)));
  const oursSpan = median(runs.bootseq.map((r) => span(r.migrations)));
  const seedsSpan = median(runs.seeds002.map((r) => span(r.migrations.filter((m) => m.store !== 'primary'))));
  const ours4 = ours - oursSpan + alone;
  const seeds4 = seeds - seedsSpan + alone;
  const path4 = path3 - oursSpan + alone;

  const rounds = `medians of ${ROUNDS}, alternating`;
  const stops = `with the ordered stop: ${fmt(oursW)}, ${fmt(shellW)}, ${fmt(seedsW)}`;
  const perTask = `one migrate command alone ${fmt(alone)} wall (${fmt(cpu)} CPU); bootseq's four at once span ${fmt(oursSpan)}, seeds/002's three ${fmt(seedsSpan)}`;
  return [
    {
      name: 'boot to ready, rails-like four-store demo restoring from a replica (1 s-CPU migrate commands): bootseq up --until ready vs bench/entrypoint.sh',
      figures: `bootseq ${fmt(ours)} vs shell ${fmt(shell)} (${rounds}; ${stops} for bootseq, shell, seeds/002); ${perTask}; with 4 cores (estimated): ${fmt(ours4)} vs ${fmt(shell)}, ratio ${(ours4 / shell).toFixed(2)}`,
      ratio: ours / shell,
      target: 'ratio ≤ 0.6',
      met: ours / shell <= 0.6,
    },
    {
      name: 'same workload: bootseq vs bench/entrypoint-seeds-002.sh (seeds/002 as written: Litestream started at once, fast and wrong)',
      figures: `bootseq ${fmt(ours)} vs seeds/002 ${fmt(seeds)} (${rounds}); with 4 cores (estimated): ${fmt(ours4)} vs ${fmt(seeds4)}, ratio ${(ours4 / seeds4).toFixed(2)}`,
      ratio: ours / seeds,
      target: 'ratio ≤ 1.15',
      met: ours / seeds <= 1.15,
    },
    {
      name: "same workload: bootseq vs its critical path (slowest store's restore + migrate + verify, Litestream's takeover, worker then web ready; from its run reports)",
      figures: `bootseq ${fmt(ours)} vs path ${fmt(path3)} (slowest store ${slowestStores} ${part('slowest')}, takeover ${part('takeover')}, readiness ${part('readiness')}; the lease, outside the path, ${part('lease')}); ready − path per run, median ${fmt(over)}; with 4 cores (estimated) path ${fmt(path4)}`,
      ratio: over / 150,
      target: 'ready − path ≤ 150 ms (ratio ≤ 1)',
      met: over <= 150,
    },
  ];
}
