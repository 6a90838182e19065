// Durations as Go writes them (and litestream.yml takes them): compound ones too. A property, seeded
// and replayable: any sequence of number+unit parts is the sum of its parts; the same text with a part
// broken is refused. And one config read end to end.

import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../config/load.js';
import { toMs } from '../../../config/schema.js';
import { random } from '../../helpers/random.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, us: 0.001, ns: 1e-6 };

describe('durations', () => {
  test('500 seeded compound durations: each is the sum of its parts (to the millisecond)', () => {
    const seed = Number(process.env['SEED'] ?? 20261204);
    const next = random(seed);
    const units = Object.keys(UNITS);
    for (let i = 0; i < 500; i += 1) {
      const parts = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
        const n = next() < 0.3 ? (next() * 100).toFixed(1) : String(Math.floor(next() * 1000));
        return { n, unit: units[Math.floor(next() * units.length)]! };
      });
      const text = parts.map((p) => `${p.n}${p.unit}`).join('');
      const expected = Math.round(parts.reduce((sum, p) => sum + Number(p.n) * UNITS[p.unit]!, 0));
      expect(toMs(text), `seed ${seed}, case ${i}: ${text}`).toBe(expected);
      // The same text with a part's unit gone (a bare number inside) is not a duration.
      expect(() => toMs(`${text}5`), `seed ${seed}, case ${i}: ${text}5`).toThrow(/not a duration/);
    }
  });

  test.each([
    ['1m30s', 90_000],
    ['1h15m', 4_500_000],
    ['1.5h', 5_400_000],
    ['2m', 120_000],
    ['250ms', 250],
  ])('%s is %i ms', (text, ms) => expect(toMs(text)).toBe(ms));

  test.each([['90'], ['1m 30s'], ['-1s'], ['1d'], ['s'], ['']])('%j is refused', (text) =>
    expect(() => toMs(text)).toThrow(/not a duration/),
  );

  test('bootseq.yml takes compound durations wherever it takes one', () => {
    const result = parseConfig(
      'version: 1\nstores: {}\nshutdown: { grace: 1m30s, replication_grace: 1h15m }\nlease: { wait: 2m30s }\n',
      {
        file: 'bootseq.yml',
        dir: '/p',
        env: {},
        fs: {
          readFile: () => undefined,
          exists: () => false,
          isDirectory: () => false,
          isExecutable: () => false,
        },
      },
    );
    expect(result.issues).toEqual([]);
    expect(result.config?.shutdown).toEqual({ graceMs: 90_000, replicationGraceMs: 4_500_000 });
    expect(result.config?.lease.waitMs).toBe(150_000);
  });
});
