// Bad config through the real CLI: exit 2, the key path in the message, nothing touched. And the
// light commands (--version, --help, plan) never load listr2, pg, better-sqlite3 or execa.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { COMMANDS } from '../../entrypoint/commands/index.js';
import { test } from '../helpers/fixtures.js';
import { CLI, REPO } from '../helpers/project.js';

type Edit = readonly [from: string, to: string];
const QUEUE_MIGRATE = 'migrate: { dir: examples/demo/db/queue, history: flyway }';

describe('bad config is refused with exit 2 and nothing is touched', () => {
  test.for<[string, Edit, string]>([
    [
      'an unknown key',
      ['  queue:\n', '  queue:\n    aftr: [primary]\n'],
      'bootseq.yml: stores.queue.aftr: unknown key "aftr"',
    ],
    [
      'a wrong type',
      ['shutdown: { grace: 10s', 'shutdown: { grace: 10'],
      'bootseq.yml: shutdown.grace: expected a duration like 500ms, 20s, 2m or 1m30s, found 10',
    ],
    [
      'an unknown after: target',
      ['  queue:\n', '  queue:\n    after: [primry]\n'],
      'bootseq.yml: stores.queue.after[0]: unknown store "primry" (stores: primary, queue, cache, cable)',
    ],
    [
      'a store missing from litestream.yml',
      ['.demo/storage/cable.sqlite3', '.demo/storage/cables.sqlite3'],
      'bootseq.yml: stores.cable.sqlite: .demo/storage/cables.sqlite3 is not in litestream.yml',
    ],
    [
      'a missing migrations dir',
      [QUEUE_MIGRATE, QUEUE_MIGRATE.replace('examples/demo/db/queue', 'db/missing')],
      'bootseq.yml: stores.queue.migrate.dir: db/missing is not a directory',
    ],
    [
      'a missing migrate command',
      [QUEUE_MIGRATE, 'migrate: { command: bin/migrate-queue }'],
      'bootseq.yml: stores.queue.migrate.command: bin/migrate-queue is not an executable file',
    ],
  ])('%s', async ([, [from, to], expected], { project }) => {
    const text = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
    expect(text).toContain(from);
    project.write({ 'bootseq.yml': text.replace(from, to) });
    for (const args of [['up'], ['plan']]) {
      const result = await project.run(args);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('Error: bootseq.yml is invalid; nothing was started:');
      expect(result.stderr).toContain(expected);
      expect(result.stderr).toContain('Try: ');
    }
    expect(fs.existsSync(project.path('.demo'))).toBe(false);
  });

  test('an unset ${VAR} in litestream.yml is refused before any restore', async ({ project }) => {
    project.write({
      'litestream.yml': fs
        .readFileSync(project.path('litestream.yml'), 'utf8')
        .replace('.demo/replica/queue', '${REPLICA_ROOT}/queue'),
    });
    const result = await project.run(['up'], { REPLICA_ROOT: '' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('litestream.yml: ${REPLICA_ROOT} is not set or empty');
    expect(fs.existsSync(project.path('.demo'))).toBe(false);
  });

  test('a litestream.bin that is neither v0.3.x nor v0.5.x (a real program saying v0.4.0) is refused before anything runs', async ({
    project,
  }) => {
    project.write({ 'bin/litestream': '#!/bin/sh\n[ "$1" = version ] && echo v0.4.0 && exit 0\nexit 1\n' });
    fs.chmodSync(project.path('bin/litestream'), 0o755);
    const text = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
    project.write({
      'bootseq.yml': text.replace(
        '  config: litestream.yml\n',
        '  config: litestream.yml\n  bin: bin/litestream\n',
      ),
    });
    const result = await project.run(['up']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /litestream\.bin: .*bin\/litestream is Litestream v0\.4\.0; bootseq supports v0\.3\.x \(tested with v0\.3\.13\) and v0\.5\.x \(tested with v0\.5\.17\)/,
    );
    expect(fs.existsSync(project.path('.demo'))).toBe(false);
  });

  test('bad usage exits 2', async ({ project }) => {
    const unknown = await project.run(['upp']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Error: unknown command "upp"');
    const until = await project.run(['up', '--until', 'later']);
    expect(until.exitCode).toBe(2);
    expect(until.stderr).toContain(
      '--until: expected one of restore, migrate, seed, verify, replicate, ready, found "later"',
    );
    const flag = await project.run(['up', '--frobnicate']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--frobnicate'");
    // Checked against the commands' specs: an option of another command, positionals where none go.
    const misplaced = await project.run(['verify', '--until', 'ready']);
    expect(misplaced.exitCode).toBe(2);
    expect(misplaced.stderr).toContain('Error: --until applies to `bootseq up` and `bootseq plan` only');
    expect(misplaced.stderr).toContain('Try: run `bootseq help verify` for its usage and options');
    const extra = await project.run(['plan', 'primary']);
    expect(extra.exitCode).toBe(2);
    expect(extra.stderr).toContain('Error: `bootseq plan` takes no arguments, found "primary"');
    const file = await project.run(['checksum', '--history', 'sqlx']);
    expect(file.exitCode).toBe(2);
    expect(file.stderr).toContain(
      'Error: expected one FILE: bootseq checksum FILE --history sqlx|flyway|bootseq',
    );
  });

  test('--help lists every command; `help COMMAND` and `COMMAND --help` print its usage', async ({
    project,
  }) => {
    const help = await project.run(['--help']);
    expect(help.exitCode).toBe(0);
    for (const { spec } of COMMANDS) {
      for (const { synopsis } of spec.usage) expect(help.output).toContain(`  ${synopsis}`);
      const one = await project.run(['help', spec.name]);
      expect(one.exitCode).toBe(0);
      for (const { synopsis } of spec.usage) expect(one.output).toContain(`bootseq ${synopsis}\n`);
      for (const option of Object.keys(spec.options)) expect(one.output).toContain(`--${option}`);
    }
    const rehearse = await project.run(['rehearse', '--help']);
    expect(rehearse.output).toBe((await project.run(['help', 'rehearse'])).output);
    const unknown = await project.run(['help', 'upp']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Error: unknown command "upp"');
  });
});

/**
 * Runs the built CLI with a resolve hook and returns every source it loaded: a file outside dist/,
 * or for a dist chunk the files its source map says it was built from (the CLI is bundled by
 * scripts/build.mjs, so a package is either an external in node_modules or part of a chunk).
 */
function loadedSources(
  args: string[],
  cwd: string,
): { status: number | null; stderr: string; sources: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-imports-'));
  const record = path.join(dir, 'imports.txt');
  try {
    const result = spawnSync(
      process.execPath,
      ['--import', path.join(REPO, 'test/fixtures/record-imports.mjs'), CLI, ...args],
      { cwd, env: { ...process.env, RECORD_IMPORTS: record }, encoding: 'utf8' },
    );
    const sources = fs
      .readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .filter((url) => url.startsWith('file:'))
      .flatMap((url) => {
        const file = new URL(url).pathname;
        const map = `${file}.map`;
        if (!file.includes('/dist/') || !fs.existsSync(map)) return [file];
        return (JSON.parse(fs.readFileSync(map, 'utf8')) as { sources: string[] }).sources;
      });
    return { status: result.status, stderr: result.stderr, sources };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HEAVY = ['/listr2/', '/pg/', '/better-sqlite3/', '/execa/'];

describe('start-up stays light', () => {
  test.for([['--version'], ['--help'], ['plan']])(
    '%s loads no listr2, pg, better-sqlite3 or execa',
    ([arg]) => {
      const { status, stderr, sources } = loadedSources([arg!], REPO);
      expect(status, stderr).toBe(0);
      expect(sources.some((source) => source.includes('entrypoint/cli'))).toBe(true);
      for (const heavy of HEAVY)
        expect(sources.filter((s) => s.includes(`node_modules${heavy}`))).toEqual([]);
    },
  );

  test('the same check sees execa and better-sqlite3 where a run needs them', ({ project }) => {
    project.write({
      'litestream.yml': `dbs:
  - { path: data/app.sqlite3, replicas: [{ type: file, path: replica/app }] }
  - { path: data/cache.sqlite3, replicas: [{ type: file, path: replica/cache }] }
`,
      'db/1_init.sql': 'CREATE TABLE t (id INTEGER PRIMARY KEY);\n',
      'bootseq.yml': `version: 1
litestream: { config: litestream.yml }
stores:
  app: { sqlite: data/app.sqlite3, migrate: { command: "true" } }
  cache: { sqlite: data/cache.sqlite3, migrate: { dir: db, history: bootseq } }
`,
    });
    const { status, stderr, sources } = loadedSources(['migrate', '--log-format', 'plain'], project.dir);
    expect(status, stderr).toBe(0);
    expect(sources.filter((s) => s.includes('node_modules/execa/')).length).toBeGreaterThan(0);
    expect(sources.filter((s) => s.includes('node_modules/better-sqlite3/')).length).toBeGreaterThan(0);
  });
});
