// Readiness that only a 2xx satisfies, and a real password that never reaches the log, `plan` or the
// run report even when the app prints its own connection URL, whatever bytes it holds (quotes, a
// space, % and @ against a real redis-server); a secret file that is a FIFO with no writer.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect } from 'vitest';
import { fixture, setKeys, useProcesses, useServices } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { freePort, processesIn } from '../helpers/project.js';
import { startHttp, startRedis, stopServers } from '../helpers/servers.js';

afterEach(stopServers);

describe('http readiness', () => {
  test('503 three times, then 200: not ready before the first 2xx', async ({ project }) => {
    const port = await freePort();
    useProcesses(
      project,
      `  api:\n    command: ${fixture('http-status.mjs', String(port), '3', '503')}\n    ready: { http: "http://127.0.0.1:${port}/up", timeout: 20s }\n`,
    );
    const result = await project.run(['up', '--until', 'ready', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-2000)).toBe(0);
    const answers = result.output.match(/\[api\] answered \d+/g) ?? [];
    expect(answers.slice(0, 4)).toEqual([
      '[api] answered 503',
      '[api] answered 503',
      '[api] answered 503',
      '[api] answered 200',
    ]);
    // Not ready on a 503: all three were answered before ready was announced. (The 200's own line may
    // come after it: the answer and the child's output line travel on two channels.)
    const lines = result.output.split('\n');
    const third503 = lines.findLastIndex((l) => l.includes('[api] answered 503'));
    const ready = lines.findIndex((l) => l.includes('[start:api] ok in'));
    expect(ready).toBeGreaterThan(third503);
    expect(project.report().tasks.find((t) => t.id === 'start:api')?.status).toBe('ok');
  });

  test('500 forever: not ready within its timeout, exit 1 naming the status', async ({ project }) => {
    const port = await freePort();
    useProcesses(
      project,
      `  api:\n    command: ${fixture('http-status.mjs', String(port), '-1', '500')}\n    ready: { http: "http://127.0.0.1:${port}/up", timeout: 2s }\n`,
    );
    const result = await project.run(['up', '--until', 'ready']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /start:api failed: api was not ready within 2s \(ready: http .*; last check: .*500/,
    );
    expect(processesIn(project.dir)).toEqual([]);
  });
});

describe('a real password', () => {
  test('printed by the app, in plan, log and report: always ***', async ({ project }) => {
    const password = 'Tr0ub4dor&3-horse';
    const url = `postgres://app:${password}@db.internal:5432/app`;
    fs.writeFileSync(project.path('db-url'), `${url}\n`);
    useProcesses(
      project,
      `  web:\n    command: ${fixture('echo-env.mjs', 'DATABASE_URL')} --db "\${DATABASE_URL}"\n    ready: { log: "^ready$" }\n`,
    );
    const env = { DATABASE_URL_FILE: project.path('db-url') };
    const plan = await project.run(['plan'], env);
    const up = await project.run(['up', '--until', 'ready', '--log-format', 'plain'], env);
    const json = await project.run(['up', '--until', 'ready', '--log-format', 'json'], env);
    expect(up.exitCode, up.output.slice(-2000)).toBe(0);
    expect(up.output).toContain('[web] my database is postgres://app:***@db.internal:5432/app');
    expect(plan.output).toContain('postgres://app:***@db.internal:5432/app');
    const report = JSON.stringify(project.report());
    for (const text of [plan.output, up.output, json.output, report]) expect(text).not.toContain(password);
  });
});

describe('a password whatever bytes it holds (issue 29)', () => {
  test('quotes, a space, % and @ in a Redis URL from a variable, and a ?token=: AUTH works, never shown; a wrong one fails readably', async ({
    project,
  }) => {
    const password = `p@Qx7'kp"Vb9 wz%`;
    const token = 't0k3n-s3cr3t-v4lue';
    const [redisPort, httpPort] = [await freePort(), await freePort()];
    await startRedis(redisPort, '--requirepass', password);
    await startHttp(httpPort, 0, 200);
    useProcesses(
      project,
      `  web:\n    command: ${fixture('echo-env.mjs', 'REDIS_URL')}\n    after: [redis, api]\n    ready: { log: "^ready$" }\n`,
    );
    useServices(
      project,
      `  redis: { url: "\${REDIS_URL}", wait: 10s }\n  api: { url: "http://127.0.0.1:${httpPort}/up?token=${token}", wait: 10s }\n`,
    );
    const env = (pw: string) => ({ REDIS_URL: `redis://default:${pw}@127.0.0.1:${redisPort}/0` });
    const shown = `redis://default:***@127.0.0.1:${redisPort}/0`;

    const plan = await project.run(['plan'], env(password));
    const planJson = await project.run(['plan', '--log-format', 'json'], env(password));
    expect(plan.exitCode, plan.output).toBe(0);
    expect(plan.output).toContain(`wait for ${shown} until AUTH, then PING answered PONG`);
    expect(plan.output).toContain(`http://127.0.0.1:${httpPort}/up?token=***`);
    const plain = await project.run(['up', '--until', 'ready', '--log-format', 'plain'], env(password));
    expect(plain.exitCode, plain.output.slice(-2000)).toBe(0);
    expect(plain.output).toContain('[service:redis] answered PONG');
    expect(plain.output).toContain(`[web] my database is ${shown}`);
    const plainReport = JSON.stringify(project.report());
    const json = await project.run(['up', '--until', 'ready', '--log-format', 'json'], env(password));
    expect(json.exitCode, json.output.slice(-2000)).toBe(0);
    const jsonReport = JSON.stringify(project.report());

    // A wrong password is answered WRONGPASS at every attempt: 2 s of them say as much as 10 s.
    setKeys(project, ['services', 'redis'], { wait: '2s' });
    const wrong = await project.run(['up', '--until', 'ready'], env(`p@wr0ng'pass"w %`));
    expect(wrong.exitCode).toBe(1);
    // Readable: the address with the user, and Redis's own words, not "username-***assword ***air".
    expect(wrong.stderr).toContain(`service:redis failed: redis did not answer at ${shown} within 2s`);
    expect(wrong.stderr).toContain(
      'last error: WRONGPASS invalid username-password pair or user is disabled.',
    );
    const wrongReport = JSON.stringify(project.report());

    const texts = [plan.output, planJson.output, plain.output, plainReport, json.output, jsonReport];
    for (const text of [...texts, wrong.output, wrongReport])
      for (const secret of [password, JSON.stringify(password).slice(1, -1), 'Vb9 wz', token, `wr0ng'pass`])
        expect(text).not.toContain(secret);
  });
});

describe('a secret file that is not a regular file', () => {
  test('a FIFO with no writer: bootseq plan exits 2 at once, naming the variable, the path and what it is', async ({
    project,
  }) => {
    const fifo = project.path('token.fifo');
    execFileSync('mkfifo', [fifo]);
    useProcesses(project, `  web:\n    command: node web.js \${TOKEN}\n`);
    // Within a second of an ordinary plan (a regular secret file): the FIFO is never opened.
    fs.writeFileSync(project.path('token.txt'), 'tok-123456\n');
    let started = Date.now();
    expect((await project.run(['plan'], { TOKEN_FILE: project.path('token.txt') })).exitCode).toBe(0);
    const ordinaryMs = Date.now() - started;
    started = Date.now();
    const result = await project.run(['plan'], { TOKEN_FILE: fifo });
    expect(Date.now() - started).toBeLessThan(ordinaryMs + 1000);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      `processes.web.command: TOKEN_FILE names ${fifo}, which is a FIFO (named pipe), not a regular file`,
    );
  });
});
