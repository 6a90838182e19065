// Reading a change file in bounded memory (issue 28 item 4): a file is read twice, line by line from
// a stream (node:readline), never whole: once to check it (header, hash, count, every entry), once to
// apply it. Between the two only what the check must hand on is kept: one number per transaction.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';

/** The lines of a change file; called once per pass. */
export interface LineSource {
  (): AsyncIterable<string>;
  /** What changes when the file does (its size and modification time), if it can change. */
  signature?: () => string;
}

export function fileLines(file: string): LineSource {
  const lines: LineSource = () => {
    const input = fs.createReadStream(file, { highWaterMark: 1 << 16 });
    const rl = readline.createInterface({ input, crlfDelay: Infinity });
    // A pass that stops early (a refused file, an interrupted boot) closes the file too.
    rl.on('close', () => input.destroy());
    return rl;
  };
  lines.signature = () => {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  };
  return lines;
}

/** The lines of a change file held in memory (tests, and files already read). */
export function textLines(text: string): LineSource {
  return async function* lines() {
    await Promise.resolve(); // an async source like a file's, so callers see one kind
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      yield text.slice(start, end);
      start = end + 1;
    }
  };
}

/** A SHA-256 fed line by line, each with its newline: the bytes of a file written by bootseq. */
export function lineHash() {
  const hash = createHash('sha256');
  return {
    add(line: string) {
      hash.update(line, 'utf8');
      hash.update('\n');
    },
    hex: () => hash.digest('hex'),
  };
}
