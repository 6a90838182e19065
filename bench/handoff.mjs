// Rolling-deploy handoff (issue 13): two bootseq processes on one copy of the demo, as two containers
// on one volume. A serves and replicates; B boots and serves while A still replicates; a client
// writes continuously to both, stops writing to A (a proxy draining it), then A gets SIGTERM and B
// takes over replication. Per round:
// - the replication gap: from A's Litestream exit (A's run report) to B's proven takeover (B's log);
//   target ≤ 1.5 s (median of the rounds);
// - failed requests of the continuous client (target 0) and acknowledged notes missing from a restore
//   of the replica afterwards (target 0): each acknowledged note looked up by its text in a table scan
//   of the restore (count(*) reads the smallest index, which a torn restore can keep whole while
//   rows are missing), and the restore's `PRAGMA integrity_check` (target ok every round).
// handoffSession() runs these rounds with any Litestream binary (bench/litestream-versions.mjs runs
// it per version); benchHandoff() is the issue-13 figure with bootseq's default binary.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { $ } from 'zx';
import { CLI, LITESTREAM, demoCopy, fmt, freePort, median } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WAIT_MS = 60_000;

/**
 * Starts `bootseq <args>` in `dir` with the demo's port; its output (stdout and stderr, one line
 * each) in `lines`, stderr alone in `stderr`; `waitFor(pattern)` resolves with the first matching line.
 */
export function boot(dir, port, args = ['up', '--log-format', 'plain']) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { ...process.env, DEMO_PORT: String(port), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiters = [];
  const err = { text: '' };
  const reader = () => {
    let buffer = '';
    return (chunk) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        for (const w of [...waiters])
          if (w.pattern.test(line)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(line));
      }
    };
  };
  child.stdout.on('data', reader());
  const onStderr = reader();
  child.stderr.on('data', (chunk) => {
    err.text += chunk.toString('utf8');
    onStderr(chunk);
  });
  const done = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    done,
    lines,
    get stderr() {
      return err.text;
    },
    // A line that never comes (a bootseq stuck, or a driver that logs otherwise) rejects after
    // WAIT_MS rather than holding the whole bench.
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => pattern.test(l));
        if (seen) return resolve(seen);
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} in ${WAIT_MS} ms:\n${lines.slice(-30).join('\n')}`)),
          WAIT_MS,
        );
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before ${pattern}:\n${lines.slice(-30).join('\n')}`));
        });
      }),
  };
}

/** Writes a note every few ms to `port` while `active()`; counts acknowledged and failed requests. */
function writer(port, label, active) {
  const stats = { acked: 0, failed: 0, bodies: [] };
  const loop = (async () => {
    for (let i = 0; active(); i += 1) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/notes`, {
          method: 'POST',
          body: `${label} ${i}`,
        });
        if (response.status === 201) {
          stats.acked += 1;
          stats.bodies.push(`${label} ${i}`);
        } else stats.failed += 1;
      } catch {
        stats.failed += 1;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { stats, done: loop };
}

/**
 * A restore of the primary store's replica, by `litestream` (the one that wrote it): the notes its
 * table holds (a scan, NOT INDEXED) and the first line of its integrity_check.
 */
async function replicaNotes(dir, litestream) {
  const out = path.join(dir, 'restored.sqlite3');
  for (const f of [out, `${out}-wal`, `${out}-shm`]) fs.rmSync(f, { force: true });
  const sh = $({ cwd: dir, quiet: true });
  await sh`${litestream} restore -config litestream.yml -o ${out} .demo/storage/primary.sqlite3`;
  const notes = (await sh`sqlite3 ${out} ${'SELECT body FROM notes NOT INDEXED'}`).stdout;
  const integrity = (await sh`sqlite3 ${out} ${'PRAGMA integrity_check'}`).stdout.trim().split('\n')[0];
  return { bodies: new Set(notes.split('\n').filter((l) => l !== '')), integrity };
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

/** SIGTERM to a bootseq still running (a round that failed half-way), and its exit awaited. */
async function stop(run) {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return;
  run.child.kill('SIGTERM');
  await run.done;
}

async function round(dir, portA, portB, n) {
  const a = boot(dir, portA);
  let b;
  let toA = true;
  let toB = true;
  let wa;
  let wb;
  try {
    await a.waitFor(/ready in \S+ m?s: worker; web on/);
    wa = writer(portA, `A${n}`, () => toA);
    b = boot(dir, portB);
    await b.waitFor(/ready in \S+ m?s: worker; web on/);
    wb = writer(portB, `B${n}`, () => toB);
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
      bodies: [...wa.stats.bodies, ...wb.stats.bodies],
      exitCodes: [aCode, bCode],
    };
  } finally {
    toA = false;
    toB = false;
    await Promise.all([wa?.done, wb?.done]);
    await Promise.all([stop(a), b && stop(b)]);
  }
}

/**
 * A copy of the demo for rolling-deploy rounds with one Litestream binary (`bin`; bootseq's default
 * when undefined). `round()` runs one A → B handoff, then restores the replica with the same binary
 * to count acknowledged notes it lacks; `summary()` gives the figures so far; `close()` removes it.
 */
export async function handoffSession({ bin } = {}) {
  const dir = demoCopy('handoff', { bin });
  const [portA, portB] = [await freePort(), await freePort()];
  const rounds = [];
  let acked = 0;
  let missing = 0;
  const ackedBodies = [];
  const integrity = [];
  return {
    dir,
    async round() {
      const r = await round(dir, portA, portB, rounds.length);
      acked += r.acked;
      ackedBodies.push(...r.bodies);
      const restored = await replicaNotes(dir, bin ?? LITESTREAM);
      missing = Math.max(missing, ackedBodies.filter((b) => !restored.bodies.has(b)).length);
      integrity.push(restored.integrity);
      rounds.push(r);
      return r;
    },
    summary() {
      const gaps = rounds.map((r) => r.gapMs);
      return {
        gaps,
        gap: median(gaps),
        acked,
        missing,
        /** Restores whose integrity_check failed, and its first line for the first of them. */
        unsound: integrity.filter((i) => i !== 'ok').length,
        integrity: integrity.find((i) => i !== 'ok') ?? 'ok',
        failed: rounds.reduce((n, r) => n + r.failed, 0),
        exits: rounds.flatMap((r) => r.exitCodes).filter((c) => c !== 0),
      };
    },
    close() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function benchHandoff() {
  const session = await handoffSession();
  try {
    for (let i = 0; i < ROUNDS; i += 1) await session.round();
    const { gaps, gap, acked, missing, failed, exits, unsound, integrity } = session.summary();
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
        figures: `${acked} acknowledged, ${failed} failed requests, ${missing} acknowledged notes missing from the replica, restores failing integrity_check: ${unsound}${unsound ? ` (${integrity})` : ''}; non-zero exits: ${exits.length}`,
        ratio: failed + missing + unsound,
        target: '0 failed, 0 missing, every restore sound',
        met: failed === 0 && missing === 0 && unsound === 0 && exits.length === 0,
      },
    ];
  } finally {
    session.close();
  }
}
