// Issue 17 on a real boot: `bootseq status` over the control socket, /livez, /readyz and /metrics on
// health.listen. Values, not only shapes: the lag rises while the real Litestream is frozen (SIGSTOP)
// under writes, /readyz turns 503 and status exits 1, and both come back once it runs again.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect } from 'vitest';
import { setKeys, useLitestream } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { postNotes } from '../helpers/notes.js';
import { READY, type TmpProject, pidOf, processesIn } from '../helpers/project.js';

interface Snapshot {
  bootseq: { pid: number };
  boot: { state: string };
  processes: {
    name: string;
    pid: number | null;
    ready: boolean;
    restarts: number;
    uptime_ms: number | null;
  }[];
  litestream: { pid: number | null; up: boolean; restarts: number };
  lease: { role: string; holder: string | null };
  stores: { name: string; generation: string | null; lag_ms: number | null; last_sync: string | null }[];
  health: { status: string; problems: string[] };
  health_url: string | null;
}

/** The demo (health on any free port) with a 2 s max_lag, and no stall restart within the test. */
function withHealth(project: TmpProject, litestream: Record<string, string> = {}): void {
  useLitestream(project, { stall_timeout: '60s', stall_restart: '120s', ...litestream });
  setKeys(project, ['health'], { listen: "'127.0.0.1:0'", max_lag: '2s', ready_requires_replication: true });
}

async function status(project: TmpProject, ...args: string[]) {
  const r = await project.run(['status', ...args]);
  return {
    ...r,
    json: args.includes('--json') && r.exitCode !== 3 ? (JSON.parse(r.output) as Snapshot) : undefined,
  };
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text() };
}

const socketOf = (project: TmpProject) => project.path('.demo/runs/control/bootseq.sock');

