// The cost of a restore rehearsal while the app serves (issue 30 item 4): the demo's web answering
// writes (POST /notes every 10 ms) while `bootseq up` supervises, with and without a rehearsal running
// beside it, in the same run. Measured: the app's p50/p99 write latency, the supervising bootseq's peak
// RSS and the rehearsal's own peak RSS (VmHWM). Two projects: the demo as it is, and the demo with a
// fifth store of BENCH_REHEARSE_BIG_MB (default 1024) MB. The rehearsal is what `rehearse.every`
// runs (entrypoint/commands/rehearsals.ts): `bootseq rehearse --into DIR` under `nice -n 19` and
// `ionice -c 3`, started here by hand, back to back, so that the window is known. Targets: p99 with a rehearsal
// ≤ 2× p99 without (or within 5 ms), the supervisor's RSS unchanged (+ ≤ 5 MB).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, REPO, freePort, tempDir } from './lib.mjs';

const BIG_MB = Number(process.env.BENCH_REHEARSE_BIG_MB ?? 1024);
const BASELINE_S = Number(process.env.BENCH_REHEARSE_SECONDS ?? 15);

const rssMb = (pid, key = 'VmRSS') => {
  const m = new RegExp(`${key}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const has = (bin) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** The demo project in `dir`; with `bigMb`, a fifth store of that size, written before the boot. */
async function project(dir, bigMb) {
  for (const f of ['bootseq.yml', 'litestream.yml']) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  if (!bigMb) return;
  fs.appendFileSync(
    path.join(dir, 'litestream.yml'),
    '  - path: .demo/storage/big.sqlite3\n    replicas:\n      - type: file\n        path: .demo/replica/big\n',
  );
  const yml = fs.readFileSync(path.join(dir, 'bootseq.yml'), 'utf8');
  fs.writeFileSync(
    path.join(dir, 'bootseq.yml'),
    yml.replace(
      /^processes:/m,
      '  big:\n    sqlite: .demo/storage/big.sqlite3\n    require: { tables: [blobs] }\nprocesses:',
    ),
  );
  fs.mkdirSync(path.join(dir, '.demo/storage'), { recursive: true });
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(dir, '.demo/storage/big.sqlite3'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO blobs (body) VALUES (?)');
  // Hex of random bytes: compresses about 2:1, as real rows often do.
  const rows = Math.ceil((bigMb * 1024 * 1024) / 8192);
  const fill = db.transaction((n) => {
    for (let i = 0; i < n; i += 1) insert.run(randomBytes(4096).toString('hex'));
  });
  for (let done = 0; done < rows; done += 10_000) fill(Math.min(10_000, rows - done));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Writes every 10 ms until `stop()`; each write's latency in ms. */
function load(port) {
  const latencies = [];
  let running = true;
  let failed = 0;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST', body: 'x' }).catch(
        () => undefined,
      );
      if (r?.status === 201) latencies.push(performance.now() - t0);
      else failed += 1;
      await r?.arrayBuffer().catch(() => undefined);
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { latencies, failed };
    },
  };
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

async function measure(name, bigMb) {
  const dir = tempDir(`rehearse-${name}`);
  let up;
  try {
    await project(dir, bigMb);
    const port = await freePort();
    up = spawn(process.execPath, [CLI, 'up', '--log-format', 'plain'], {
      cwd: dir,
      env: { ...process.env, DEMO_PORT: String(port), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    up.stdout.on('data', (c) => (output += c));
    up.stderr.on('data', (c) => (output += c));
    const exited = new Promise((resolve) => up.once('close', resolve));
    const deadline = Date.now() + 600_000;
    while (!/ready in \S+ m?s: worker; web on/.test(output)) {
      if (Date.now() > deadline || up.exitCode !== null) throw new Error(`no ready:\n${output.slice(-2000)}`);
      await sleep(100);
    }

    // Without a rehearsal: BASELINE_S seconds of writes.
    let writes = load(port);
    let peakUp = rssMb(up.pid);
    const t0 = performance.now();
    while (performance.now() - t0 < BASELINE_S * 1000) {
      await sleep(250);
      peakUp = Math.max(peakUp, rssMb(up.pid));
    }
    const without = { ...(await writes.stop()), peakUp };

    // With rehearsals: the same writes while rehearsals run back to back, at least BASELINE_S seconds.
    const prefix = [...(has('ionice') ? ['ionice', '-c', '3'] : []), 'nice', '-n', '19'];
    writes = load(port);
    const t1 = performance.now();
    let peakDuring = rssMb(up.pid);
    let peakRehearsal = 0;
    let rehearsals = 0;
    while (rehearsals === 0 || performance.now() - t1 < BASELINE_S * 1000) {
      const into = path.join(dir, `rehearsal-${rehearsals}`);
      const rehearsal = spawn(
        prefix[0],
        [...prefix.slice(1), process.execPath, CLI, 'rehearse', '--into', into],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let rehearsalOut = '';
      rehearsal.stdout.on('data', (c) => (rehearsalOut += c));
      rehearsal.stderr.on('data', (c) => (rehearsalOut += c));
      let code;
      const rehearsed = new Promise((resolve) => rehearsal.once('close', resolve)).then((c) => (code = c));
      while (code === undefined) {
        await Promise.race([rehearsed, sleep(250)]);
        peakDuring = Math.max(peakDuring, rssMb(up.pid));
        // ionice and nice exec, so the rehearsal's node process keeps this PID.
        try {
          peakRehearsal = Math.max(peakRehearsal, rssMb(rehearsal.pid, 'VmHWM'));
        } catch {
          /* gone */
        }
      }
      if (code !== 0) throw new Error(`rehearse exited ${code}:\n${rehearsalOut.slice(-2000)}`);
      fs.rmSync(into, { recursive: true, force: true });
      rehearsals += 1;
    }
    const rehearsalMs = (performance.now() - t1) / rehearsals;
    const during = { ...(await writes.stop()), peakUp: peakDuring, rehearsals };

    up.kill('SIGTERM');
    const upCode = await exited;
    if (upCode !== 0) throw new Error(`bootseq exited ${upCode}:\n${output.slice(-2000)}`);
    return { without, during, rehearsalMs, peakRehearsal };
  } finally {
    if (up && up.exitCode === null) up.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRehearse() {
  const results = [];
  for (const [name, mb] of [
    ['demo', 0],
    [`demo + ${BIG_MB} MB store`, BIG_MB],
  ]) {
    const r = await measure(name.replace(/\W+/g, '-'), mb);
    const p = (list, q) => quantile(list, q).toFixed(1);
    const p99w = quantile(r.without.latencies, 0.99);
    const p99d = quantile(r.during.latencies, 0.99);
    const rss = r.during.peakUp - r.without.peakUp;
    results.push(
      {
        name: `app write latency while a rehearsal runs, ${name}: with vs without`,
        figures: `p50 ${p(r.during.latencies, 0.5)} / p99 ${p99d.toFixed(1)} ms with (${r.during.latencies.length} writes over ${r.during.rehearsals} rehearsal(s) of ${(r.rehearsalMs / 1000).toFixed(1)} s each), p50 ${p(r.without.latencies, 0.5)} / p99 ${p99w.toFixed(1)} ms without (${r.without.latencies.length} writes, ${BASELINE_S} s); ${r.without.failed + r.during.failed} failed`,
        ratio: p99d / p99w,
        target: 'p99 ≤ 2× (or within 5 ms)',
        met: p99d <= 2 * p99w || p99d - p99w <= 5,
      },
      {
        name: `memory while a rehearsal runs, ${name}: the supervising bootseq's peak RSS with vs without; the rehearsal's own peak`,
        figures: `bootseq ${r.during.peakUp.toFixed(1)} MB with, ${r.without.peakUp.toFixed(1)} MB without (+${rss.toFixed(1)} MB); the rehearsal process ${r.peakRehearsal.toFixed(1)} MB peak`,
        ratio: rss / 5,
        target: 'bootseq + ≤ 5 MB',
        met: rss <= 5,
      },
    );
  }
  return results;
}
