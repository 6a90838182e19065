import { describe, expect, test } from 'vitest';
import { parseConfig, type ConfigFs } from '../../../config/load.js';
import { formatIssue } from '../../../core/errors.js';

const FILES: Record<string, string> = {
  '/p/litestream.yml':
    'dbs:\n  - path: storage/primary.sqlite3\n    replicas:\n      - path: rep/primary\n  - path: storage/queue.sqlite3\n    replicas:\n      - url: file:///r/queue\n',
  '/p/bin/migrate': '#!/bin/sh\n',
  '/p/db/seeds.sql': 'select 1;',
  '/run/secrets/db': 'postgres://app:s3cret@db.internal/app\r\n\n',
  '/run/secrets/token': 'tok-123456\n',
  '/run/secrets/padded': 'p4ss-w0rd \t \t\r\n',
};
const fakeFs: ConfigFs = {
  readFile: (f) => FILES[f],
  exists: (f) => f in FILES || f === '/p/db/migrate',
  isDirectory: (f) => f === '/p/db/migrate',
  isExecutable: (f) => ['/p/bin/migrate', '/usr/bin/node', '/usr/bin/sh', '/usr/bin/litestream'].includes(f),
};

const base = (extra = '') => `version: 1
litestream: { config: litestream.yml }
stores:
  primary:
    sqlite: storage/primary.sqlite3
    migrate: { command: bin/migrate primary }
  queue:
    sqlite: storage/queue.sqlite3
${extra}`;

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  const result = parseConfig(text, {
    file: 'bootseq.yml',
    dir: '/p',
    env: { PATH: '/usr/bin', ...env },
    fs: fakeFs,
  });
  return result.issues.map(formatIssue);
}

