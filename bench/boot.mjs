// Boot, overhead, memory and shutdown benchmarks (issue 7), each measured against its baseline in the
// same run:
// - boot: `bootseq up --until ready` on the four-store demo vs bench/entrypoint.sh (sequential shell),
//   fresh and restoring from a replica; median of alternating runs; target ≤ 0.6×.
// - overhead: one store, one process ready on `delay: 0`: wall time minus the critical path the run
//   report records (task chain + shutdown); target ≤ 150 ms. And `bootseq --version` vs `node -e 0`.
// - memory: peak RSS (VmHWM) of the bootseq process while it supervises the demo; target ≤ 60 MB.
// - shutdown: SIGTERM to exit vs the children's own stop times (from the report) + 200 ms.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, LITESTREAM, REPO, fmt, median, tempDir, timed } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function demoProject(port) {
  const dir = tempDir('boot');
  for (const f of ['bootseq.yml', 'litestream.yml']) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  return { dir, env: { ...process.env, DEMO_PORT: String(port), LITESTREAM, NO_COLOR: '1' } };
}

function lastReport(dir, runs = '.demo/runs') {
  const d = path.join(dir, runs);
  const name = fs
    .readdirSync(d)
    .filter((n) => n.endsWith('Z.json'))
    .sort()
    .at(-1);
  return JSON.parse(fs.readFileSync(path.join(d, name), 'utf8'));
}

async function benchBoot(port) {
  const results = [];
  // One project each: a replica written by one entrypoint has the other's history tables.
  const ours = demoProject(port);
  const theirs = demoProject(port);
  try {
    const bootseq = () =>
      timed('node', [CLI, 'up', '--until', 'ready', '--log-format', 'plain'], {
        cwd: ours.dir,
        env: ours.env,
      });
    const shell = () =>
      timed('sh', [path.join(REPO, 'bench/entrypoint.sh')], {
        cwd: theirs.dir,
        env: { ...theirs.env, UNTIL_READY: '1' },
      });
    for (const scenario of ['fresh', 'restore']) {
      const a = [];
      const b = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const [run, dir, into] of [
          [bootseq, ours.dir, a],
          [shell, theirs.dir, b],
        ]) {
          // fresh: no databases, no replica; restore: no databases, a replica with data
          fs.rmSync(path.join(dir, '.demo/storage'), { recursive: true, force: true });
          if (scenario === 'fresh')
            fs.rmSync(path.join(dir, '.demo/replica'), { recursive: true, force: true });
          into.push(run());
        }
      }
      const ma = median(a);
      const mb = median(b);
      results.push({
        name: `boot to ready, four-store demo, ${scenario === 'fresh' ? 'fresh (no replica)' : 'restoring from a replica'}: bootseq up --until ready vs bench/entrypoint.sh`,
        figures: `bootseq ${fmt(ma)} vs shell ${fmt(mb)} (medians of ${ROUNDS}, alternating; both include the ordered stop)`,
        ratio: ma / mb,
        target: 'ratio ≤ 0.6',
        met: ma / mb <= 0.6,
      });
    }
  } finally {
    fs.rmSync(ours.dir, { recursive: true, force: true });
    fs.rmSync(theirs.dir, { recursive: true, force: true });
  }
  return results;
}

