import { describe, expect, test } from 'vitest';
import { parseConfig, type ConfigFs } from '../../../config/load.js';
import { shutdownSyncTimeout } from '../../../config/litestream.js';
import type { Config } from '../../../config/schema.js';

// What the phases receive: every path absolute, every default filled, camelCase. Resolution happens
// once, in config/; these tests pin the shape the phases rely on.

const FILES: Record<string, string> = {
  '/p/litestream.yml': [
    'dbs:',
    '  - path: storage/primary.sqlite3',
    '    replicas:',
    '      - path: rep/primary',
    '  - path: storage/queue.sqlite3',
    '    meta-path: meta/queue',
    '    replicas:',
    '      - url: file:///r/queue',
    '',
  ].join('\n'),
  '/p/db/dump.sql': 'create table t (id int);',
};
const fakeFs: ConfigFs = {
  readFile: (f) => FILES[f],
  exists: (f) => f in FILES,
  isDirectory: (f) => f === '/p/db/migrate',
  isExecutable: (f) =>
    ['/usr/bin/node', '/usr/bin/litestream', '/usr/bin/pg_dump', '/usr/bin/psql'].includes(f),
};

function configOf(text: string, env: Record<string, string> = {}): Config {
  const result = parseConfig(`version: 1\nlitestream: { config: litestream.yml }\n${text}`, {
    file: 'bootseq.yml',
    dir: '/p',
    env: { PATH: '/usr/bin', ...env },
    fs: fakeFs,
  });
  expect(result.issues).toEqual([]);
  if (!result.config) throw new Error('no config');
  return result.config;
}

const storeOf = (config: Config, name: string) => {
  const store = config.stores.find((s) => s.name === name);
  if (!store) throw new Error(`no store ${name}`);
  return store;
};

const withMigrate = (migrate: string) =>
  `stores:\n  primary:\n    sqlite: storage/primary.sqlite3\n    migrate: ${migrate}\n`;

describe('migrate', () => {
  test('the built-in migrator gets its dir absolute, as written for messages, and outOfOrder false', () => {
    const config = configOf(withMigrate('{ dir: db/migrate, history: sqlx }'));
    expect(storeOf(config, 'primary').migrate).toEqual({
      kind: 'builtin',
      dir: '/p/db/migrate',
      dirShown: 'db/migrate',
      history: 'sqlx',
      table: undefined,
      baseline: undefined,
      outOfOrder: false,
      environment: undefined,
    });
  });

  test('table, baseline and out_of_order are passed on in camelCase', () => {
    const config = configOf(
      withMigrate(
        '{ dir: db/migrate, history: flyway, table: schema_history, baseline: 3, out_of_order: true }',
      ),
    );
    expect(storeOf(config, 'primary').migrate).toMatchObject({
      kind: 'builtin',
      history: 'flyway',
      table: 'schema_history',
      baseline: '3',
      outOfOrder: true,
    });
  });

  test('a migrate command is kept as the command line, nothing else', () => {
    const config = configOf(withMigrate('{ command: node migrate.js primary }'));
    expect(storeOf(config, 'primary').migrate).toEqual({
      kind: 'command',
      command: 'node migrate.js primary',
    });
  });

  test('no migrate: none', () => {
    const config = configOf('stores:\n  primary: { sqlite: storage/primary.sqlite3 }\n');
    expect(storeOf(config, 'primary').migrate).toBeUndefined();
  });

  test.each([
    [
      'bootseq.yml wins',
      '{ dir: db/migrate, history: rails, environment: staging }',
      { RAILS_ENV: 'production' },
      'staging',
    ],
    [
      'RAILS_ENV',
      '{ dir: db/migrate, history: rails }',
      { RAILS_ENV: 'production', RACK_ENV: 'test' },
      'production',
    ],
    ['RACK_ENV without RAILS_ENV', '{ dir: db/migrate, history: rails }', { RACK_ENV: 'test' }, 'test'],
    ['development without either', '{ dir: db/migrate, history: rails }', {}, 'development'],
    [
      'none for other histories',
      '{ dir: db/migrate, history: bootseq }',
      { RAILS_ENV: 'production' },
      undefined,
    ],
  ])('the Rails environment: %s', (_name, migrate, env: Record<string, string>, expected) => {
    const store = storeOf(configOf(withMigrate(migrate), env), 'primary');
    expect(store.migrate?.kind === 'builtin' ? store.migrate.environment : 'not builtin').toBe(expected);
  });
});

