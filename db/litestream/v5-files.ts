// What Litestream v0.5 keeps beside a database, read (never written): `.<db>-litestream/ltx/0/`, one
// LTX file `<minTXID>-<maxTXID>.ltx` per sync that found new WAL frames (docs/litestream-v05.md A1):
// the newest is how far its own copy of the database is. And the restorability check: `litestream
// restore -dry-run` plans a restore from the replica without writing anything, and exits 1 when there
// is no complete chain from a snapshot (E, I1, I2). The schedule and what is done about a verdict are
// phases/replicate/snapshots.ts's.

import fs from 'node:fs';
import path from 'node:path';
import type { ListCommand, Position, Restorability } from './types.js';

/** v0.5's one lineage per database: a chain of TXIDs, no generations. */
export const LINEAGE = 'ltx';

const LTX_FILE = /^[0-9a-f]{16}-([0-9a-f]{16})\.ltx$/;

/** The newest local level-0 LTX file: its maxTXID and mtime. */
export function readLocalTxid(metaPath: string): (Position & { readonly mtimeMs: number }) | undefined {
  const dir = path.join(metaPath, 'ltx', '0');
  try {
    const newest = fs
      .readdirSync(dir)
      .filter((n) => LTX_FILE.test(n))
      .sort()
      .at(-1);
    if (!newest) return undefined;
    const stat = fs.statSync(path.join(dir, newest));
    const txid = Number.parseInt(LTX_FILE.exec(newest)![1]!, 16);
    return { lineage: LINEAGE, index: txid, offset: 0, mtimeMs: stat.mtimeMs };
  } catch {
    return undefined;
  }
}

/** What `restore -dry-run` says when the replica cannot restore the database (E, I2). */
const UNRESTORABLE = /no matching backup files available|non-contiguous ltx files|no snapshot/i;

/**
 * Whether the replica can restore the database now, asked of Litestream (`restore -dry-run`, one
 * replica per database in v0.5); undefined when Litestream has not written anything for it yet.
 */
export async function checkChain(
  list: ListCommand,
  target: { readonly dbPath: string; readonly listPath?: string; readonly metaPath: string },
  _replica: string,
  _thorough: boolean,
  timeoutMs: number,
): Promise<{ generation: string; verdict: Restorability } | undefined> {
  if (!fs.existsSync(path.join(target.metaPath, 'ltx'))) return undefined;
  const answer = await list(['restore', '-dry-run', target.listPath ?? target.dbPath], timeoutMs);
  if (!answer.failed) return { generation: LINEAGE, verdict: { state: 'restorable' } };
  const said = answer.lines.find((l) => UNRESTORABLE.test(l));
  if (said === undefined) return { generation: LINEAGE, verdict: { state: 'unknown', why: answer.failed } };
  return {
    generation: LINEAGE,
    verdict: {
      state: 'unrestorable',
      reason: 'it holds no complete chain of LTX files from a snapshot',
      detail: `litestream restore -dry-run: ${said.replace(/^Error:\s*/, '')}`,
    },
  };
}