async function benchOverhead() {
  const results = [];
  const dir = tempDir('overhead');
  try {
    fs.writeFileSync(
      path.join(dir, 'litestream.yml'),
      'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - type: file\n        path: replica/app\n',
    );
    fs.mkdirSync(path.join(dir, 'db'));
    fs.writeFileSync(path.join(dir, 'db/1_init.sql'), 'CREATE TABLE t (id INTEGER PRIMARY KEY);\n');
    fs.writeFileSync(
      path.join(dir, 'bootseq.yml'),
      `version: 1
litestream: { config: litestream.yml }
stores:
  app: { sqlite: data/app.sqlite3, migrate: { dir: db, history: bootseq } }
processes:
  app: { command: "node -e 'setInterval(() => {}, 1000)'", ready: { delay: 0ms } }
report: { dir: runs }
`,
    );
    // Node's own start is part of the overhead and varies most on a shared machine: `node -e 0`
    // runs alternate with bootseq so the figure can be read against it.
    const overheads = [];
    const nodeAlone = [];
    for (let round = 0; round < ROUNDS * 2; round += 1) {
      fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
      const wall = timed('node', [CLI, 'up', '--until', 'ready', '--log-format', 'plain'], { cwd: dir });
      const report = lastReport(dir, 'runs');
      const chain = report.tasks.reduce((sum, t) => sum + (t.duration_ms ?? 0), 0);
      const stops = report.shutdown.reduce((sum, s) => sum + (s.stopped_at_ms - s.stopping_at_ms), 0);
      overheads.push(wall - chain - stops);
      nodeAlone.push(timed('node', ['-e', '0']));
    }
    const o = median(overheads);
    results.push({
      name: 'overhead: up --until ready, one store, one process ready on delay: 0, minus the critical path (tasks + children stopping)',
      figures: `${fmt(o)} over the critical path (median of ${ROUNDS * 2}; \`node -e 0\` alone: ${fmt(median(nodeAlone))})`,
      ratio: o / 150,
      target: '≤ 150 ms (ratio ≤ 1)',
      met: o <= 150,
    });
    const version = [];
    const bare = [];
    for (let round = 0; round < ROUNDS * 4; round += 1) {
      version.push(timed('node', [CLI, '--version']));
      bare.push(timed('node', ['-e', '0']));
    }
    const v = median(version);
    const n = median(bare);
    results.push({
      name: 'bootseq --version vs node -e 0',
      figures: `${v.toFixed(1)} ms vs ${n.toFixed(1)} ms (medians of ${ROUNDS * 4})`,
      ratio: v / n,
      target: 'ratio ≤ 1.5',
      met: v / n <= 1.5,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** Peak RSS of a node process that loads nothing: the floor under any Node.js supervisor. */
function nodeAlonePeak() {
  const out = execFileSync(process.execPath, [
    '-e',
    "setTimeout(() => console.log(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]), 200)",
  ]);
  return Number(String(out).trim()) / 1024;
}

async function benchSupervise(port) {
  const { dir, env } = demoProject(port);
  const results = [];
  try {
    const peaks = [];
    const privates = [];
    const overheads = [];
    for (let round = 0; round < Math.max(3, Math.ceil(ROUNDS / 2)); round += 1) {
      const child = spawn('node', [CLI, 'up', '--log-format', 'plain'], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      const exited = new Promise((resolve) => child.once('close', resolve));
      const deadline = Date.now() + 30_000;
      while (!/ready in \S+ m?s: worker; web on/.test(out)) {
        if (Date.now() > deadline) throw new Error(`not ready:\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 200; i += 1)
        await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST', body: `note ${i}` });
      await new Promise((r) => setTimeout(r, 2500)); // a few Litestream syncs and worker polls
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peaks.push(Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024);
      // RSS counts the pages of the node binary it shares with every other node process (the web
      // and the worker here); the private pages are what the supervisor itself costs.
      const rollup = fs.readFileSync(`/proc/${child.pid}/smaps_rollup`, 'utf8');
      const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
      privates.push((kb('Private_Clean') + kb('Private_Dirty')) / 1024);
      const sent = Date.now();
      child.kill('SIGTERM');
      await exited;
      const took = Date.now() - sent;
      const report = lastReport(dir);
      const own = report.shutdown.reduce((sum, s) => sum + (s.stopped_at_ms - s.stopping_at_ms), 0);
      overheads.push(took - own);
    }
    const peak = Math.max(...peaks);
    results.push({
      name: 'memory: peak RSS (VmHWM) of bootseq supervising the demo after 200 writes',
      figures: `${peak.toFixed(1)} MB (max of ${peaks.length} runs: ${peaks.map((p) => p.toFixed(1)).join(', ')}); private pages ${Math.max(...privates).toFixed(1)} MB, \`node -e 0\` peaks at ${nodeAlonePeak().toFixed(1)} MB`,
      ratio: peak / 60,
      target: '≤ 60 MB (ratio ≤ 1)',
      met: peak <= 60,
    });
    const o = median(overheads);
    results.push({
      name: 'shutdown: SIGTERM to exit, minus the children’s own stop times (processes, then Litestream’s final sync)',
      figures: `${fmt(o)} over the children’s stop times (median of ${overheads.length})`,
      ratio: o / 200,
      target: '≤ 200 ms (ratio ≤ 1)',
      met: o <= 200,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

export async function benchBootSuite() {
  const port = 3900 + Math.floor(Math.random() * 90);
  return [...(await benchBoot(port)), ...(await benchOverhead()), ...(await benchSupervise(port + 1))];
}
