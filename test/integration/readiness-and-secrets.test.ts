// Readiness that only a 2xx satisfies, and a real password that never reaches the log, `plan` or the
// run report even when the app prints its own connection URL.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { fixture, useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { freePort, processesIn } from '../helpers/project.js';

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
