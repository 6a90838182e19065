// Each of Litestream's lines is parsed once (phases/replicate/lines.ts): the relay filter and every
// reader of the feed (takeover proof, progress monitor, restorability check, fault reports) get the
// one parsed line.

import { describe, expect, test } from 'vitest';
import { parseLine, type LitestreamLine } from '../../../db/litestream/lines.js';
import { linesOf, parseOnce } from '../../../phases/replicate/lines.js';

const WRITTEN =
  'time=2026-11-23T10:00:00.000Z level=INFO msg="wal segment written" db=/data/app.db replica=file position=c0ffee00c0ffee00/00000001:4152 sz=4152';
const ERROR = 'time=2026-11-23T10:00:01.000Z level=ERROR msg="sync error" db=/data/app.db error="disk full"';

/** A child's output: what core/context.ts and the readers subscribe to. */
function fakeOutput() {
  const listeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  return {
    onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    print(line: string) {
      for (const listener of [...listeners]) listener(line, 'stdout');
    },
    get subscribers() {
      return listeners.size;
    },
  };
}

describe('linesOf', () => {
  test('one subscription per child, every reader gets the same parsed line, in the order they came', () => {
    const child = fakeOutput();
    const seen: [string, LitestreamLine][] = [];
    linesOf(child, parseLine).onLine((line) => seen.push(['first', line]));
    linesOf(child, parseLine).onLine((line) => seen.push(['second', line]));
    expect(child.subscribers).toBe(1);
    child.print(WRITTEN);
    expect(seen.map(([who]) => who)).toEqual(['first', 'second']);
    expect(seen[0]![1]).toBe(seen[1]![1]);
    expect(seen[0]![1]).toEqual(parseLine(WRITTEN));
  });

  test('a reader that stops gets no more lines; the others still do', () => {
    const child = fakeOutput();
    const first: string[] = [];
    const second: string[] = [];
    const stop = linesOf(child, parseLine).onLine((line) => first.push(line.msg ?? ''));
    linesOf(child, parseLine).onLine((line) => second.push(line.msg ?? ''));
    child.print(WRITTEN);
    stop();
    child.print(ERROR);
    expect(first).toEqual(['wal segment written']);
    expect(second).toEqual(['wal segment written', 'sync error']);
  });

  test('the relay filter and the feed share one parse of each line: the very same object', () => {
    const child = fakeOutput();
    const parse = parseOnce(parseLine);
    // core/context.ts subscribes the relay filter first; the feed reads the line after it.
    const relayed: LitestreamLine[] = [];
    child.onLine((text) => relayed.push(parse(text)));
    const fed: LitestreamLine[] = [];
    linesOf(child, parse).onLine((line) => fed.push(line));
    child.print(WRITTEN);
    child.print(ERROR);
    expect(fed).toHaveLength(2);
    expect(fed[0]).toBe(relayed[0]);
    expect(fed[1]).toBe(relayed[1]);
    expect(fed[1]?.error).toBe('disk full');
  });
});

describe('parseOnce', () => {
  test('the same text twice in a row is parsed once; another text is parsed anew', () => {
    const parse = parseOnce(parseLine);
    const a = parse(WRITTEN);
    expect(parse(WRITTEN)).toBe(a);
    const b = parse(ERROR);
    expect(b).not.toBe(a);
    expect(b.level).toBe('ERROR');
  });
});