describe('parseConfig refuses bad config with the key path, what was expected and what was found', () => {
  test.each([
    [
      'an unknown key',
      base('    aftr: [primary]\n'),
      'bootseq.yml: stores.queue.aftr: unknown key "aftr" (expected one of: sqlite, postgres, after, restore, migrate, seed, require, wait, sync)',
    ],
    [
      'an unknown top-level key',
      `${base()}proceses: {}\n`,
      'bootseq.yml: proceses: unknown key "proceses" (expected one of: version, litestream, stores, processes, services, shutdown, report, lease, status, health, rehearse, backup)',
    ],
    [
      'a number where a duration belongs',
      `${base()}shutdown: { grace: 20 }\n`,
      'bootseq.yml: shutdown.grace: expected a duration like 500ms, 20s, 2m or 1m30s, found 20',
    ],
    [
      'a duration without a unit',
      `${base()}shutdown: { grace: "20" }\n`,
      'bootseq.yml: shutdown.grace: expected a duration like 500ms, 20s, 2m or 1m30s, found "20"',
    ],
    [
      'a string where a list belongs',
      base('    require: { tables: notes }\n'),
      'bootseq.yml: stores.queue.require.tables: expected a list, found "notes"',
    ],
    [
      'an unknown after: target',
      base('    after: [primry]\n'),
      'bootseq.yml: stores.queue.after[0]: unknown store "primry" (stores: primary, queue)',
    ],
    [
      'an unknown process after: target',
      `${base()}processes:\n  web: { command: node web.js, after: [wrker] }\n`,
      'bootseq.yml: processes.web.after[0]: unknown process "wrker" (processes: web)',
    ],
    [
      'a sqlite store missing from litestream.yml',
      base('  cable:\n    sqlite: storage/cable.sqlite3\n'),
      'bootseq.yml: stores.cable.sqlite: storage/cable.sqlite3 is not in litestream.yml (its dbs: storage/primary.sqlite3, storage/queue.sqlite3); add it there so it is restored and replicated',
    ],
    [
      'a missing migrations dir',
      base('    migrate: { dir: db/nope, history: sqlx }\n'),
      'bootseq.yml: stores.queue.migrate.dir: db/nope is not a directory (expected the folder of migration files)',
    ],
    [
      'a missing migration command file',
      base('    migrate: { command: bin/nope --all }\n'),
      'bootseq.yml: stores.queue.migrate.command: bin/nope is not an executable file (command: `bin/nope --all`; run `chmod +x bin/nope` if it exists)',
    ],
    [
      'a migration program not on PATH',
      base('    migrate: { command: sqlx migrate run }\n'),
      'bootseq.yml: stores.queue.migrate.command: sqlx is not on PATH (command: `sqlx migrate run`)',
    ],
    [
      'an unknown history format',
      base('    migrate: { dir: db/migrate, history: liquibase }\n'),
      'bootseq.yml: stores.queue.migrate.history: expected one of "bootseq", "sqlx", "flyway", "rails", found "liquibase"',
    ],
    [
      'both command and dir',
      base('    migrate: { dir: db/migrate, history: sqlx, command: bin/migrate }\n'),
      'bootseq.yml: stores.queue.migrate: expected exactly one of "command" (any migration command) or "dir" (built-in migrator)',
    ],
    [
      'a store that is neither sqlite nor postgres',
      `${base()}  app: { after: [primary] }\n`,
      'bootseq.yml: stores.app: expected exactly one of "sqlite: PATH" or "postgres: URL"',
    ],
    [
      'two ready checks',
      `${base()}processes:\n  web: { command: node web.js, ready: { http: "http://127.0.0.1:3000/up", tcp: 3000 } }\n`,
      'bootseq.yml: processes.web.ready: expected exactly one of log, tcp, http, file, delay, found tcp and http',
    ],
    [
      'a bad log regex',
      `${base()}processes:\n  web: { command: node web.js, ready: { log: "(" } }\n`,
      'bootseq.yml: processes.web.ready.log: expected a regular expression: Invalid regular expression: /(/: Unterminated group',
    ],
    [
      'an unset variable',
      `${base()}processes:\n  web: { command: "\${APP_CMD}" }\n`,
      'bootseq.yml: processes.web.command: ${APP_CMD} is not set (set APP_CMD, or APP_CMD_FILE to a file holding it)',
    ],
    [
      'an unreadable VAR_FILE',
      `${base()}processes:\n  web: { command: "node web.js \${TOKEN}" }\n`,
      'bootseq.yml: processes.web.command: TOKEN_FILE names /run/secrets/nope, which cannot be read',
      { TOKEN_FILE: '/run/secrets/nope' },
    ],
    [
      'a cycle of after:',
      base('    after: [cable]\n  cable:\n    sqlite: storage/primary.sqlite3\n    after: [queue]\n'),
      'bootseq.yml: stores.queue.after: stores wait on each other in a cycle: queue → cable → queue',
    ],
    [
      'two stores on one file',
      base('  again:\n    sqlite: storage/queue.sqlite3\n'),
      'bootseq.yml: stores.again.sqlite: names the same database as stores.queue (expected one store per database)',
    ],
    [
      'a postgres store without a postgres:// URL',
      base('  app:\n    postgres: localhost/app\n'),
      'bootseq.yml: stores.app.postgres: expected a postgres:// or postgresql:// URL, found "localhost/app"',
    ],
    [
      'a postgres URL whose password is never shown',
      base('  app:\n    postgres: "mysql://u:hunter2@h/db"\n'),
      'bootseq.yml: stores.app.postgres: expected a postgres:// or postgresql:// URL, found "mysql://u:***@h/db"',
    ],
    [
      'a postgres dump that cannot be read',
      base('  app:\n    postgres: "postgres://h/db"\n    restore: { dump: db/nope.sql }\n'),
      'bootseq.yml: stores.app.restore.dump: db/nope.sql cannot be read (expected a plain SQL dump or a pg_dump -Fc file)',
    ],
    [
      'a restore dump on a sqlite store',
      base('    restore: { dump: db/seeds.sql }\n'),
      'bootseq.yml: stores.queue.restore.dump: applies to postgres stores only; sqlite stores are restored by Litestream from litestream.yml',
    ],
    [
      'allow_fresh_start on a postgres store',
      base('  app:\n    postgres: "postgres://h/db"\n    restore: { allow_fresh_start: true }\n'),
      'bootseq.yml: stores.app.restore.allow_fresh_start: applies to sqlite stores only (a postgres store without a dump starts from its server as it is)',
    ],
    [
      'a wrong version',
      'version: 2\nstores: {}\n',
      'bootseq.yml: version: expected 1 (the only config version), found 2',
    ],
    [
      'sqlite stores without litestream',
      'version: 1\nstores:\n  primary: { sqlite: a.db }\n',
      'bootseq.yml: litestream: missing (expected litestream.config naming the litestream.yml that lists the sqlite stores: primary)',
    ],
    [
      'a missing litestream.yml',
      'version: 1\nlitestream: { config: ls.yml }\nstores: {}\n',
      'bootseq.yml: litestream.config: cannot read ls.yml (expected the litestream.yml that lists the sqlite stores)',
    ],
    [
      'a missing seed file',
      base('    seed: db/nope.sql\n'),
      'bootseq.yml: stores.queue.seed: db/nope.sql does not exist (expected an SQL file)',
    ],
    [
      'invalid YAML',
      'version: 1\nstores: [\n',
      'bootseq.yml: is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1',
    ],
  ])('%s', (_name, text, expected, env?: Record<string, string>) => {
    expect(issuesOf(text, env)).toContain(expected);
  });

  test('every problem is reported at once', () => {
    const issues = issuesOf(base('    after: [primry]\n    migrate: { command: bin/nope }\n'));
    expect(issues).toHaveLength(2);
  });

  test('schema and semantic problems in one run: a bad duration, an unknown key, a wrong after: and a missing program', () => {
    const issues = issuesOf(
      `${base('    after: [primry]\n    migrate: { command: bin/nope }\n')}shutdown: { grace: 20 }\nproceses: {}\n`,
    );
    expect(issues).toEqual([
      expect.stringMatching(/^bootseq\.yml: shutdown\.grace: expected a duration/) as unknown,
      expect.stringMatching(/^bootseq\.yml: proceses: unknown key "proceses"/) as unknown,
      expect.stringMatching(/^bootseq\.yml: stores\.queue\.after\[0\]: unknown store "primry"/) as unknown,
      expect.stringMatching(/^bootseq\.yml: stores\.queue\.migrate\.command: /) as unknown,
    ]);
  });

  test('a good config has no issues and absolute paths, durations in ms', () => {
    const result = parseConfig(
      `${base()}processes:\n  web: { command: node web.js, ready: { tcp: 3000, timeout: 5s } }\nshutdown: { grace: 1.5s }\n`,
      {
        file: 'bootseq.yml',
        dir: '/p',
        env: { PATH: '/usr/bin' },
        fs: fakeFs,
      },
    );
    expect(result.issues).toEqual([]);
    const config = result.config!;
    expect(config.stores.map((s) => [s.name, s.location])).toEqual([
      ['primary', '/p/storage/primary.sqlite3'],
      ['queue', '/p/storage/queue.sqlite3'],
    ]);
    expect(config.stores[1]?.litestream?.replicas[0]?.path).toBe('/r/queue');
    expect(config.litestream?.bin).toBe('/usr/bin/litestream');
    expect(config.shutdown).toEqual({ graceMs: 1500, replicationGraceMs: 10_000 });
    expect(config.processes[0]?.ready?.timeout).toBe(5000);
    expect(config.report.dir).toBe('/p/.bootseq/runs');
  });
});

