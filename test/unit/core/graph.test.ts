import { describe, expect, test } from 'vitest';
import { parseConfig, type ConfigFs } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { buildGraph, topologicalOrder, type Until } from '../../../core/graph.js';
import type { PhaseName } from '../../../core/task.js';
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

const SERVICES = `${CONFIG}services:
  redis: { url: "redis://cache:6379" }
  api: { url: "http://api/up" }
`;
const withAfter = (text: string) =>
  text.replace('web: { command: node web.js }', 'web: { command: node web.js, after: [api] }');

describe('buildGraph with services', () => {
  test('a default service is waited for by each store’s first migrate or seed task, from the start of the boot', () => {
    const graph = edges(buildGraph(PHASE_LIST, configOf(withAfter(SERVICES))));
    expect(graph['service:redis']).toEqual([]);
    expect(graph['migrate:primary']).toEqual(['restore:primary', 'service:redis']);
    expect(graph['migrate:queue']).toEqual(['restore:queue', 'service:redis']);
    // seed:primary follows migrate:primary, which already waited.
    expect(graph['seed:primary']).toEqual(['migrate:primary']);
    expect(graph['restore:primary']).toEqual(['lease']);
  });

  test('a service named in a process’s after: is waited for only by that process, once it could start', () => {
    const graph = edges(buildGraph(PHASE_LIST, configOf(withAfter(SERVICES))));
    expect(graph['service:api']).toEqual(['replicate']);
    expect(graph['start:web']).toEqual(['replicate', 'service:api', 'start:worker']);
    expect(graph['start:worker']).toEqual(['replicate']);
    expect(graph['migrate:primary']).not.toContain('service:api');
    expect(graph['start:admin']).toEqual(['replicate', 'start:worker']);
  });

  test('--until leaves out the services no remaining task needs', () => {
    const ids = (until: Until) =>
      buildGraph(PHASE_LIST, configOf(withAfter(SERVICES)), { until }).map((t) => t.id);
    expect(ids('restore').filter((id) => id.startsWith('service:'))).toEqual([]);
    expect(ids('migrate').filter((id) => id.startsWith('service:'))).toEqual(['service:redis']);
    expect(ids('verify').filter((id) => id.startsWith('service:'))).toEqual(['service:redis']);
    expect(ids('ready').filter((id) => id.startsWith('service:'))).toEqual(['service:redis', 'service:api']);
  });

  test('bootseq migrate waits for the default services; restore and verify wait for none', () => {
    const config = configOf(withAfter(SERVICES));
    const services = (phases: PhaseName[], stores?: string[]) =>
      buildGraph(PHASE_LIST, config, { phases, ...(stores ? { stores } : {}) })
        .filter((t) => t.phase === 'service')
        .map((t) => t.id);
    expect(services(['service', 'lease', 'restore', 'migrate', 'seed'])).toEqual(['service:redis']);
    expect(services(['service', 'lease', 'restore', 'migrate', 'seed'], ['queue'])).toEqual([
      'service:redis',
    ]);
    expect(services(['lease', 'restore'])).toEqual([]);
    expect(services(['verify'])).toEqual([]);
  });

  test('nothing to migrate: the processes are the first to need a default service', () => {
    const config = configOf(
      'processes:\n  worker: { command: node worker.js }\nservices:\n  redis: { url: "redis://cache" }\n',
    );
    expect(edges(buildGraph(PHASE_LIST, config))).toEqual({
      'service:redis': [],
      'start:worker': ['service:redis'],
    });
  });

  test('plan order: every task after what it waits for, services included', () => {
    const ordered = topologicalOrder(buildGraph(PHASE_LIST, configOf(withAfter(SERVICES))));
    const seen = new Set<string>();
    for (const task of ordered) {
      for (const dep of task.after) expect(seen.has(dep), `${task.id} after ${dep}`).toBe(true);
      seen.add(task.id);
    }
    expect(ordered).toHaveLength(16);
  });
});
