// services: (issue 19) through the built CLI: a real redis-server started on a free loopback port
// after bootseq (with and without a password), an HTTP service answering 503 then 200, a closed
// port, Ctrl+C during a wait, a service only one process waits for, and URLs refused at preflight.
// Every server is started here and killed by PID, pass or fail.

import fs from 'node:fs';
import { afterEach, describe, expect } from 'vitest';
import { setKeys, useServices } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { closedPort } from '../helpers/ports.js';
import { freePort, migrates, taskOf } from '../helpers/project.js';
import { startHttp, startRedis, stopServers } from '../helpers/servers.js';

afterEach(stopServers);

describe('waiting for Redis', () => {
  test('with a password: AUTH before PING; none or a wrong one fails naming the server’s answer, and the password shows nowhere', async ({
    project,
  }) => {
    const password = 'Sw0rdfish-r3dis';
    const port = await freePort();
    await startRedis(port, '--requirepass', password);
    useServices(project, `  redis: { url: "\${REDIS_URL}", wait: 2s }\n`);
    const url = (userinfo: string) => ({ REDIS_URL: `redis://${userinfo}127.0.0.1:${port}/0` });

    const plan = await project.run(['plan'], url(`:${password}@`));
    expect(plan.output).toContain(`redis://:***@127.0.0.1:${port}/0`);
    const ok = await project.run(['up', '--until', 'migrate', '--log-format', 'plain'], url(`:${password}@`));
    expect(ok.exitCode, ok.output.slice(-2000)).toBe(0);
    expect(ok.output).toMatch(/\[service:redis\] answered PONG/);
    const okReport = JSON.stringify(project.report());
    // The user:password form sends AUTH default PASSWORD (Redis 6+ ACL).
    const withUser = await project.run(
      ['up', '--until', 'migrate', '--log-format', 'json'],
      url(`default:${password}@`),
    );
    expect(withUser.exitCode, withUser.output.slice(-2000)).toBe(0);

    const none = await project.run(['up', '--until', 'migrate'], url(''));
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(
      new RegExp(
        `service:redis failed: redis did not answer at redis://127\\.0\\.0\\.1:${port}/0 within 2s \\(\\d+ attempts; last error: NOAUTH`,
      ),
    );
    const wrong = await project.run(['up', '--until', 'migrate'], url(':not-the-password@'));
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(
      /service:redis failed: redis did not answer at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 .*last error: WRONGPASS/,
    );
    expect(taskOf(project, 'service:redis')['last_error']).toMatch(/^WRONGPASS/);
    expect(migrates(project).map((m) => m.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    const wrongReport = JSON.stringify(project.report());
    for (const text of [plan.output, ok.output, withUser.output, okReport, wrong.output, wrongReport])
      expect(text).not.toContain(password);
    expect(wrong.output + wrongReport).not.toContain('not-the-password');
  });
});

describe('waiting for HTTP and TCP', () => {
  test('503 three times, then 200: the boot proceeds after the first 2xx', async ({ project }) => {
    const port = await freePort();
    const { answers } = await startHttp(port, 3, 503);
    useServices(project, `  billing: { url: "http://127.0.0.1:${port}/health", wait: 20s }\n`);
    const result = await project.run(['up', '--until', 'migrate', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-2000)).toBe(0);
    expect(answers).toEqual(['answered 503', 'answered 503', 'answered 503', 'answered 200']);
    expect(result.output).toMatch(
      /\[service:billing\] waiting for billing at http:\/\/127\.0\.0\.1:\d+\/health: HTTP 503/,
    );
    expect(result.output).toMatch(/\[service:billing\] answered HTTP 200 after .* \(4 attempts\)/);
    expect(taskOf(project, 'service:billing')['attempts']).toBe(4);
  });

  test('a closed port: exit 1 within wait + 1 s, naming the service, the address and the last error; nothing migrated', async ({
    project,
  }) => {
    const { port } = await closedPort(project);
    useServices(project, `  broker: { url: "amqp://guest:guest-pw@127.0.0.1:${port}", wait: 2s }\n`);
    const startedAt = Date.now();
    const result = await project.run(['up', '--until', 'migrate']);
    const elapsedMs = Date.now() - startedAt;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `Error: service:broker failed: broker did not answer at amqp://guest:***@127.0.0.1:${port} within 2s (`,
    );
    expect(result.stderr).toMatch(/last error: ECONNREFUSED\)/);
    expect(result.stderr).toContain('raise services.broker.wait');
    const broker = taskOf(project, 'service:broker');
    expect(broker.status).toBe('failed');
    expect(broker['waited_ms']).toBeLessThan(3000);
    expect(broker['last_error']).toBe('ECONNREFUSED');
    // The whole run, node's start-up and the report included.
    expect(elapsedMs).toBeLessThan(3000 + 1500);
    expect(migrates(project).map((m) => m.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
  });

  test('Ctrl+C while waiting: exit 130 at once, nothing migrated', async ({ project }) => {
    const { port } = await closedPort(project);
    useServices(project, `  broker: { url: "tcp://127.0.0.1:${port}", wait: 30s }\n`);
    const boot = project.start(['up', '--until', 'migrate', '--log-format', 'plain']);
    await boot.waitForLine(/\[service:broker\] waiting for broker/);
    const signalledAt = Date.now();
    boot.child.kill('SIGINT');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-2000)).toBe(130);
    expect(Date.now() - signalledAt).toBeLessThan(5000);
    expect(taskOf(project, 'service:broker').status).toBe('cancelled');
    expect(migrates(project).every((m) => m.status === 'skipped')).toBe(true);
  });
});

