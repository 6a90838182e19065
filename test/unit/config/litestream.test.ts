import { describe, expect, test } from 'vitest';
import { expandLikeGo, parseLitestreamConfig } from '../../../config/litestream.js';

describe('litestream.yml as Litestream v0.3.13 reads it', () => {
  test('expands ${VAR} and $VAR like Go os.ExpandEnv and reports unset ones', () => {
    expect(expandLikeGo('${A}/x/$B/${C:-d}', { A: 'a', B: 'b' })).toEqual({
      value: 'a/x/b/',
      unset: ['C:-d'],
    });
  });

  test('learns db paths (relative to the project), meta paths and file replicas', () => {
    const text = `dbs:
  - path: \${APP}/primary.sqlite3
    replicas:
      - type: file
        path: rep/primary
        sync-interval: 1s
  - path: /abs/queue.sqlite3
    meta-path: /meta/queue
    replicas:
      - url: file:///r/queue
      - url: s3://bucket/queue
`;
    const result = parseLitestreamConfig(text, 'litestream.yml', '/p', { APP: 'storage' });
    expect(result.issues).toEqual([]);
    expect(result.dbs).toEqual([
      {
        path: '/p/storage/primary.sqlite3',
        metaPath: '/p/storage/.primary.sqlite3-litestream',
        replicas: [{ name: 'file', type: 'file', path: '/p/rep/primary', url: undefined }],
      },
      {
        path: '/abs/queue.sqlite3',
        metaPath: '/meta/queue',
        replicas: [
          { name: 'file', type: 'file', path: '/r/queue', url: 'file:///r/queue' },
          {
            name: 's3',
            type: 's3',
            path: undefined,
            url: 's3://bucket/queue',
            s3: {
              bucket: 'bucket',
              path: 'queue',
              endpoint: undefined,
              region: undefined,
              forcePathStyle: undefined,
              accessKeyId: undefined,
              secretAccessKey: undefined,
            },
          },
        ],
      },
    ]);
  });

  test.each([
    [
      'an unset variable (restore would call an existing replica missing)',
      'dbs:\n  - path: a.db\n    replicas:\n      - path: ${REPLICA_ROOT}/a\n',
      '${REPLICA_ROOT} is not set or empty',
    ],
    [
      'a duration without a unit (nanoseconds)',
      'dbs:\n  - path: a.db\n    replicas:\n      - path: r\n        sync-interval: 5\n',
      'dbs[0].replicas[0].sync-interval: expected a Go duration with a unit like 1s or 500ms, found 5',
    ],
    ['no dbs', 'addr: ":9090"\n', 'dbs: expected a list of databases'],
    ['a db without replicas', 'dbs:\n  - path: a.db\n', 'dbs[0].replicas: expected at least one replica'],
    ['broken YAML', 'dbs: [\n', 'is not valid YAML'],
  ])('refuses %s', (_name, text, expected) => {
    const result = parseLitestreamConfig(text, 'litestream.yml', '/p', {});
    expect(result.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n')).toContain(
      expected,
    );
  });

  test('warns about keys Litestream would ignore silently', () => {
    const result = parseLitestreamConfig(
      'dbs:\n  - path: a.db\n    replicas:\n      - path: r\n        sync_interval: 1s\n',
      'litestream.yml',
      '/p',
      {},
    );
    expect(result.warnings).toEqual([
      'litestream.yml: dbs[0].replicas[0].sync_interval: unknown key; Litestream ignores it silently',
    ]);
  });

  test('a replica is named as its log lines name it: name:, else its type', () => {
    const text =
      'dbs:\n  - path: a.db\n    replicas:\n      - { type: file, path: r1 }\n      - { name: backup, type: file, path: r2 }\n';
    const result = parseLitestreamConfig(text, 'litestream.yml', '/p', {});
    expect(result.dbs[0]?.replicas.map((r) => r.name)).toEqual(['file', 'backup']);
  });

  test.each([
    ['warn', 1],
    ['ERROR', 1],
    ['info', 0],
    ['debug', 0],
  ])('logging.level: %s hides the lines replication is proven by (%i issue)', (level, count) => {
    const text = `logging:\n  level: ${level}\ndbs:\n  - path: a.db\n    replicas:\n      - { type: file, path: r }\n`;
    const result = parseLitestreamConfig(text, 'litestream.yml', '/p', {});
    expect(result.issues.filter((i) => i.path === 'logging.level')).toHaveLength(count);
  });
});
