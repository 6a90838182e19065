// A migration command exiting 3: exit 1, the message names the store and the command, Litestream and
// the processes never started, no process left running.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { processesIn } from '../helpers/project.js';

describe('a failing migration stops the boot', () => {
  test('migrate exits 3 → bootseq exits 1 naming migrate:queue and its command', async ({ project }) => {
    const yml = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
    const failing = `sh -c 'echo "relation jobs: syntax error near line 3" >&2; exit 3'`;
    const lines = yml.split('\n');
    const queueAt = lines.findIndex((l) => l.trim() === 'queue:');
    const migrateAt = lines.findIndex((l, i) => i > queueAt && l.includes('migrate:'));
    lines[migrateAt] = `    migrate: { command: "${failing.replace(/"/g, '\\"')}" }`;
    project.write({ 'bootseq.yml': lines.join('\n') });

    const result = await project.run(['up']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: migrate:queue failed:');
    expect(result.stderr).toContain(failing);
    expect(result.stderr).toContain('exited with code 3');
    expect(result.stderr).toContain('syntax error near line 3');
    expect(result.stderr).toMatch(/Try: .*nothing was replicated and no process was started/);
    expect(result.output).not.toMatch(/\[litestream\]/);

    const report = project.report();
    const status = (id: string) => report.tasks.find((t) => t.id === id)?.status;
    expect(status('migrate:queue')).toBe('failed');
    expect(report.tasks.find((t) => t.id === 'migrate:queue')?.exit_code).toBe(3);
    expect(status('replicate')).toBe('skipped');
    expect(status('start:worker')).toBe('skipped');
    expect(status('start:web')).toBe('skipped');
    expect(report.shutdown).toEqual([]);
    expect(report.exit_code).toBe(1);
    expect(processesIn(project.dir)).toEqual([]);
    expect(fs.existsSync(project.path('.demo/replica'))).toBe(false);
  });
});
