// A child's output as lines, in bounded memory whatever it writes: a line ends at `\n` (a `\r` before
// it is dropped), and a line longer than MAX_LINE_BYTES is cut there, marked, and the rest of it (up
// to the next newline) skipped. Node's readline keeps a whole line in memory and crashed bootseq with
// "Invalid string length" after 512 MB without a newline (issue 29). UTF-8 is decoded across chunk
// boundaries; a cut in the middle of a character shows U+FFFD.

import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE_BYTES = 64 * 1024;
export const CUT_MARK = ` [… line cut at ${MAX_LINE_BYTES / 1024} KiB]`;

/** Calls `onLine` for each line of `input`; resolves when it ends (or fails). */
export function readLines(
  input: NodeJS.ReadableStream,
  onLine: (line: string) => void,
  maxBytes = MAX_LINE_BYTES,
): Promise<void> {
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Past the cut of an overlong line: drop bytes until its newline. */
  let skipping = false;
  const emit = (parts: Buffer[], cut: boolean) => {
    const decoder = new StringDecoder('utf8');
    let text = parts.map((p) => decoder.write(p)).join('') + decoder.end();
    if (!cut && text.endsWith('\r')) text = text.slice(0, -1);
    onLine(cut ? `${text}${CUT_MARK}` : text);
  };
  const take = (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      const newline = chunk.indexOf(0x0a, at);
      const end = newline === -1 ? chunk.length : newline;
      if (skipping) {
        if (newline === -1) return;
        skipping = false;
        at = newline + 1;
        continue;
      }
      const piece = chunk.subarray(at, end);
      if (pendingBytes + piece.length > maxBytes) {
        const room = maxBytes - pendingBytes;
        pending.push(piece.subarray(0, room));
        emit(pending.splice(0), true);
        pendingBytes = 0;
        skipping = newline === -1;
        at = newline === -1 ? chunk.length : newline + 1;
        continue;
      }
      if (newline === -1) {
        // Copied: the stream may reuse its chunk's memory.
        pending.push(Buffer.from(piece));
        pendingBytes += piece.length;
        return;
      }
      pending.push(piece);
      emit(pending.splice(0), false);
      pendingBytes = 0;
      at = newline + 1;
    }
  };
  return new Promise((resolve) => {
    input.on('data', (chunk: Buffer | string) =>
      take(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
    );
    const finish = () => {
      if (pending.length > 0 && !skipping) emit(pending.splice(0), false);
      resolve();
    };
    input.once('end', finish);
    input.once('close', finish);
    input.once('error', finish);
  });
}
