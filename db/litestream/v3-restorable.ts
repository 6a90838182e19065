// The v0.3 driver's restorability check (docs/litestream.md Q12): the current generation of a replica
// must have a snapshot (`litestream snapshots`) and, when asked (after each takeover and at shutdown),
// every WAL index of it must start at offset 0 (`litestream wal -generation`). Reads listings; the
// schedule, the states and what is done about a verdict are phases/replicate/snapshots.ts's.

import { parseLine } from './lines.js';
import type { ListCommand, Restorability } from './types.js';
import { readGeneration } from './v3-files.js';

export interface SnapshotRow {
  readonly replica: string;
  readonly generation: string;
  readonly index: number;
  readonly size: number;
  readonly created: string;
}

export interface WalSegmentRow extends SnapshotRow {
  readonly offset: number;
}

/** A listing's rows, and what Litestream said instead of rows (ERROR lines, unreadable lines). */
export interface Listing<Row> {
  readonly rows: readonly Row[];
  readonly errors: readonly string[];
}

const GENERATION = /^[0-9a-f]{16}$/;
const COUNT = /^\d+$/;

/** `litestream snapshots` output: `replica  generation  index  size  created` rows. */
export function parseSnapshots(lines: readonly string[]): Listing<SnapshotRow> {
  return parseTable(lines, 'replica generation index size created', (f) => {
    const [replica, generation, index, size, created] = f;
    if (f.length !== 5 || !generation || !GENERATION.test(generation)) return undefined;
    if (!COUNT.test(index ?? '') || !COUNT.test(size ?? '')) return undefined;
    return { replica: replica!, generation, index: Number(index), size: Number(size), created: created! };
  });
}

/** `litestream wal` output: `replica  generation  index  offset  size  created` rows. */
export function parseWalSegments(lines: readonly string[]): Listing<WalSegmentRow> {
  return parseTable(lines, 'replica generation index offset size created', (f) => {
    const [replica, generation, index, offset, size, created] = f;
    if (f.length !== 6 || !generation || !GENERATION.test(generation)) return undefined;
    if (![index, offset, size].every((n) => COUNT.test(n ?? ''))) return undefined;
    return {
      replica: replica!,
      generation,
      index: Number(index),
      offset: Number(offset),
      size: Number(size),
      created: created!,
    };
  });
}

function parseTable<Row>(
  lines: readonly string[],
  header: string,
  row: (fields: string[]) => Row | undefined,
): Listing<Row> {
  const rows: Row[] = [];
  const errors: string[] = [];
  for (const text of lines) {
    if (text.trim() === '') continue;
    const fields = text.trim().split(/\s+/);
    if (fields.join(' ') === header) continue;
    // Litestream's own log lines (slog text or JSON): an ERROR instead of rows means "cannot tell".
    if (/^(time=|\{)/.test(text.trim())) {
      const line = parseLine(text);
      if (line.level === 'ERROR' || line.level === 'WARN') errors.push(line.error ?? line.msg ?? text);
      continue;
    }
    const parsed = row(fields);
    if (parsed) rows.push(parsed);
    else errors.push(`unreadable line: ${text}`);
  }
  return { rows, errors };
}

/**
 * One replica's verdict for `generation`, from its snapshot listing and, when given, its WAL listing
 * (Litestream's restore refuses a WAL index whose first segment does not start at 0: Q12).
 */
export function judgeReplica(
  generation: string,
  snapshots: Listing<SnapshotRow>,
  wal?: Listing<WalSegmentRow>,
): Restorability {
  if (snapshots.errors.length > 0) return { state: 'unknown', why: snapshots.errors[0]! };
  if (!snapshots.rows.some((r) => r.generation === generation))
    return {
      state: 'unrestorable',
      reason: 'its snapshot is gone',
      detail: `generation ${generation} has no snapshot in it`,
    };
  if (!wal) return { state: 'restorable' };
  if (wal.errors.length > 0) return { state: 'unknown', why: wal.errors[0]! };
  const firstOffset = new Map<number, number>();
  for (const r of wal.rows)
    if (r.generation === generation)
      firstOffset.set(r.index, Math.min(firstOffset.get(r.index) ?? Infinity, r.offset));
  const broken = [...firstOffset].filter(([, offset]) => offset !== 0).sort(([a], [b]) => a - b)[0];
  if (broken)
    return {
      state: 'unrestorable',
      reason: 'the start of its WAL is gone',
      detail: `generation ${generation}'s WAL index ${broken[0].toString(16).padStart(8, '0')} begins at offset ${broken[1]}, not 0`,
    };
  return { state: 'restorable' };
}

/**
 * One replica now: its generation, the listings, and the verdict; undefined when there is nothing to
 * judge (no generation yet) or the generation moved while Litestream was asked.
 */
export async function listReplica(
  list: ListCommand,
  target: { readonly dbPath: string; readonly listPath?: string; readonly metaPath: string },
  replica: string,
  withWal: boolean,
  timeoutMs: number,
): Promise<{ generation: string; verdict: Restorability } | undefined> {
  const generation = readGeneration(target.metaPath);
  if (!generation) return undefined;
  const base = ['-replica', replica];
  const db = target.listPath ?? target.dbPath;
  const snapshots = await list(['snapshots', ...base, db], timeoutMs);
  // Without a snapshot listing there is nothing to judge: do not wait on the WAL's as well.
  const wal =
    withWal && !snapshots.failed
      ? await list(['wal', ...base, '-generation', generation, db], timeoutMs)
      : undefined;
  if (readGeneration(target.metaPath) !== generation) return undefined;
  const asListing = (r: { lines: string[]; failed?: string }) =>
    r.failed ? { rows: [], errors: [r.failed] } : undefined;
  const verdict = judgeReplica(
    generation,
    asListing(snapshots) ?? parseSnapshots(snapshots.lines),
    wal && (asListing(wal) ?? parseWalSegments(wal.lines)),
  );
  return { generation, verdict };
}
