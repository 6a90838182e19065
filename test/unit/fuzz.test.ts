// The parsers bootseq owns, fed random input for a bounded time (a seeded generator, so a failure
// repeats): the statement splitter, ${VAR} expansion, redaction, Litestream's log lines. No exception
// but the documented ones, and no super-linear time (1× and 8× the input in the same run).

import { describe, expect, test } from 'vitest';
import { createExpander } from '../../config/secrets.js';
import { splitStatements } from '../../db/split.js';
import { parseLine } from '../../db/litestream/lines.js';
import { random } from '../helpers/random.js';

const PIECES = [
  "'",
  '"',
  '`',
  '[',
  ']',
  '$',
  '$$',
  '$tag$',
  '--',
  '/*',
  '*/',
  ';',
  '\n',
  ' ',
  'BEGIN',
  'END',
  'CASE',
  'CREATE TRIGGER',
  '${',
  '}',
  ':-',
  'A_FILE',
  '://',
  '@',
  ':',
  '/',
  '%',
  '#',
  'x',
  'level=ERROR',
  'msg="',
  'db=',
  'position=',
  'sz=',
  '\\"',
  '{',
  '"time":',
  '\u0000',
  '\u001b[2J',
  'é',
  '🙂',
];

function input(next: () => number, pieces: number): string {
  let out = '';
  for (let i = 0; i < pieces; i += 1) out += PIECES[Math.floor(next() * PIECES.length)];
  return out;
}

const BUDGET_MS = 700;

function fuzz(seed: number, run: (text: string) => void): number {
  const next = random(seed);
  const until = performance.now() + BUDGET_MS;
  let cases = 0;
  while (performance.now() < until) {
    run(input(next, 1 + Math.floor(next() * 200)));
    cases += 1;
  }
  return cases;
}

function slope(make: (n: number) => string, run: (text: string) => void): number {
  run(make(1000)); // warm up
  // The best of three runs: a GC pause or a busy machine lengthens one run, not the shape of the curve.
  const time = (text: string) =>
    Math.min(
      ...[0, 1, 2].map(() => {
        const start = performance.now();
        run(text);
        return performance.now() - start;
      }),
    );
  const ratio = () => time(make(800_000)) / Math.max(1, time(make(100_000)));
  // A quadratic parser gives ≈ 64 every time; a machine busy with other test files gives an outlier
  // now and then: measured again, up to three times, until one ratio is under the bound.
  let best = Infinity;
  for (let i = 0; i < 3 && best >= LINEAR_BOUND; i += 1) best = Math.min(best, ratio());
  return best;
}

/** 8× the input: a linear parser takes about 8× the time, a quadratic one 64×. */
const LINEAR_BOUND = 30;

describe('fuzzing the parsers', () => {
  const expander = createExpander({ env: { A: 'postgres://u:p@h/db' }, readFile: () => 'x' });
  const redact = expander.redactor();

  test.each([
    ['splitStatements', (text: string) => expect(Array.isArray(splitStatements(text))).toBe(true)],
    ['${VAR} expansion', (text: string) => expect(typeof expander.expand(text).value).toBe('string')],
    ['redaction', (text: string) => expect(typeof redact(text)).toBe('string')],
    ['Litestream lines', (text: string) => expect(parseLine(text).text).toBe(text)],
  ])('%s: random input, no exception', (_name, run) => {
    expect(fuzz(0xb007, run)).toBeGreaterThan(100);
  });

  test.each([
    [
      'splitStatements',
      (n: number) => "INSERT INTO t VALUES ('a;b', $$x$$); -- c\n".repeat(n / 40),
      splitStatements,
    ],
    ['${VAR} expansion', (n: number) => '${A} ${B:-d} $'.repeat(n / 14), (t: string) => expander.expand(t)],
    ['redaction', (n: number) => 'x://u:p@h '.repeat(n / 10), redact],
    ['Litestream lines', (n: number) => `level=INFO msg="${'a'.repeat(n)}" db=/d`, parseLine],
    ['an unclosed ${VAR:- default', (n: number) => '${A:-'.repeat(n / 5), (t: string) => expander.expand(t)],
    ['an unclosed quote in a line', (n: number) => `msg="${'a="b '.repeat(n / 5)}`, parseLine],
    ['URLs without passwords', (n: number) => 'a://b'.repeat(n / 5), redact],
  ] as const)('%s: 8× the input takes far less than 64× the time', (_name, make, run) => {
    expect(slope(make, run as (t: string) => void)).toBeLessThan(LINEAR_BOUND);
  });
});
