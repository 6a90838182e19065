// A child's output as lines in bounded memory (core/lines.ts): the same lines as splitting the whole
// text at `\n`, however the bytes arrive (a seeded property over random chunkings), and an overlong
// line cut, marked and its rest skipped.

import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { CUT_MARK, readLines } from '../../../core/lines.js';
import { random } from '../../helpers/random.js';

async function linesOf(chunks: (string | Buffer)[], max?: number): Promise<string[]> {
  const input = new PassThrough();
  const out: string[] = [];
  const done = readLines(input, (l) => out.push(l), max);
  for (const c of chunks) input.write(c);
  input.end();
  await done;
  return out;
}

describe('readLines', () => {
  test('lines, CRLF, a last line without a newline, an empty line', async () => {
    expect(await linesOf(['a\r\nb\n', '\nc'])).toEqual(['a', 'b', '', 'c']);
  });

  test('a character split across two chunks arrives whole', async () => {
    const bytes = Buffer.from('café ✓\n');
    expect(await linesOf([bytes.subarray(0, 4), bytes.subarray(4, 8), bytes.subarray(8)])).toEqual([
      'café ✓',
    ]);
  });

  test('a line past the limit is cut there, marked, and its rest skipped up to the next line', async () => {
    const lines = await linesOf(['x'.repeat(3000), 'y'.repeat(3000), '\nnext\n'], 1024);
    expect(lines).toEqual([`${'x'.repeat(1024)}${CUT_MARK}`, 'next']);
  });

  test('400 seeded random texts and chunkings: the lines of a plain split, cut where too long', async () => {
    const seed = Number(process.env['SEED'] ?? 29);
    const next = random(seed);
    const alphabet = ['a', 'b', '\n', '\r\n', 'é', '✓', ' '];
    for (let i = 0; i < 400; i += 1) {
      const text = Array.from({ length: Math.floor(next() * 300) }, () =>
        next() < 0.02 ? 'z'.repeat(200) : alphabet[Math.floor(next() * alphabet.length)]!,
      ).join('');
      const bytes = Buffer.from(text);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(next() * 40);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const max = 128;
      const expected = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
      if (expected.at(-1) === '') expected.pop();
      const cut = expected.map((l) => {
        const b = Buffer.from(l);
        return b.length > max ? `${b.subarray(0, max).toString('utf8')}${CUT_MARK}` : l;
      });
      expect(await linesOf(chunks, max), `seed ${seed}, case ${i}: ${JSON.stringify(text)}`).toEqual(cut);
    }
  });
});
