// Issue 30 item 2 on a real boot: the dead-man heartbeat reaches a local HTTP server while bootseq is
// ready, none while the real Litestream is frozen (SIGSTOP) under writes until the lag passes max_lag
// and /readyz answers 503, and again once it runs; a heartbeat service that fails is a warning with
// backoff that never stops the app; its URL (a secret) is never printed.

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { READY, type TmpProject, pidOf, processesIn } from '../helpers/project.js';

const KEY = 's3cr3t-check-0f6c1e2a';

interface Heartbeat {
  url: string;
  state: string;
  last_success: string | null;
  consecutive_failures: number;
  failures_total: number;
  beats_total: number;
}

/** A heartbeat receiver: answers `failFirst` calls with 500, then 204; records each call's path and time. */
async function receiver(failFirst: number) {
  const calls: { path: string; atMs: number; status: number }[] = [];
  const server = http.createServer((req, res) => {
    const status = calls.length < failFirst ? 500 : 204;
    calls.push({ path: req.url ?? '', atMs: Date.now(), status });
    res.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/ping/${KEY}`,
    calls,
    beats: () => calls.filter((c) => c.status === 204).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The demo with health on a free port, max_lag 2 s, no stall restart within the test, and the heartbeat. */
function withHeartbeat(project: TmpProject): void {
  const text = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
  const edited = text
    .replace(
      '  config: litestream.yml\n',
      '  config: litestream.yml\n  stall_timeout: 60s\n  stall_restart: 120s\n',
    )
    .replace(
      "health: { listen: '${HEALTH_LISTEN:-127.0.0.1:0}', max_lag: 30s, ready_requires_replication: false }",
      `health:\n  listen: '127.0.0.1:0'\n  max_lag: 2s\n  ready_requires_replication: true\n  heartbeat: { url: '\${HEARTBEAT_URL}', every: 300ms }\n`,
    );
  expect(edited).toContain('heartbeat:');
  project.write({ 'bootseq.yml': edited });
}

async function heartbeatOf(project: TmpProject, url: string): Promise<Heartbeat> {
  // `bootseq status` reads bootseq.yml too, so it needs the variable the URL comes from.
  const r = await project.run(['status', '--json'], { HEARTBEAT_URL: url });
  expect(r.output).not.toContain(KEY);
  return (JSON.parse(r.output) as { health: { heartbeat: Heartbeat } }).health.heartbeat;
}

describe('the dead-man heartbeat', () => {
  test('beats while ready, none while Litestream is frozen past max_lag, again once it runs; failures are warnings; the URL never printed', async ({
    project,
  }) => {
    const hc = await receiver(2);
    let litestream: number | undefined;
    try {
      withHeartbeat(project);
      const boot = project.start(['up', '--log-format', 'plain'], { HEARTBEAT_URL: hc.url });
      const base = /http:\/\/127\.0\.0\.1:\d+/.exec(
        await boot.waitForLine(/health on http:\/\/127\.0\.0\.1:\d+/),
      )![0];
      await boot.waitForLine(READY);
      // The first two calls fail: warned, retried, and the app keeps serving.
      await boot.waitForLine(
        /warn: heartbeat to http:\/\/127\.0\.0\.1:\d+\/\*\*\* failed \(1 in a row\): HTTP 500; retrying in 300 ms; the app is not affected/,
      );
      await boot.waitForLine(
        /heartbeat reaches http:\/\/127\.0\.0\.1:\d+\/\*\*\* again after 2 failed calls/,
      );
      await expect.poll(() => hc.beats(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      expect(new Set(hc.calls.map((c) => c.path))).toEqual(new Set([`/ping/${KEY}`]));
      const beating = await heartbeatOf(project, hc.url);
      expect(beating).toMatchObject({
        url: `${hc.url.slice(0, hc.url.indexOf('/ping/'))}/***`,
        state: 'beating',
        consecutive_failures: 0,
        failures_total: 2,
      });
      expect(Date.parse(beating.last_success!)).toBeGreaterThan(Date.now() - 60_000);
      const metrics = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
      const last = metrics.find((m) => m.name === 'bootseq_heartbeat_last_success_timestamp_seconds');
      expect(Number(last?.metrics[0]?.value)).toBeGreaterThan(Date.now() / 1000 - 60);
      const failures = metrics.find((m) => m.name === 'bootseq_heartbeat_failures_total');
      expect(failures?.metrics[0]?.value).toBe('2');

      litestream = pidOf(project.report(), 'replicate');
      process.kill(litestream, 'SIGSTOP');
      for (let i = 0; i < 5; i += 1) {
        const res = await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: `n${i}` });
        expect(res.status).toBe(201);
      }
      await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 15_000 }).toBe(503);
      await boot.waitForLine(
        /warn: heartbeat paused: not ready \(store primary: a change has waited [\d.]+ s for the replica .*\); no calls to http:\/\/127\.0\.0\.1:\d+\/\*\*\* until ready again/,
      );
      expect((await heartbeatOf(project, hc.url)).state).toBe('paused');
      const pausedAt = Date.now();
      const beatsWhenPaused = hc.beats();
      // Still frozen, and the lag keeps growing: no call reaches the receiver meanwhile.
      await expect
        .poll(
          async () => {
            const s = JSON.parse(
              (await project.run(['status', '--json'], { HEARTBEAT_URL: hc.url })).output,
            ) as {
              stores: { name: string; lag_ms: number }[];
            };
            return s.stores.find((st) => st.name === 'primary')!.lag_ms;
          },
          { timeout: 15_000 },
        )
        .toBeGreaterThan(4000);
      expect(hc.calls.filter((c) => c.atMs > pausedAt)).toEqual([]);
      expect(hc.beats()).toBe(beatsWhenPaused);

      process.kill(litestream, 'SIGCONT');
      litestream = undefined;
      await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 15_000 }).toBe(200);
      await boot.waitForLine(/heartbeat resumed: ready again/, 15_000);
      await expect.poll(() => hc.beats(), { timeout: 10_000 }).toBeGreaterThan(beatsWhenPaused);

      process.kill(boot.pid, 'SIGTERM');
      const result = await boot.done;
      expect(result.exitCode, result.output.slice(-3000)).toBe(0);
      expect(result.output).not.toContain(KEY);
      const reportText = fs.readFileSync(
        project.path(
          '.demo/runs',
          fs
            .readdirSync(project.path('.demo/runs'))
            .filter((f) => f.endsWith('.json'))
            .sort()
            .at(-1)!,
        ),
        'utf8',
      );
      expect(reportText).not.toContain(KEY);
      const report = JSON.parse(reportText) as { checks?: { heartbeat: Heartbeat } };
      expect(report.checks?.heartbeat.beats_total).toBeGreaterThan(beatsWhenPaused);
      expect(processesIn(project.dir)).toEqual([]);
    } finally {
      if (litestream !== undefined) process.kill(litestream, 'SIGCONT');
      await hc.close();
    }
  });
});
