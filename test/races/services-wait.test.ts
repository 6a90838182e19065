// services: (issue 19) a real redis-server that comes up 2 s after bootseq: the boot waits for PONG, and
// no migration starts before it. Three runs in a row, as the wait races Redis's start: with the races
// (`npm run test:races`). test/integration/services.test.ts has the rest of the services tests.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect } from 'vitest';
import { useServices } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { closedPort } from '../helpers/ports.js';
import { migrates, taskOf } from '../helpers/project.js';
import { startRedis, stopServer, stopServers } from '../helpers/servers.js';

afterEach(stopServers);

describe('waiting for Redis', () => {
  test('started 2 s after bootseq: the boot waits for PONG, then migrates (3 runs)', async ({ project }) => {
    for (let run = 0; run < 3; run += 1) {
      const closed = await closedPort(project);
      const port = closed.port;
      if (run === 0)
        useServices(project, `  redis: { url: "redis://127.0.0.1:\${REDIS_PORT}", wait: 20s }\n`);
      const startedAt = Date.now();
      const boot = project.start(['up', '--until', 'migrate', '--log-format', 'plain'], {
        REDIS_PORT: String(port),
      });
      await boot.waitForLine(
        /\[service:redis\] waiting for redis at redis:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
      );
      // The scenario, not a hope: Redis comes up 2 s after bootseq, however long bootseq took to start.
      await sleep(Math.max(0, 2000 - (Date.now() - startedAt)));
      await closed.release();
      const redis = await startRedis(port);
      const result = await boot.done;
      expect(result.exitCode, result.output.slice(-2000)).toBe(0);
      expect(result.output).toMatch(/\[service:redis\] answered PONG after [\d.]+ s \(\d+ attempts\)/);
      const service = taskOf(project, 'service:redis');
      expect(service.status).toBe('ok');
      expect(service['attempts']).toBeGreaterThan(1);
      expect(service['waited_ms']).toBeGreaterThanOrEqual(1500);
      // Every migration began only once Redis had answered.
      expect(migrates(project)).toHaveLength(4);
      for (const m of migrates(project)) {
        expect(m.status).toBe('ok');
        expect(m.started_at_ms).toBeGreaterThanOrEqual(service.ended_at_ms ?? Infinity);
      }
      await stopServer(redis);
    }
  });
});
