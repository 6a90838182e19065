// What Litestream v0.3 keeps beside a database, read (never written): `.<db>-litestream/generation`
// (the generation it replicates now) and the shadow WAL `generations/<gen>/wal/<index>.wal` (how far
// its own copy is: docs/litestream.md Q8, Q9).

import fs from 'node:fs';
import path from 'node:path';

export function readGeneration(metaPath: string): string | undefined {
  try {
    return fs.readFileSync(path.join(metaPath, 'generation'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The newest shadow WAL file of the current generation: its index, size and mtime. */
export function readShadow(metaPath: string) {
  const generation = readGeneration(metaPath);
  if (!generation) return undefined;
  const dir = path.join(metaPath, 'generations', generation, 'wal');
  try {
    const newest = fs
      .readdirSync(dir)
      .filter((n) => /^[0-9a-f]{8}\.wal$/.test(n))
      .sort()
      .at(-1);
    if (!newest) return undefined;
    const stat = fs.statSync(path.join(dir, newest));
    return {
      lineage: generation,
      index: Number.parseInt(newest, 16),
      offset: stat.size,
      mtimeMs: stat.mtimeMs,
    };
  } catch {
    return undefined;
  }
}
