// Issue 29, item 6: what bootseq prints about foreign text it quotes (a file name with a newline and
// ESC, a 20 MB unterminated quote) in every format: escaped, one line, bounded. The child-output lines
// were escaped already; these are bootseq's own lines (notes, task ends, the error on stderr).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import type { TmpProject } from '../helpers/project.js';

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** The newest run report's size in bytes. */
function reportBytes(project: TmpProject): number {
  const dir = project.path('.demo/runs');
  const newest = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .at(-1)!;
  return fs.statSync(path.join(dir, newest)).size;
}

/** A store with sync (docs/sync.md) in `project/node`, migrated: its inbox is `node/inbox`. */
async function syncNode(project: TmpProject): Promise<{ config: string; inbox: string }> {
  const dir = project.path('node');
  fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'db', '001_items.sql'), 'CREATE TABLE items (id INTEGER PRIMARY KEY);\n');
  fs.writeFileSync(
    path.join(dir, 'litestream.yml'),
    'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - path: replica/app\n',
  );
  fs.writeFileSync(
    path.join(dir, 'bootseq.yml'),
    'version: 1\nlitestream: { config: litestream.yml }\nstores:\n  app:\n    sqlite: data/app.sqlite3\n    migrate: { dir: db, history: bootseq }\n    sync: { node: main-1, role: main, tables: [items], inbox: inbox }\n',
  );
  const config = 'node/bootseq.yml';
  const migrated = await project.run(['migrate', '--config', config]);
  expect(migrated.exitCode, migrated.output).toBe(0);
  fs.mkdirSync(path.join(dir, 'inbox'), { recursive: true });
  return { config, inbox: path.join(dir, 'inbox') };
}

describe("bootseq's own lines quote foreign text escaped and bounded", () => {
  test('an inbox file named with a newline and ESC: one escaped line in the plain log and on stderr, no raw ESC, no forged line', async ({
    project,
  }) => {
    const { config, inbox } = await syncNode(project);
    const forged = '2026-01-01T00:00:00.000Z [start:web] ready';
    const name = `x\n${forged}\x1b[2J\x1b]0;pwned\x07.ndjson`;
    fs.writeFileSync(path.join(inbox, name), 'not a change file\n');
    for (const format of ['plain', 'json'] as const) {
      if (format === 'json') fs.writeFileSync(path.join(inbox, name), 'not a change file\n');
      const result = await project.run([
        'up',
        '--until',
        'verify',
        '--config',
        config,
        '--log-format',
        format,
      ]);
      expect(result.exitCode, result.output).toBe(1);
      expect(result.output).not.toContain('\x1b');
      expect(result.output).not.toContain('\x07');
      const lines = result.output.split('\n').filter((l) => l !== '');
      // No line begins with the forged text: it stays inside the line that quotes it.
      expect(lines.filter((l) => l.startsWith(forged))).toEqual([]);
      if (format === 'plain') {
        expect(result.stderr).toContain(
          `Error: sync:app failed: x\\n${forged}\\x1b[2J\\x1b]0;pwned\\x07.ndjson was refused whole`,
        );
        for (const line of lines.filter((l) => !l.startsWith('Error: ') && !l.startsWith('Try: ')))
          expect(line).toMatch(STAMP);
        expect(lines.find((l) => l.includes('[sync:app] FAILED'))).toContain(
          `: sync:app failed: x\\n${forged}\\x1b[2J\\x1b]0;pwned\\x07.ndjson was refused whole`,
        );
      } else {
        const events = lines.map((l) => JSON.parse(l) as { event: string; message?: string });
        expect(events.find((e) => e.event === 'error')?.message).toContain(
          `sync:app failed: x\\n${forged}\\x1b[2J\\x1b]0;pwned\\x07.ndjson was refused whole`,
        );
      }
    }
  });

  test('a migration file name with ESC and BEL: escaped where it is named', async ({ project }) => {
    project.write({
      'examples/demo/db/cache/002_evil\x1b[2J\x1b]0;pwned\x07.sql': 'CREATE TABLE evil (a INTEGER);\n',
    });
    const result = await project.run(['migrate', 'cache', '--log-format', 'plain']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('[migrate:cache] applied 002_evil\\x1b[2J\\x1b]0;pwned\\x07.sql');
    expect(result.output).not.toContain('\x1b');
  });

  test('a 20 MB unterminated quote in a migration: the error quotes 300 characters with the file and line, in every format; log and run report stay small', async ({
    project,
  }) => {
    const big = 20 * 1024 * 1024;
    project.write({
      'examples/demo/db/cache/002_quote.sql': `CREATE TABLE t (a TEXT);\nINSERT INTO t VALUES ('${'x'.repeat(big)}\n`,
    });
    for (const format of ['plain', 'json'] as const) {
      const result = await project.run(['migrate', 'cache', '--log-format', format]);
      expect(result.exitCode).toBe(1);
      expect(result.output.length).toBeLessThan(20_000);
      expect(reportBytes(project)).toBeLessThan(100_000);
      expect(result.output).toMatch(
        new RegExp(
          `examples/demo/db/cache/002_quote\\.sql:2: unrecognized token: \\\\?"'x{278}… \\(${big + 23} characters; the first 300 shown\\)`,
        ),
      );
    }
  });
});
