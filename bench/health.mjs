// The cost of being watched (issue 17): the supervising bootseq's peak RSS and CPU over a window of
// continuous writes to the demo, with health off (no health.listen) and on (/metrics scraped every
// second, /readyz asked every 5 s), alternating, in the same run. Targets: + ≤ 5 MB peak RSS,
// + ≤ 1 % of one core. RSS is sampled from /proc every 500 ms during the window only (the boot's own
// peak is the same either way); CPU is bootseq's own utime+stime over the window (children excluded).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, REPO, freePort, median, tempDir } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_HEALTH_ROUNDS ?? 2);
const SECONDS = Number(process.env.BENCH_HEALTH_SECONDS ?? 60);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
};
const rssMb = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

function configure(dir, health) {
  const file = path.join(dir, 'bootseq.yml');
  const text = fs.readFileSync(path.join(REPO, 'bootseq.yml'), 'utf8');
  const line = /^health: .*$/m;
  if (!line.test(text)) throw new Error('bootseq.yml has no health: line to switch');
  fs.writeFileSync(file, text.replace(line, health ? "health: { listen: '127.0.0.1:0', max_lag: 30s }" : ''));
}

async function measure(dir, health) {
  configure(dir, health);
  fs.rmSync(path.join(dir, '.demo'), { recursive: true, force: true });
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'up', '--log-format', 'plain'], {
    cwd: dir,
    env: { ...process.env, DEMO_PORT: String(port), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const deadline = Date.now() + 30_000;
  while (!/ready in \S+ m?s: worker; web on/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`no ready:\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /health on (http:\/\/\S+):/.exec(output)?.[1];
  if (health && !url) throw new Error('health on, but no "health on" line');
  let running = true;
  const stats = { writes: 0, scrapes: 0, statuses: 0, failed: 0 };
  const writes = (async () => {
    while (running) {
      const r = await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST', body: 'x' }).catch(
        () => undefined,
      );
      if (r?.status === 201) stats.writes += 1;
      else stats.failed += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const scrapes = (async () => {
    for (let i = 0; running && health; i += 1) {
      const r = await fetch(`${url}/metrics`).catch(() => undefined);
      if (r?.status === 200 && (await r.text()).includes('bootseq_replication_lag_seconds'))
        stats.scrapes += 1;
      else stats.failed += 1;
      if (i % 5 === 0) {
        const status = await fetch(`${url}/readyz`).catch(() => undefined);
        if (status?.status === 200) stats.statuses += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  const cpu0 = cpuSeconds(child.pid);
  const t0 = performance.now();
  let peak = rssMb(child.pid);
  while (performance.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 500));
    peak = Math.max(peak, rssMb(child.pid));
  }
  const cpu = ((cpuSeconds(child.pid) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
  running = false;
  await Promise.all([writes, scrapes]);
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`bootseq exited ${code}:\n${output.slice(-2000)}`);
  return { peak, cpu, ...stats };
}

export async function benchHealth() {
  const dir = tempDir('health');
  for (const f of ['bootseq.yml', 'litestream.yml']) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  const off = [];
  const on = [];
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate which goes first, so drift on a shared machine falls on both.
      for (const health of round % 2 ? [true, false] : [false, true])
        (health ? on : off).push(await measure(dir, health));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const m = (list, key) => median(list.map((r) => r[key]));
  const rss = m(on, 'peak') - m(off, 'peak');
  const cpu = m(on, 'cpu') - m(off, 'cpu');
  const window = `${ROUNDS} rounds × ${SECONDS} s, medians`;
  const writes = `${m(off, 'writes').toFixed(0)}/${m(on, 'writes').toFixed(0)} writes, ${m(on, 'scrapes').toFixed(0)} scrapes, ${[...off, ...on].reduce((n, r) => n + r.failed, 0)} failed`;
  return [
    {
      name: 'peak RSS of the supervising bootseq, health on (scraped every second) vs off',
      figures: `on ${m(on, 'peak').toFixed(1)} MB, off ${m(off, 'peak').toFixed(1)} MB: +${rss.toFixed(1)} MB (${window}; ${writes})`,
      ratio: rss / 5,
      target: '+ ≤ 5 MB',
      met: rss <= 5,
    },
    {
      name: 'CPU of the supervising bootseq, health on vs off',
      figures: `on ${m(on, 'cpu').toFixed(2)} %, off ${m(off, 'cpu').toFixed(2)} % of one core: +${cpu.toFixed(2)} points`,
      ratio: cpu / 1,
      target: '+ ≤ 1 % of one core',
      met: cpu <= 1,
    },
  ];
}
