// `bootseq report` prints the last run report as a table; `--json` prints the report itself.

import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';

describe('bootseq report', () => {
  test('the last run as a table and as JSON', async ({ project }) => {
    const none = await project.run(['report']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no run report in ');

    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    const table = await project.run(['report']);
    expect(table.exitCode).toBe(0);
    expect(table.output).toMatch(/bootseq up, started .*: ok, exit 0/);
    expect(table.output).toMatch(/^migrate:primary +ok +\d+ ms +-$/m);
    expect(table.output).toMatch(/^ {2}primary +ok {4}wal: journal_mode=wal$/m);
    expect(table.output).toMatch(
      /^ {2}primary {2}20260101000001_create_notes\.sql {2}[0-9a-f]{96} {2}\d+ ms$/m,
    );

    const json = await project.run(['report', '--json']);
    const report = JSON.parse(json.output) as { exit_code: number; tasks: { id: string }[] };
    expect(report.exit_code).toBe(0);
    expect(report.tasks.map((t) => t.id)).toContain('verify:cable');
  });
});