describe('bootseq status and the health endpoints', () => {
  test('lag rises while Litestream is frozen under writes: /readyz 503 and status exit 1, then both recover', async ({
    project,
  }) => {
    withHealth(project);
    const boot = project.start(['up', '--log-format', 'plain']);
    const line = await boot.waitForLine(/health on http:\/\/127\.0\.0\.1:\d+/);
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0];
    await boot.waitForLine(READY);

    const healthy = await status(project, '--json');
    expect(healthy.exitCode, healthy.output).toBe(0);
    const report = project.report();
    const litestream = pidOf(report, 'replicate');
    expect(healthy.json!.litestream).toMatchObject({ pid: litestream, up: true, restarts: 0 });
    expect(healthy.json!.processes.map((p) => [p.name, p.pid, p.ready])).toEqual([
      ['worker', pidOf(report, 'start:worker'), true],
      ['web', pidOf(report, 'start:web'), true],
    ]);
    expect(healthy.json!.stores.map((s) => s.name)).toEqual(['primary', 'queue', 'cache', 'cable']);
    for (const s of healthy.json!.stores) {
      expect(s.lag_ms).toBe(0);
      // v0.3: the generation; v0.5 has one chain of TXIDs per database (docs/litestream-v05.md B).
      expect(s.generation).toMatch(litestreamSeries() === '0.5' ? /^ltx$/ : /^[0-9a-f]{16}$/);
      expect(Date.parse(s.last_sync!)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(healthy.json!.health_url).toBe(base);
    expect(await get(`${base}/readyz`)).toEqual({ status: 200, body: 'ok\n' });
    expect((await get(`${base}/livez`)).status).toBe(200);
    const plain = await status(project);
    expect(plain.output).toMatch(/^bootseq .* · healthy$/m);
    expect(plain.output).toMatch(/^primary +sqlite +([0-9a-f]{16}|ltx) .*0 \(caught up\) +(-|yes)$/m);

    process.kill(litestream, 'SIGSTOP');
    try {
      await postNotes(project.port, 5);
      await expect
        .poll(async () => (await status(project, '--json')).json!.stores[0]!.lag_ms, { timeout: 10_000 })
        .toBeGreaterThan(0);
      const first = (await status(project, '--json')).json!.stores[0]!.lag_ms!;
      // It keeps rising while Litestream stays frozen (not a value set once).
      await expect
        .poll(async () => (await status(project, '--json')).json!.stores[0]!.lag_ms, { timeout: 10_000 })
        .toBeGreaterThan(first);
      // The other stores (the worker's) may pass max_lag first: wait for primary's line, the one written to.
      await expect
        .poll(async () => (await get(`${base}/readyz`)).body, { timeout: 10_000 })
        .toMatch(/^store primary: a change has waited [\d.]+ s for the replica \(health\.max_lag 2\.0 s\)$/m);
      expect((await get(`${base}/readyz`)).status).toBe(503);
      const degraded = await status(project);
      expect(degraded.exitCode).toBe(1);
      expect(degraded.output).toMatch(/DEGRADED\n {2}✗ store primary: a change has waited/);
      const metrics = parsePrometheus((await get(`${base}/metrics`)).body);
      const lag = metrics.find((m) => m.name === 'bootseq_replication_lag_seconds')!;
      expect(Number(lag.metrics.find((m) => m.labels?.['store'] === 'primary')!.value)).toBeGreaterThan(2);
    } finally {
      process.kill(litestream, 'SIGCONT');
    }
    await expect.poll(async () => (await get(`${base}/readyz`)).status, { timeout: 15_000 }).toBe(200);
    const recovered = await status(project, '--json');
    expect(recovered.exitCode).toBe(0);
    expect(recovered.json!.stores[0]!.lag_ms).toBe(0);

    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-2000)).toBe(0);
    // Gone with it: the socket, and an answer.
    expect(fs.existsSync(socketOf(project))).toBe(false);
    const after = await status(project);
    expect(after.exitCode).toBe(3);
    expect(after.output.trim()).toBe(
      `bootseq status: no bootseq is running here (no socket at ${socketOf(project)})`,
    );
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('Litestream down while the app runs (bootseq backing off before its restart): /readyz 503 naming it, status degraded, then both recover', async ({
    project,
  }) => {
    withHealth(project, { backoff: '4s' });
    const boot = project.start(['up', '--log-format', 'plain']);
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(
      await boot.waitForLine(/health on http:\/\/127\.0\.0\.1:\d+/),
    )![0];
    await boot.waitForLine(READY);
    expect((await get(`${base}/readyz`)).status).toBe(200);
    process.kill(pidOf(project.report(), 'replicate'), 'SIGKILL');
    await expect.poll(async () => (await get(`${base}/readyz`)).status, { timeout: 3000 }).toBe(503);
    expect((await get(`${base}/readyz`)).body).toMatch(/litestream/i);
    const down = await status(project, '--json');
    expect(down.exitCode).toBe(1);
    expect(down.json!.litestream.up).toBe(false);
    await boot.waitForLine(/litestream has taken over .* again/, 20_000);
    await expect.poll(async () => (await get(`${base}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('/metrics parses as Prometheus text with every metric and label; both doors are read-only and owner-only', async ({
    project,
  }) => {
    withHealth(project);
    const boot = project.start(['up', '--log-format', 'plain']);
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(
      await boot.waitForLine(/health on http:\/\/127\.0\.0\.1:\d+/),
    )![0];
    await boot.waitForLine(READY);
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheus(await res.text()).map((f) => [f.name, f]));
    const labels = (name: string, label: string) =>
      (families.get(name)?.metrics ?? []).map((m) => m.labels?.[label]).sort();
    const value = (name: string) => Number(families.get(name)?.metrics[0]?.value);
    const stores = ['cable', 'cache', 'primary', 'queue'];
    expect(labels('bootseq_replication_lag_seconds', 'store')).toEqual(stores);
    expect(labels('bootseq_last_sync_timestamp_seconds', 'store')).toEqual(stores);
    for (const m of families.get('bootseq_last_sync_timestamp_seconds')!.metrics)
      expect(Number(m.value)).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(value('bootseq_litestream_up')).toBe(1);
    expect(families.get('bootseq_litestream_restarts_total')?.type).toBe('COUNTER');
    expect(value('bootseq_litestream_restarts_total')).toBe(0);
    expect(labels('bootseq_process_up', 'process')).toEqual(['web', 'worker']);
    expect(families.get('bootseq_process_up')!.metrics.map((m) => Number(m.value))).toEqual([1, 1]);
    expect(labels('bootseq_process_restarts_total', 'process')).toEqual(['web', 'worker']);
    expect(labels('bootseq_task_duration_seconds', 'task')).toContain('migrate:primary');
    expect(labels('bootseq_phase_duration_seconds', 'phase')).toEqual([
      'lease',
      'migrate',
      'replicate',
      'restore',
      'start',
      'verify',
    ]);
    expect(value('bootseq_ready')).toBe(1);
    expect(value('bootseq_boot_duration_seconds')).toBeGreaterThan(0);

    // Read-only: nothing but GET/HEAD; /status only on the socket.
    expect((await get(`${base}/readyz`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${base}/status`)).status).toBe(404);
    const socket = socketOf(project);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(project.path('.demo/runs/control')).mode & 0o777).toBe(0o700);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
  });

  test('a socket left by a killed bootseq: status says nobody is there (exit 3), the next boot replaces it', async ({
    project,
  }) => {
    const none = await status(project);
    expect(none.exitCode).toBe(3);
    expect(none.output.trim().split('\n')).toHaveLength(1);

    // A real listener on the socket path, killed with SIGKILL: the socket file stays, nothing accepts.
    const socket = socketOf(project);
    fs.mkdirSync(project.path('.demo/runs/control'), { recursive: true, mode: 0o700 });
    const holder = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`,
    ]);
    await new Promise((r) => holder.stdout.once('data', r));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(fs.lstatSync(socket).isSocket()).toBe(true);
    const stale = await status(project);
    expect(stale.exitCode).toBe(3);
    expect(stale.output).toContain(`(${socket} was left by one that is gone)`);

    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    const answered = await status(project, '--json');
    expect(answered.exitCode, answered.output).toBe(0);
    expect(answered.json!.bootseq.pid).toBe(boot.pid);
    expect(await connects(socket)).toBe(true);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
  });
});

/** A folder outside the project (others reach it), removed with the project. */
function sharedFolder(project: TmpProject, mode: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-shared-'));
  fs.chmodSync(dir, mode);
  project.onDestroy(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function withSocket(project: TmpProject, socket: string): void {
  setKeys(project, [], { status: { socket } });
}

/** `bootseq up` that must refuse at once: its result, or (today's bug) stopped once it boots anyway. */
async function upRefused(project: TmpProject) {
  const boot = project.start(['up', '--log-format', 'plain']);
  const booted = boot.waitForLine(READY, 30_000).then(
    () => 'booted',
    () => 'timeout',
  );
  const first = await Promise.race([boot.done.then(() => 'done'), booted]);
  if (first !== 'done') process.kill(boot.pid, 'SIGTERM');
  return boot.done;
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o7777;

describe('the control socket in a folder bootseq does not own alone', () => {
  test('a 1777 folder keeps its mode; a socket another user made there is refused by up (exit 2, not waited for) and by status (exit 2, never asked)', async ({
    project,
  }) => {
    const shared = sharedFolder(project, 0o1777);
    const socket = path.join(shared, 'bootseq.sock');
    withSocket(project, socket);
    // nobody's server: it would answer anything, and says when it is asked. Spawned as nobody directly
    // (not through runuser, whose SIGKILL would leave this server running: it did, one per run).
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `require('http').createServer((q, s) => { console.log('asked'); s.end('{}'); }).listen(${JSON.stringify(socket)}, () => console.log('up'))`,
      ],
      { uid: 65534, gid: 65534 },
    );
    let heard = '';
    holder.stdout.on('data', (d: Buffer) => (heard += d.toString()));
    try {
      await expect.poll(() => heard, { timeout: 10_000 }).toContain('up');
      expect(fs.lstatSync(socket).uid).not.toBe(0);

      const asked = await status(project);
      expect(asked.exitCode).toBe(2);
      expect(asked.output.trim()).toBe(
        `bootseq status: ${socket} is a socket of uid 65534, not of this user (uid 0): not asked, its answer would be that user's word`,
      );

      const up = await upRefused(project);
      expect(up.exitCode, up.output.slice(-2000)).toBe(2);
      expect(up.stderr).toContain(
        `Error: status.socket: ${socket} is a socket of uid 65534 (nobody), not of the user bootseq runs as (uid 0 (root)): bootseq neither waits for it nor replaces it; nothing was started`,
      );
      expect(fs.existsSync(project.path('.demo/storage'))).toBe(false);
      expect(heard).not.toContain('asked');
      expect(fs.lstatSync(socket).isSocket()).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) =>
        holder.exitCode === null ? holder.once('exit', resolve) : resolve(null),
      );
    }
    expect(modeOf(shared)).toBe(0o1777);

    // Once it is gone, bootseq's own socket there (0600), and the folder still everyone's.
    fs.rmSync(socket);
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    expect(modeOf(shared)).toBe(0o1777);
    expect(modeOf(socket)).toBe(0o600);
    expect((await status(project)).exitCode).toBe(0);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
    expect(modeOf(shared)).toBe(0o1777);
    expect(fs.existsSync(socket)).toBe(false);
  });

  test("a folder of another user, or one anyone may write to: up exits 2 naming status.socket and why, and leaves the folder's mode alone", async ({
    project,
  }) => {
    const shared = sharedFolder(project, 0o755);
    const theirs = path.join(shared, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o755 });
    fs.chownSync(theirs, 65534, 65534);
    withSocket(project, path.join(theirs, 'bootseq.sock'));
    const refused = await upRefused(project);
    expect(refused.exitCode, refused.output.slice(-2000)).toBe(2);
    expect(refused.stderr).toContain(
      `Error: status.socket: ${theirs}/bootseq.sock: its folder ${theirs} belongs to uid 65534 (nobody), not to the user bootseq runs as (uid 0 (root)); nothing was started`,
    );
    expect(refused.stderr).toMatch(/^Try: set status\.socket to a path in a folder of bootseq's own/m);
    expect(modeOf(theirs)).toBe(0o755);
    expect(fs.existsSync(project.path('.demo/storage'))).toBe(false);

    const open = path.join(shared, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    withSocket(project, path.join(open, 'bootseq.sock'));
    const writable = await upRefused(project);
    expect(writable.exitCode, writable.output.slice(-2000)).toBe(2);
    expect(writable.stderr).toContain(
      `Error: status.socket: ${open}/bootseq.sock: its folder ${open} can be written by other users (mode 0777, not sticky): they could replace the socket; nothing was started`,
    );
    expect(modeOf(open)).toBe(0o777);
    expect(processesIn(project.dir)).toEqual([]);
  });
});

function connects(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
