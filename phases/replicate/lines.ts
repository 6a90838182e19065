// A Litestream's output as parsed lines: each line parsed once, by the parser of the driver that runs
// (db/litestream: only the driver knows its version's lines), and handed to every reader in turn: the
// log's relay filter, the takeover proof, the progress monitor, the restorability check and the fault
// reports.

import type { Child } from '../../core/task.js';
import type { LitestreamLine } from '../../db/litestream/index.js';

/** A Litestream's output as parsed lines: each line parsed once, handed to every listener in turn. */
export interface LineFeed {
  onLine(listener: (line: LitestreamLine) => void): () => void;
}

const FEEDS = new WeakMap<Pick<Child, 'onLine'>, LineFeed>();

/**
 * The parsed lines of a Litestream child, one feed per child: the first caller subscribes to its output
 * once, later callers share it. `parse` is the parser its relay filter used (`parseOnce`), so a line
 * both the filter and the feed read is parsed once between them.
 */
export function linesOf(child: Pick<Child, 'onLine'>, parse: (text: string) => LitestreamLine): LineFeed {
  const known = FEEDS.get(child);
  if (known) return known;
  const listeners = new Set<(line: LitestreamLine) => void>();
  child.onLine((text) => {
    const line = parse(text);
    for (const listener of listeners) listener(line);
  });
  const feed: LineFeed = {
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  FEEDS.set(child, feed);
  return feed;
}

/**
 * A parser that remembers the line it parsed last: the relay filter sees each line just before the
 * listeners do (core/context.ts subscribes it first), so the feed finds it parsed already.
 */
export function parseOnce(parseLine: (text: string) => LitestreamLine): (text: string) => LitestreamLine {
  let last: LitestreamLine | undefined;
  return (text) => (last?.text === text ? last : (last = parseLine(text)));
}
