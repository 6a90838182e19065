// Rolling-deploy handoff (issue 13): two bootseq processes on one copy of the demo, as two containers
// on one volume. A serves and replicates; B boots and serves while A still replicates; a client
// writes continuously to both, stops writing to A (a proxy draining it), then A gets SIGTERM and B
// takes over replication. Per round:
// - the replication gap: from A's Litestream exit (A's run report) to B's proven takeover (B's log);
//   target ≤ 1.5 s (median of the rounds);
// - failed requests of the continuous client (target 0) and acknowledged notes missing from a restore
//   of the replica afterwards (target 0).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { $ } from 'zx';
import { CLI, LITESTREAM, REPO, fmt, freePort, median, tempDir } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function boot(dir, port) {
  const child = spawn(process.execPath, [CLI, 'up', '--log-format', 'plain'], {
    cwd: dir,
    env: { ...process.env, DEMO_PORT: String(port), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiters = [];
  let buffer = '';
  const onData = (chunk) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters])
        if (w.pattern.test(line)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(line));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const done = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    done,
    lines,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => pattern.test(l));
        if (seen) return resolve(seen);
        waiters.push({ pattern, resolve });
        void done.then(() => reject(new Error(`exited before ${pattern}:\n${lines.slice(-30).join('\n')}`)));
      }),
  };
}

/** Writes a note every few ms to `port` while `active()`; counts acknowledged and failed requests. */
function writer(port, label, active) {
  const stats = { acked: 0, failed: 0 };
  const loop = (async () => {
    for (let i = 0; active(); i += 1) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/notes`, {
          method: 'POST',
          body: `${label} ${i}`,
        });
        if (response.status === 201) stats.acked += 1;
        else stats.failed += 1;
      } catch {
        stats.failed += 1;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { stats, done: loop };
}

async function replicaNotes(dir) {
  const out = path.join(dir, 'restored.sqlite3');
  fs.rmSync(out, { force: true });
  const sh = $({ cwd: dir, quiet: true });
  await sh`${LITESTREAM} restore -config litestream.yml -o ${out} .demo/storage/primary.sqlite3`;
  return Number((await sh`sqlite3 ${out} ${'SELECT count(*) FROM notes'}`).stdout.trim());
}

function lastReportOf(dir) {
  const runs = path.join(dir, '.demo/runs');
  for (const name of fs
    .readdirSync(runs)
    .filter((n) => n.endsWith('Z.json'))
    .sort()
    .reverse()) {
    const report = JSON.parse(fs.readFileSync(path.join(runs, name), 'utf8'));
    const replicate = report.tasks.find((t) => t.id === 'replicate');
    if (replicate?.pid !== undefined && report.shutdown.some((s) => s.task === 'replicate')) return report;
  }
  throw new Error(`no report of a replicating run in ${runs}`);
}

async function round(dir, portA, portB) {
  const a = boot(dir, portA);
  await a.waitFor(/ready in \S+ m?s: worker; web on/);
  let toA = true;
  let toB = true;
  const wa = writer(portA, 'A', () => toA);
  const b = boot(dir, portB);
  await b.waitFor(/ready in \S+ m?s: worker; web on/);
  const wb = writer(portB, 'B', () => toB);
  await new Promise((r) => setTimeout(r, 1000));
  toA = false; // the proxy drains A before stopping it
  await wa.done;
  a.child.kill('SIGTERM');
  const aCode = await a.done;
  const line = await b.waitFor(/litestream has taken over .*: this bootseq replicates now/);
  const takenOverAt = Date.parse(line.slice(0, 24));
  const aReport = lastReportOf(dir);
  const lsStoppedAt = aReport.shutdown.find((s) => s.task === 'replicate').stopped_at_ms;
  await new Promise((r) => setTimeout(r, 1000));
  toB = false;
  await wb.done;
  b.child.kill('SIGTERM');
  const bCode = await b.done;
  return {
    gapMs: takenOverAt - lsStoppedAt,
    failed: wa.stats.failed + wb.stats.failed,
    acked: wa.stats.acked + wb.stats.acked,
    exitCodes: [aCode, bCode],
  };
}

export async function benchHandoff() {
  const dir = tempDir('handoff');
  for (const f of ['bootseq.yml', 'litestream.yml']) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    const rounds = [];
    let acked = 0;
    let missing = 0;
    for (let i = 0; i < ROUNDS; i += 1) {
      const r = await round(dir, portA, portB);
      acked += r.acked;
      missing = Math.max(missing, acked - (await replicaNotes(dir)));
      rounds.push(r);
    }
    const gaps = rounds.map((r) => r.gapMs);
    const failed = rounds.reduce((n, r) => n + r.failed, 0);
    const exits = rounds.flatMap((r) => r.exitCodes).filter((c) => c !== 0);
    const gap = median(gaps);
    return [
      {
        name: "rolling deploy: replication gap from A's Litestream exit to B's proven takeover",
        figures: `median ${fmt(gap)} (rounds: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms)`,
        ratio: gap / 1500,
        target: '≤ 1.5 s',
        met: gap <= 1500,
      },
      {
        name: 'rolling deploy: a client writing continuously to both containers',
        figures: `${acked} acknowledged, ${failed} failed requests, ${missing} acknowledged notes missing from the replica; non-zero exits: ${exits.length}`,
        ratio: failed + missing,
        target: '0 failed, 0 missing',
        met: failed === 0 && missing === 0 && exits.length === 0,
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