describe('a service only one process waits for', () => {
  test('processes.web.after: [api]: migrate does not wait for it, web does; plan says so', async ({
    project,
  }) => {
    const closed = await closedPort(project);
    const port = closed.port;
    useServices(project, `  api: { url: "http://127.0.0.1:${port}/up", wait: 20s }\n`);
    setKeys(project, ['processes', 'web'], { after: '[api]' });

    const plan = await project.run(['plan']);
    expect(plan.exitCode, plan.output).toBe(0);
    expect(plan.output).toMatch(
      /service:api +wait for http:\/\/127\.0\.0\.1:\d+\/up until GET answered 2xx \(up to 20s\)\n +after: replicate\n +before: start:web\n/,
    );
    expect(plan.output).toMatch(/start:web .*\n +after: start:worker, replicate, service:api$/m);
    expect(plan.output).not.toMatch(/migrate:\S+ .*\n +after: .*service:api/);
    const planned = await project.run(['plan', '--until', 'migrate']);
    expect(planned.output).not.toContain('service:');

    // Nothing listens on the port: migrate still runs, as it does not need the API.
    const migrated = await project.run(['up', '--until', 'migrate']);
    expect(migrated.exitCode, migrated.output.slice(-2000)).toBe(0);
    expect(project.report().tasks.some((t) => t.phase === 'service')).toBe(false);

    await closed.release();
    const { answers } = await startHttp(port, 2, 503);
    const ready = await project.run(['up', '--until', 'ready', '--log-format', 'plain']);
    expect(ready.exitCode, ready.output.slice(-2000)).toBe(0);
    expect(answers.slice(0, 3)).toEqual(['answered 503', 'answered 503', 'answered 200']);
    const api = taskOf(project, 'service:api');
    const replicate = taskOf(project, 'replicate');
    const web = taskOf(project, 'start:web');
    expect(api.status).toBe('ok');
    expect(api.started_at_ms).toBeGreaterThanOrEqual(replicate.ended_at_ms ?? Infinity);
    expect(web.started_at_ms).toBeGreaterThanOrEqual(api.ended_at_ms ?? Infinity);
  });
});

describe('URLs refused at preflight', () => {
  test.for<[string, string, string]>([
    ['no scheme', 'localhost:6379', 'services.cache.url: expected a URL such as redis://host:6379'],
    ['redis:/x', 'redis:/x', 'services.cache.url: expected redis://HOST after the scheme, found "redis:/x"'],
    [
      'port 99999',
      'redis://:pw-in-url@127.0.0.1:99999',
      'services.cache.url: has the port "99999" (expected 1 to 65535), found "redis://:***@127.0.0.1:99999"',
    ],
    ['http:// without a host', 'http://', 'services.cache.url: has no host'],
  ])('%s: exit 2, the key named, nothing touched', async ([, url, expected], { project }) => {
    useServices(project, `  cache: { url: "${url}" }\n`);
    for (const args of [['up'], ['plan'], ['migrate']]) {
      const result = await project.run(args);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain('Error: bootseq.yml is invalid; nothing was started:');
      expect(result.stderr).toContain(`bootseq.yml: ${expected}`);
      expect(result.stderr).not.toContain('pw-in-url');
    }
    expect(fs.existsSync(project.path('.demo'))).toBe(false);
  });
});