describe('require', () => {
  test('every list is present and empty without require:', () => {
    const config = configOf('stores:\n  primary: { sqlite: storage/primary.sqlite3 }\n');
    expect(storeOf(config, 'primary').require).toEqual({
      tables: [],
      columns: {},
      sequences: [],
      extensions: [],
    });
  });

  test('lists not written default to empty beside the ones written', () => {
    const config = configOf(
      'stores:\n  primary:\n    sqlite: storage/primary.sqlite3\n    require: { columns: { notes: [id, body] } }\n',
    );
    expect(storeOf(config, 'primary').require).toEqual({
      tables: [],
      columns: { notes: ['id', 'body'] },
      sequences: [],
      extensions: [],
    });
  });
});

describe('litestream', () => {
  const two =
    'stores:\n  primary: { sqlite: storage/primary.sqlite3 }\n  queue: { sqlite: storage/queue.sqlite3 }\n';

  test("a sqlite store's meta path is .<file>-litestream beside it unless litestream.yml sets meta-path", () => {
    const config = configOf(two);
    expect(storeOf(config, 'primary').litestream?.metaPath).toBe('/p/storage/.primary.sqlite3-litestream');
    expect(storeOf(config, 'queue').litestream?.metaPath).toBe('/p/meta/queue');
  });

  test('a sqlite store carries its litestream.yml entry: path and replicas, absolute', () => {
    const config = configOf(two);
    expect(storeOf(config, 'primary').litestream).toEqual({
      path: '/p/storage/primary.sqlite3',
      metaPath: '/p/storage/.primary.sqlite3-litestream',
      replicas: [{ name: 'file', type: 'file', path: '/p/rep/primary', url: undefined }],
    });
  });

  test('the section: config path absolute, durations in ms, restarts in camelCase', () => {
    const config = configOf(two);
    expect(config.litestream).toMatchObject({
      configPath: '/p/litestream.yml',
      bin: '/usr/bin/litestream',
      takeoverTimeoutMs: 60_000,
      restart: { maxRestarts: 3, backoffMs: 1000 },
    });
  });

  test('a postgres store has no litestream entry, and its dump is absolute', () => {
    const config = configOf(
      'stores:\n  app:\n    postgres: postgres://db/app\n    restore: { dump: db/dump.sql }\n    wait: 5s\n',
    );
    const app = storeOf(config, 'app');
    expect(app).toMatchObject({
      kind: 'postgres',
      location: 'postgres://db/app',
      restoreDump: '/p/db/dump.sql',
      waitMs: 5000,
    });
    expect(app.litestream).toBeUndefined();
  });
});

describe('processes', () => {
  test('restart: on-failure, max_restarts, restart_window and backoff become restart.onFailure, maxRestarts, windowMs, backoffMs', () => {
    const config = configOf(
      'processes:\n  web: { command: node web.js, restart: on-failure, max_restarts: 5, restart_window: 2m, backoff: 250ms }\n',
    );
    expect(config.processes[0]?.restart).toEqual({
      onFailure: true,
      maxRestarts: 5,
      windowMs: 120_000,
      backoffMs: 250,
    });
  });

  test('without restart settings: no restart, 3 restarts within 10 min, 1 s backoff', () => {
    const config = configOf('processes:\n  web: { command: node web.js }\n');
    expect(config.processes[0]?.restart).toEqual({
      onFailure: false,
      maxRestarts: 3,
      windowMs: 600_000,
      backoffMs: 1000,
    });
  });

  test('after: is kept as written, and undefined when not written (the graph orders those as written)', () => {
    const config = configOf(
      'processes:\n  worker: { command: node worker.js }\n  web: { command: node web.js, after: [worker] }\n  cron: { command: node cron.js, after: [] }\n',
    );
    expect(config.processes.map((p) => [p.name, p.after])).toEqual([
      ['worker', undefined],
      ['web', ['worker']],
      ['cron', []],
    ]);
  });

  test('env values become strings; no env: an empty mapping', () => {
    const config = configOf(
      'processes:\n  web: { command: node web.js, env: { PORT: 3000, MODE: prod } }\n  worker: { command: node worker.js }\n',
    );
    expect(config.processes.map((p) => p.env)).toEqual([{ PORT: '3000', MODE: 'prod' }, {}]);
  });
});

