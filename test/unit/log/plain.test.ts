import { describe, expect, test } from 'vitest';
import { formatJson } from '../../../entrypoint/log/json.js';
import { excerpt } from '../../../core/errors.js';
import { escapeControl, formatPlain } from '../../../entrypoint/log/plain.js';
import { createPrettyReporter } from '../../../entrypoint/log/pretty.js';

const NOW = new Date('2026-11-22T10:00:00.123Z');

describe('plain and json renderers', () => {
  test.each([
    [
      { event: 'task-start', task: 'migrate:queue' } as const,
      '2026-11-22T10:00:00.123Z [migrate:queue] started',
    ],
    [
      {
        event: 'task-output',
        task: 'start:web',
        phase: 'start',
        target: 'web',
        stream: 'stdout',
        line: 'listening',
      } as const,
      '2026-11-22T10:00:00.123Z [web] listening',
    ],
    [
      {
        event: 'task-output',
        task: 'replicate',
        phase: 'replicate',
        target: 'litestream',
        stream: 'stdout',
        line: 'level=INFO',
      } as const,
      '2026-11-22T10:00:00.123Z [litestream] level=INFO',
    ],
    [
      {
        event: 'task-output',
        task: 'migrate:queue',
        phase: 'migrate',
        target: 'queue',
        stream: 'stderr',
        line: 'boom',
      } as const,
      '2026-11-22T10:00:00.123Z [migrate:queue] boom',
    ],
    [
      {
        event: 'ready',
        processes: ['worker', 'web'],
        addresses: { web: 'http://127.0.0.1:3000' },
        duration_ms: 1385,
      } as const,
      '2026-11-22T10:00:00.123Z ready in 1.4 s: worker; web on http://127.0.0.1:3000; supervising (SIGTERM or Ctrl+C stops everything in order)',
    ],
    [
      { event: 'ready', processes: [], addresses: {}, duration_ms: 640 } as const,
      '2026-11-22T10:00:00.123Z ready in 640 ms: litestream (no processes); supervising (SIGTERM or Ctrl+C stops everything in order)',
    ],
    [
      {
        event: 'stopped',
        task: 'replicate',
        phase: 'replicate',
        target: 'litestream',
        duration_ms: 16,
        exit: 'exited with code 0',
        note: "litestream's final sync put every store's last writes in the replica",
      } as const,
      "2026-11-22T10:00:00.123Z [replicate] stopped in 16 ms: exited with code 0 (litestream's final sync put every store's last writes in the replica)",
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

  test('json is one object per line with time, level and msg first', () => {
    expect(formatJson({ event: 'task-end', task: 'replicate', status: 'ok', duration_ms: 1070 }, NOW)).toBe(
      '{"time":"2026-11-22T10:00:00.123Z","level":"info","msg":"replicate ok in 1070 ms","event":"task-end","task":"replicate","status":"ok","duration_ms":1070}',
    );
    expect(
      formatJson(
        { event: 'task-end', task: 'migrate:queue', status: 'failed', duration_ms: 5, error: 'x' },
        NOW,
      ),
    ).toMatch(/^\{"time":"[^"]+","level":"error","msg":"migrate:queue failed in 5 ms: x",/);
    expect(
      formatJson({ event: 'note', level: 'warn', text: 'careful', hint: 'do this', task: 'replicate' }, NOW),
    ).toBe(
      '{"time":"2026-11-22T10:00:00.123Z","level":"warn","msg":"careful","event":"note","hint":"do this","task":"replicate"}',
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
      {
        event: 'task-output',
        task: 'start:web',
        phase: 'start',
        target: 'web',
        stream: 'stdout',
        line: '\x1b[2J\x00',
      },
      new Date('2026-12-01T10:00:00.000Z'),
    );
    expect(line).toBe('2026-12-01T10:00:00.000Z [web] \\x1b[2J\\x00');
  });
});

describe("bootseq's own lines quote foreign text escaped (issue 29)", () => {
  const forged = '2026-01-01T00:00:00.000Z [start:web] ready';
  const hostile = `x\n${forged}\x1b[2J\x1b]0;pwned\x07`;
  const shown = `x\\n${forged}\\x1b[2J\\x1b]0;pwned\\x07`;

  test('escapeControl: a newline as \\n, other control bytes as \\xNN, tabs kept', () => {
    expect(escapeControl('a\nb\r\x1bc\td\x9b')).toBe('a\\nb\\x0d\\x1bc\td\\x9b');
  });

  test.each([
    [
      { event: 'note', level: 'warn', task: 'sync:app', text: `refused ${hostile}` } as const,
      `[sync:app] warn: refused ${shown}`,
    ],
    [
      { event: 'note', level: 'error', text: 'x', hint: `move ${hostile} aside` } as const,
      `error: x\n${NOW.toISOString()}   Try: move ${shown} aside`,
    ],
    [
      {
        event: 'task-end',
        task: 'migrate:cache',
        status: 'failed',
        duration_ms: 3,
        error: `002_${hostile}.sql:1`,
      } as const,
      `[migrate:cache] FAILED in 3 ms: 002_${shown}.sql:1`,
    ],
    [
      {
        event: 'stopped',
        task: 'start:web',
        phase: 'start',
        target: 'web',
        duration_ms: 5,
        exit: `exited ${hostile}`,
        note: hostile,
      } as const,
      `[start:web] stopped in 5 ms: exited ${shown} (${shown})`,
    ],
    [
      { event: 'ready', processes: ['web'], addresses: { web: hostile }, duration_ms: 5 } as const,
      `ready in 5 ms: web on ${shown}; supervising (SIGTERM or Ctrl+C stops everything in order)`,
    ],
  ])('%o stays one line (a hint its own), no raw control byte', (event, expected) => {
    const line = formatPlain(event, NOW)!;
    expect(line).toBe(`${NOW.toISOString()} ${expected}`);
    expect(line.split('\n').length).toBe('hint' in event ? 2 : 1);
    // eslint-disable-next-line no-control-regex -- the point
    expect(line).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  test('the pretty renderer (lines outside the task list) escapes them the same way', () => {
    const written: string[] = [];
    const out = { write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const reporter = createPrettyReporter(out);
    reporter.emit({ event: 'note', level: 'warn', text: `refused ${hostile}` });
    reporter.emit({
      event: 'stopped',
      task: 'start:web',
      phase: 'start',
      target: 'web',
      duration_ms: 5,
      exit: hostile,
    });
    expect(written.join('')).toContain(`warn: refused ${shown}\n`);
    expect(written.join('')).toContain(`stopped in 5 ms: ${shown}\n`);
    expect(written.join('').split('\n')).toHaveLength(3);
    expect(written.join('')).not.toContain('\x1b');
  });
});

describe('excerpt', () => {
  test('a 20 MB value: the first characters, escaped, and how long it was', () => {
    const big = `'\n${'x'.repeat(20 * 1024 * 1024)}`;
    const shown = excerpt(big, 10);
    expect(shown).toBe(`'\\nxxxxxxxx… (${big.length} characters; the first 10 shown)`);
    expect(excerpt('short\x1b', 10)).toBe('short\\x1b');
  });
});
