import { describe, expect, test } from 'vitest';
import { configDuration, elapsed } from '../../../core/format.js';

describe('durations in words (core/format.ts)', () => {
  test('elapsed: ms under a second, one decimal under ten, seconds under two minutes, then m/s and h/m', () => {
    expect(
      [0, 850.4, 1000, 1449, 9_949, 10_000, 60_000, 119_400, 120_000, 200_000, 3_600_000, 7_500_000].map(
        elapsed,
      ),
    ).toEqual([
      '0 ms',
      '850 ms',
      '1.0 s',
      '1.4 s',
      '9.9 s',
      '10 s',
      '60 s',
      '119 s',
      '2m',
      '3m 20s',
      '1h',
      '2h 5m',
    ]);
  });

  test('configDuration writes what bootseq.yml would: whole minutes, whole seconds, else ms', () => {
    expect([600_000, 90_000, 500, 61_500].map(configDuration)).toEqual(['10m', '90s', '500ms', '61500ms']);
  });
});