describe('secrets', () => {
  test('VAR_FILE is read when VAR is unset, trailing CR/LF trimmed, and never shown', () => {
    const result = parseConfig(
      `${base()}processes:\n  web: { command: "node web.js --db \${DATABASE_URL}" }\n`,
      {
        file: 'bootseq.yml',
        dir: '/p',
        env: { PATH: '/usr/bin', DATABASE_URL_FILE: '/run/secrets/db' },
        fs: fakeFs,
      },
    );
    expect(result.issues).toEqual([]);
    const config = result.config!;
    expect(config.processes[0]?.command).toBe('node web.js --db postgres://app:s3cret@db.internal/app');
    expect(config.env).toEqual({ DATABASE_URL: 'postgres://app:s3cret@db.internal/app' });
    expect(config.redact(config.processes[0]?.command ?? '')).toBe(
      'node web.js --db postgres://app:***@db.internal/app',
    );
  });

  test('a secret file with trailing spaces and tabs: trimmed, children and redaction get the bare value', () => {
    const result = parseConfig(`${base()}processes:\n  web: { command: "node web.js \${DB_PASSWORD}" }\n`, {
      file: 'bootseq.yml',
      dir: '/p',
      env: { PATH: '/usr/bin', DB_PASSWORD_FILE: '/run/secrets/padded' },
      fs: fakeFs,
    });
    expect(result.issues).toEqual([]);
    expect(result.config?.env).toEqual({ DB_PASSWORD: 'p4ss-w0rd' });
    expect(result.config?.processes[0]?.command).toBe('node web.js p4ss-w0rd');
    expect(result.config?.redact('connected with p4ss-w0rd')).toBe('connected with ***');
  });

  test('VAR wins over VAR_FILE, and ${VAR:-default} falls back', () => {
    const result = parseConfig(
      `${base()}processes:\n  web: { command: "node web.js \${MODE:-prod} \${TOKEN}" }\n`,
      {
        file: 'bootseq.yml',
        dir: '/p',
        env: { PATH: '/usr/bin', TOKEN: 'direct', TOKEN_FILE: '/run/secrets/token' },
        fs: fakeFs,
      },
    );
    expect(result.config?.processes[0]?.command).toBe('node web.js prod direct');
    expect(result.config?.redact('token=direct')).toBe('token=***');
  });
});
