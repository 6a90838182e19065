// stores.NAME.sync as bootseq.yml states it: resolved (inbox absolute, batch size decided), and every
// bad value refused naming its key.

import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../config/load.js';

const LITESTREAM = 'dbs:\n  - path: a.sqlite3\n    replicas:\n      - path: rep\n';
function parse(sync: string, env: Record<string, string> = {}, store = 'sqlite: a.sqlite3') {
  return parseConfig(
    `version: 1\nlitestream: { config: litestream.yml, bin: /bin/litestream }\nstores:\n  app:\n    ${store}\n    sync: ${sync}\n`,
    {
      file: 'bootseq.yml',
      dir: '/p',
      env: { PATH: '/bin', ...env },
      fs: {
        readFile: (f) => (f === '/p/litestream.yml' ? LITESTREAM : undefined),
        exists: (f) => f === '/p/litestream.yml',
        isDirectory: () => false,
        isExecutable: () => true,
        versionOf: () => 'v0.3.13',
      },
    },
  );
}
const syncOf = (r: ReturnType<typeof parse>) => {
  const store = r.config?.stores[0];
  return store?.kind === 'sqlite' ? store.sync : undefined;
};

describe('stores.NAME.sync', () => {
  test('resolved: the inbox absolute, defaults filled, the batch size from IMPORT_BATCH_SIZE when not written', () => {
    const r = parse(
      '{ node: shop-1, role: client, tables: [items, companies], prefer_main: [companies], inbox: in }',
    );
    expect(r.issues).toEqual([]);
    expect(syncOf(r)).toEqual({
      node: 'shop-1',
      role: 'client',
      tables: ['items', 'companies'],
      preferMain: ['companies'],
      inbox: '/p/in',
      batchSize: 100,
      allowSchemaAlter: false,
      maxClockSkewMs: 300_000,
    });
    expect(
      syncOf(parse('{ node: a, role: main, tables: [t] }', { IMPORT_BATCH_SIZE: '500' }))?.batchSize,
    ).toBe(500);
    expect(
      syncOf(parse('{ node: a, role: main, tables: [t], batch_size: 7 }', { IMPORT_BATCH_SIZE: '500' }))
        ?.batchSize,
    ).toBe(7);
  });

  test.each([
    ['{ node: a, role: leader, tables: [t] }', 'stores.app.sync.role', /expected "main" or "client"/],
    ['{ node: a, role: main, tables: [] }', 'stores.app.sync.tables', /at least one table/],
    ['{ node: "a b", role: main, tables: [t] }', 'stores.app.sync.node', /node id/],
    [
      '{ node: a, role: main, tables: [t], prefer_main: [u] }',
      'stores.app.sync.prefer_main[0]',
      /"u" is not in stores\.app\.sync\.tables/,
    ],
    ['{ node: a, role: main, tables: [t], batch_size: 0 }', 'stores.app.sync.batch_size', /./],
    [
      '{ node: a, role: main, tables: [t], bogus: 1 }',
      'stores.app.sync.bogus',
      /expected one of: node, role, tables/,
    ],
  ])('%s is refused naming %s', (sync, key, message) => {
    const r = parse(sync);
    expect(r.config).toBeUndefined();
    expect(r.issues.map((i) => i.path)).toContain(key);
    expect(r.issues.find((i) => i.path === key)!.message).toMatch(message);
  });

  test('a bad IMPORT_BATCH_SIZE and sync on a postgres store are refused by key', () => {
    const env = parse('{ node: a, role: main, tables: [t] }', { IMPORT_BATCH_SIZE: 'lots' });
    expect(env.issues).toEqual([
      {
        file: 'bootseq.yml',
        path: 'stores.app.sync.batch_size',
        message: 'IMPORT_BATCH_SIZE is "lots" (expected a whole number ≥ 1)',
      },
    ]);
    const pg = parse('{ node: a, role: main, tables: [t] }', {}, 'postgres: postgres://u@h/db');
    expect(pg.issues.map((i) => [i.path, i.message])).toContainEqual([
      'stores.app.sync',
      'change-log sync is for sqlite stores only',
    ]);
  });
});
