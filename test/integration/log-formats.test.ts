// The three renderers on a real boot: json (one object per line), plain (timestamped, prefixed), and
// pretty (a listr2 list on a TTY; `script` gives the CLI a pseudo-terminal).

import { spawnSync } from 'node:child_process';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { CLI } from '../helpers/project.js';

describe('log formats', () => {
  test('--log-format json: every line is one JSON event opening with time, level and msg', async ({
    project,
  }) => {
    const result = await project.run(['up', '--until', 'ready', '--log-format', 'json']);
    expect(result.exitCode).toBe(0);
    const lines = result.output.split('\n').filter(Boolean);
    const events = lines.map(
      (line) =>
        JSON.parse(line) as { time: string; level: string; msg: string; event: string; task?: string },
    );
    expect(events[0]?.event).toBe('plan');
    // What pino, bunyan and slog pipelines look for, on every line, first.
    expect(lines.filter((l) => !/^\{"time":"[^"]+","level":"(info|warn|error)","msg":"/.test(l))).toEqual([]);
    expect(events.filter((e) => e.msg === '')).toEqual([]);
    expect(events.find((e) => e.event === 'task-end' && e.task === 'start:web')?.msg).toMatch(
      /^start:web ok in \d+ ms$/,
    );
    expect(events.find((e) => e.event === 'task-output' && e.task === 'start:worker')?.msg).toBe(
      'worker started',
    );
    expect(events.filter((e) => 'text' in e)).toEqual([]);
    expect(events.filter((e) => e.event === 'task-end').map((e) => e.task)).toContain('verify:cable');
    expect(events.some((e) => e.event === 'note' && e.task === 'migrate:primary')).toBe(true);
  });

  test('plain: timestamped lines prefixed with the task or process', async ({ project }) => {
    const result = await project.run(['up', '--until', 'ready', '--log-format', 'plain']);
    expect(result.exitCode).toBe(0);
    expect(result.output).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[migrate:primary\] applied 20260101000001_create_notes\.sql \(\d+ ms\)$/m,
    );
    expect(result.output).toMatch(/Z \[litestream\] time=.* msg="sync: new generation"/);
    expect(result.output).toMatch(/Z \[worker\] worker started$/m);
    expect(result.output).toMatch(/Z \[web\] web listening on http:\/\/127\.0\.0\.1:\d+/);
  });

  test('auto on a TTY: a listr2 task list, then plain lines', ({ project }) => {
    const result = spawnSync(
      'script',
      ['-qec', `stty cols 120 rows 40; ${process.execPath} ${CLI} up --until ready`, '/dev/null'],
      {
        cwd: project.dir,
        env: { ...process.env, DEMO_PORT: String(project.port), NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status, result.stderr).toBe(0);
    // eslint-disable-next-line no-control-regex -- strip the terminal escape sequences listr2 draws with
    const screen = result.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(screen).toMatch(/✔ replicate {2}[\d.]+ m?s · litestream \(pid \d+\) has taken over 4 stores/);
    expect(screen).toMatch(/✔ verify:primary {2}[\d.]+ m?s · 7 gates passed/);
    expect(screen).toMatch(/✔ start:web {2}[\d.]+ m?s · ready on http:\/\/127\.0\.0\.1:\d+/);
    // The summary, not a replay: no gate line is printed after the list.
    expect(screen).not.toMatch(/ok {3}quick_check/);
    expect(screen).toContain('bootseq exits with code 0');
  });
});
