// status.socket and health.* as bootseq.yml states them: resolved to what the servers need, and every
// bad value refused naming its key (exit 2 at preflight, nothing started).

import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../config/load.js';
import { parseListen } from '../../../config/status.js';

const disk = {
  readFile: () => undefined,
  exists: () => false,
  isDirectory: () => false,
  isExecutable: () => false,
};

function parse(text: string) {
  return parseConfig(`version: 1\n${text}`, { file: 'bootseq.yml', dir: '/p', env: {}, fs: disk });
}

describe('status.socket', () => {
  test('defaults to control/bootseq.sock under report.dir; a relative path resolves against bootseq.yml', () => {
    expect(parse('report: { dir: runs }').config?.status.socket).toBe('/p/runs/control/bootseq.sock');
    expect(parse('status: { socket: s/b.sock }').config?.status.socket).toBe('/p/s/b.sock');
  });

  test('a path too long for a unix socket: an issue naming the key when given, a warning for the default', () => {
    const long = `/p/${'x'.repeat(120)}`;
    const given = parse(`status: { socket: ${long} }`);
    expect(given.config).toBeUndefined();
    expect(given.issues).toEqual([
      {
        file: 'bootseq.yml',
        path: 'status.socket',
        message: `${long} is 123 bytes; a unix socket path has at most 107 (expected a shorter path, e.g. /run/bootseq/bootseq.sock)`,
      },
    ]);
    const byDefault = parse(`report: { dir: ${long} }`);
    expect(byDefault.issues).toEqual([]);
    expect(byDefault.config?.status.socket).toBeUndefined();
    expect(byDefault.warnings.join('\n')).toMatch(
      /^status\.socket: the default, .* is \d+ bytes.*set status\.socket/,
    );
  });
});

describe('health', () => {
  test('off by default; max_lag 30 s; ready requires replication', () => {
    expect(parse('').config?.health).toEqual({
      listen: undefined,
      maxLagMs: 30_000,
      readyRequiresReplication: true,
    });
    expect(parse('health: { ready_requires_replication: false }').config?.health).toMatchObject({
      readyRequiresReplication: false,
    });
  });

  test('listen: HOST:PORT, [IPv6]:PORT, :PORT (every interface), port 0 for any free one', () => {
    expect(parseListen('127.0.0.1:9090')).toEqual({ host: '127.0.0.1', port: 9090, shown: '127.0.0.1:9090' });
    expect(parseListen('[::1]:9090')).toMatchObject({ host: '::1', port: 9090 });
    expect(parseListen(':9090')).toMatchObject({ host: '0.0.0.0', port: 9090 });
    expect(parseListen('localhost:0')).toMatchObject({ host: 'localhost', port: 0 });
    const config = parse("health: { listen: '0.0.0.0:9090', max_lag: 5s }").config;
    expect(config?.health).toEqual({
      listen: { host: '0.0.0.0', port: 9090, shown: '0.0.0.0:9090' },
      maxLagMs: 5000,
      readyRequiresReplication: true,
    });
  });

  test.each([
    ['9090', 'health.listen', /"9090" is not an address to listen on \(expected HOST:PORT/],
    ['http://0.0.0.0:9090', 'health.listen', /is not an address to listen on/],
    ['0.0.0.0:99999', 'health.listen', /has port 99999 \(expected 0 to 65535/],
    ['0.0.0.0:', 'health.listen', /is not an address to listen on/],
  ])('listen %s is refused naming %s', (listen, key, message) => {
    const result = parse(`health: { listen: '${listen}' }`);
    expect(result.config).toBeUndefined();
    expect(result.issues.map((i) => i.path)).toEqual([key]);
    expect(result.issues[0]!.message).toMatch(message);
  });

  test('max_lag must be a duration; unknown keys are named', () => {
    const bad = parse('health: { max_lag: soon, port: 9090 }');
    expect(bad.issues.map((i) => i.path).sort()).toEqual(['health.max_lag', 'health.port']);
    expect(bad.issues.find((i) => i.path === 'health.port')!.message).toContain(
      'expected one of: listen, max_lag',
    );
  });
});
