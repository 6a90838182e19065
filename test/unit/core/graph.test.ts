import { describe, expect, test } from 'vitest';
import { parseConfig, type ConfigFs } from '../../../entrypoint/config/load.js';
import type { Config } from '../../../entrypoint/config/schema.js';
import { buildGraph, topologicalOrder } from '../../../entrypoint/core/graph.js';
import { PHASE_LIST } from '../../../phases/index.js';

const LITESTREAM = ['primary', 'queue', 'cable']
  .map((s) => `  - path: ${s}.db\n    replicas:\n      - path: r/${s}\n`)
  .join('');
const fakeFs: ConfigFs = {
  readFile: (f) =>
    f === '/p/litestream.yml' ? `dbs:\n${LITESTREAM}` : f === '/p/seeds.sql' ? '' : undefined,
  exists: (f) => f === '/p/seeds.sql',
  isDirectory: () => false,
  isExecutable: (f) => f === '/usr/bin/node' || f === '/usr/bin/litestream',
};

function configOf(text: string): Config {
  const result = parseConfig(`version: 1\nlitestream: { config: litestream.yml }\n${text}`, {
    file: 'bootseq.yml',
    dir: '/p',
    env: { PATH: '/usr/bin' },
    fs: fakeFs,
  });
  if (!result.config) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return result.config;
}

const CONFIG = `stores:
  primary: { sqlite: primary.db, migrate: { command: node m.js }, seed: seeds.sql }
  queue: { sqlite: queue.db, migrate: { command: node m.js }, after: [primary] }
  cable: { sqlite: cable.db }
processes:
  worker: { command: node worker.js }
  web: { command: node web.js }
  admin: { command: node admin.js, after: [worker] }
`;

const edges = (tasks: ReturnType<typeof buildGraph>) =>
  Object.fromEntries(tasks.map((t) => [t.id, [...t.after].sort()]));

describe('buildGraph', () => {
  test('the boot lease first, chains each store, honours after:, replicate after every store, processes after replicate', () => {
    expect(edges(buildGraph(PHASE_LIST, configOf(CONFIG)))).toEqual({
      lease: [],
      'restore:primary': ['lease'],
      'restore:queue': ['lease', 'verify:primary'],
      'restore:cable': ['lease'],
      'migrate:primary': ['restore:primary'],
      'migrate:queue': ['restore:queue'],
      'seed:primary': ['migrate:primary'],
      'verify:primary': ['seed:primary'],
      'verify:queue': ['migrate:queue'],
      'verify:cable': ['restore:cable'],
      replicate: ['verify:cable', 'verify:primary', 'verify:queue'],
      'start:worker': ['replicate'],
      'start:web': ['replicate', 'start:worker'],
      'start:admin': ['replicate', 'start:worker'],
    });
  });

  test('--until verify leaves out replicate and the processes', () => {
    const ids = buildGraph(PHASE_LIST, configOf(CONFIG), { until: 'verify' }).map((t) => t.id);
    expect(ids).not.toContain('replicate');
    expect(ids.some((id) => id.startsWith('start:'))).toBe(false);
    expect(ids).toContain('verify:cable');
  });

  test('--until migrate keeps seed, drops verify', () => {
    const ids = buildGraph(PHASE_LIST, configOf(CONFIG), { until: 'migrate' }).map((t) => t.id);
    expect(ids).toContain('seed:primary');
    expect(ids.some((id) => id.startsWith('verify:'))).toBe(false);
  });

  test('a command with stores runs only those, without dangling dependencies', () => {
    const tasks = buildGraph(PHASE_LIST, configOf(CONFIG), { phases: ['verify'], stores: ['queue'] });
    expect(edges(tasks)).toEqual({ 'verify:queue': [] });
  });

  test('an unknown store on the command line is a usage error', () => {
    expect(() => buildGraph(PHASE_LIST, configOf(CONFIG), { stores: ['primry'] })).toThrow(
      'unknown store "primry" (stores: primary, queue, cable)',
    );
  });

  test('topological order puts every task after what it waits for', () => {
    const ordered = topologicalOrder(buildGraph(PHASE_LIST, configOf(CONFIG)));
    const seen = new Set<string>();
    for (const task of ordered) {
      for (const dep of task.after) expect(seen.has(dep), `${task.id} after ${dep}`).toBe(true);
      seen.add(task.id);
    }
    expect(ordered).toHaveLength(14);
  });
});
