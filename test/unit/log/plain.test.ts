import { describe, expect, test } from 'vitest';
import { formatJson } from '../../../entrypoint/log/json.js';
import { escapeControl, formatPlain } from '../../../entrypoint/log/plain.js';

const NOW = new Date('2026-11-22T10:00:00.123Z');

describe('plain and json renderers', () => {
  test.each([
    [
      { event: 'task-start', task: 'migrate:queue' } as const,
      '2026-11-22T10:00:00.123Z [migrate:queue] started',
    ],
    [
      { event: 'task-output', task: 'start:web', stream: 'stdout', line: 'listening' } as const,
      '2026-11-22T10:00:00.123Z [web] listening',
    ],
    [
      { event: 'task-output', task: 'replicate', stream: 'stdout', line: 'level=INFO' } as const,
      '2026-11-22T10:00:00.123Z [litestream] level=INFO',
    ],
    [
      { event: 'task-output', task: 'migrate:queue', stream: 'stderr', line: 'boom' } as const,
      '2026-11-22T10:00:00.123Z [migrate:queue] boom',
    ],
    [
      {
        event: 'task-end',
        task: 'verify:cable',
        status: 'failed',
        duration_ms: 12,
        error: 'gate wal',
      } as const,
      '2026-11-22T10:00:00.123Z [verify:cable] FAILED in 12 ms: gate wal',
    ],
    [
      { event: 'task-end', task: 'replicate', status: 'skipped', duration_ms: 0 } as const,
      '2026-11-22T10:00:00.123Z [replicate] skipped',
    ],
    [
      { event: 'note', level: 'warn', text: 'careful', hint: 'do this' } as const,
      '2026-11-22T10:00:00.123Z warn: careful\n2026-11-22T10:00:00.123Z   Try: do this',
    ],
  ])('%o', (event, expected) => {
    expect(formatPlain(event, NOW)).toBe(expected);
  });

  test('json is one object per line with time first', () => {
    expect(formatJson({ event: 'task-end', task: 'replicate', status: 'ok', duration_ms: 1070 }, NOW)).toBe(
      '{"time":"2026-11-22T10:00:00.123Z","event":"task-end","task":"replicate","status":"ok","duration_ms":1070}',
    );
  });
});

describe('escapeControl', () => {
  test('NUL, terminal escapes (clear screen, window title), CR and DEL become visible escapes; tabs stay', () => {
    expect(escapeControl('a\x00b\x1b[2Jc\td\x1b]0;pwned\x07e\rf\x7f')).toBe(
      'a\\x00b\\x1b[2Jc\td\\x1b]0;pwned\\x07e\\x0df\\x7f',
    );
  });

  test("a child's binary output reaches the plain log as text", () => {
    const line = formatPlain(
      { event: 'task-output', task: 'start:web', stream: 'stdout', line: '\x1b[2J\x00' },
      new Date('2026-12-01T10:00:00.000Z'),
    );
    expect(line).toBe('2026-12-01T10:00:00.000Z [web] \\x1b[2J\\x00');
  });
});