describe('report and backup', () => {
  test('backups live under report.dir/backups, both absolute', () => {
    const config = configOf('stores: {}\n');
    expect(config.report).toEqual({ dir: '/p/.bootseq/runs', keep: 20 });
    expect(config.backup).toEqual({ dir: '/p/.bootseq/runs/backups', keep: 3, postgres: true });
  });

  test('a report.dir of its own takes the backups with it', () => {
    const config = configOf(
      'stores: {}\nreport: { dir: /var/bootseq, keep: 5 }\nbackup: { keep: 1, postgres: false }\n',
    );
    expect(config.report).toEqual({ dir: '/var/bootseq', keep: 5 });
    expect(config.backup).toEqual({ dir: '/var/bootseq/backups', keep: 1, postgres: false });
  });

  test('shutdown durations in ms', () => {
    const config = configOf('stores: {}\nshutdown: { grace: 2m, replication_grace: 500ms }\n');
    expect(config.shutdown).toEqual({ graceMs: 120_000, replicationGraceMs: 500 });
  });
});

describe('the litestream binary', () => {
  const withVersion = (printed: string | undefined): ConfigFs => ({ ...fakeFs, versionOf: () => printed });
  const issuesWith = (printed: string | undefined) =>
    parseConfig('version: 1\nlitestream: { config: litestream.yml, bin: /usr/bin/litestream }\n', {
      file: 'bootseq.yml',
      dir: '/p',
      env: { PATH: '/usr/bin' },
      fs: withVersion(printed),
    }).issues;

  test('a v0.3.x binary is accepted', () => {
    expect(issuesWith('v0.3.13')).toEqual([]);
  });

  test('a v0.5.x binary is accepted as series 0.5 (printed without a v)', () => {
    expect(issuesWith('0.5.17')).toEqual([]);
    const config = parseConfig(
      'version: 1\nlitestream: { config: litestream.yml, bin: /usr/bin/litestream }\n',
      {
        file: 'bootseq.yml',
        dir: '/p',
        env: { PATH: '/usr/bin' },
        fs: withVersion('0.5.17'),
      },
    ).config;
    expect(config?.litestream?.series).toBe('0.5');
  });

  test.each(['v0.4.0', '0.6.1', 'v1.0.0', 'development build', ''])(
    'another version (%j) is refused, naming the version found and the ones supported',
    (printed) => {
      const issues = issuesWith(printed);
      expect(issues).toHaveLength(1);
      expect(issues[0]?.path).toBe('litestream.bin');
      expect(issues[0]?.message).toMatch(
        /^\/usr\/bin\/litestream is Litestream .+; bootseq supports v0\.3\.x \(tested with v0\.3\.13\) and v0\.5\.x \(tested with v0\.5\.17\)/,
      );
    },
  );

  describe('what Litestream v0.5 would refuse, refused before anything runs', () => {
    const v05 = (litestreamYml: string, env: Record<string, string> = {}) =>
      parseConfig('version: 1\nlitestream: { config: ls5.yml, bin: /usr/bin/litestream }\n', {
        file: 'bootseq.yml',
        dir: '/p',
        env: { PATH: '/usr/bin', ...env },
        fs: { ...withVersion('0.5.17'), readFile: (f) => (f === '/p/ls5.yml' ? litestreamYml : FILES[f]) },
      });

    test('runs with a copy at logging.level debug (its writes to a replica are logged only there)', () => {
      const result = v05(
        'logging: { level: info, type: json }\ndbs:\n  - path: a.db\n    replica: { path: rep/a }\n',
      );
      expect(result.issues).toEqual([]);
      const run = result.config?.litestream?.run;
      expect(run?.configPath).toMatch(/^\/p\/.*\/control\/litestream-[0-9a-f]{16}\.yml$/);
      expect(run?.text).toContain('level: debug');
      expect(run?.text).toContain('type: json');
      // No control socket of bootseq's: a `litestream sync` through it can lose writes (docs/litestream-v05.md L).
      expect(run?.text).not.toContain('socket');
    });

    test('its final sync gives up within replication_grace, less a second', () => {
      const run = (yml: string) => v05(yml).config?.litestream?.run.text;
      // The default replication_grace (10 s): 9 s.
      expect(run('dbs:\n  - path: a.db\n    replica: { path: rep/a }\n')).toContain(
        'shutdown-sync-timeout: 9000ms',
      );
      // litestream.yml's own is kept.
      expect(run('shutdown-sync-timeout: 5s\ndbs:\n  - path: a.db\n    replica: { path: rep/a }\n')).toMatch(
        /^shutdown-sync-timeout: 5s$/m,
      );
      expect(shutdownSyncTimeout(3_000)).toBe('2000ms');
      expect(shutdownSyncTimeout(2_550)).toBe('1500ms');
      // Under a second left: not set (`0s` would be one try with no deadline at all).
      expect(shutdownSyncTimeout(1_900)).toBeUndefined();
    });

    test("litestream.yml's own socket: is left as written", () => {
      const own = v05(
        'socket: { enabled: true, path: run/ls.sock }\ndbs:\n  - path: a.db\n    replica: { path: rep/a }\n',
      );
      expect(own.issues).toEqual([]);
      expect(own.config?.litestream?.run.text).toMatch(/socket: \{ enabled: true, path: run\/ls\.sock \}/);
    });

    test('two replicas of one database', () => {
      const result = v05('dbs:\n  - path: a.db\n    replicas:\n      - path: rep/a\n      - path: rep/b\n');
      expect(result.issues.map((i) => [i.file, i.path])).toEqual([['ls5.yml', 'dbs[0].replicas']]);
      expect(result.issues[0]?.message).toMatch(
        /^2 replicas for \/p\/a\.db; Litestream v0\.5 replicates a database to exactly one/,
      );
    });

    test('two databases with one file name (its lines name a database by base name)', () => {
      const result = v05(
        'dbs:\n  - path: x/app.db\n    replica: { path: rep/x }\n  - path: y/app.db\n    replica: { path: rep/y }\n',
      );
      expect(result.issues.map((i) => i.message)).toEqual([
        expect.stringMatching(/^\/p\/x\/app\.db and \/p\/y\/app\.db have the same file name app\.db/),
      ]);
    });

    test('the same shapes are fine on v0.3', () => {
      const result = parseConfig('version: 1\nlitestream: { config: ls3.yml, bin: /usr/bin/litestream }\n', {
        file: 'bootseq.yml',
        dir: '/p',
        env: { PATH: '/usr/bin', AWS_CA_BUNDLE: '/etc/ca.pem' },
        fs: {
          ...withVersion('v0.3.13'),
          readFile: (f) =>
            f === '/p/ls3.yml'
              ? 'dbs:\n  - path: x/app.db\n    replicas:\n      - url: "s3://b/x"\n      - path: rep/x\n  - path: y/app.db\n    replicas: [{ path: rep/y }]\n'
              : FILES[f],
        },
      });
      expect(result.issues).toEqual([]);
      expect(result.config?.litestream?.run.text).toBeUndefined();
    });
  });

  test('the packaged binary is not asked (its version is pinned)', () => {
    let asked = 0;
    const result = parseConfig('version: 1\nlitestream: { config: litestream.yml }\n', {
      file: 'bootseq.yml',
      dir: '/p',
      env: { PATH: '/usr/bin' },
      fs: { ...fakeFs, versionOf: () => `v0.5.${(asked += 1)}` },
      defaultLitestreamBin: '/pkg/litestream',
    });
    expect(result.issues).toEqual([]);
    expect(asked).toBe(0);
  });
});

describe('replication stalls', () => {
  test('defaults: a 30 s wait is a stall, 60 s restarts Litestream; restarts count within 10 min', () => {
    const config = configOf('');
    expect(config.litestream?.stall).toEqual({ timeoutMs: 30_000, restartMs: 60_000 });
    expect(config.litestream?.restart).toEqual({ maxRestarts: 3, windowMs: 600_000, backoffMs: 1000 });
  });

  test('stall_restart must be longer than stall_timeout', () => {
    const result = parseConfig(
      'version: 1\nlitestream: { config: litestream.yml, stall_timeout: 30s, stall_restart: 10s }\n',
      { file: 'bootseq.yml', dir: '/p', env: { PATH: '/usr/bin' }, fs: fakeFs },
    );
    expect(result.issues.map((i) => i.path)).toEqual(['litestream.stall_restart']);
    expect(result.issues[0]?.message).toMatch(/^expected a duration longer than stall_timeout/);
  });
});
