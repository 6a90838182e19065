// Import (docs/sync.md): a change file applied by the rules of docs/sync.md, in two streamed passes
// (reader.ts). The first checks the file whole (format.ts, and what only this node can judge: who it
// is from, who it is for, which node is main) and refuses it whole on any problem. The second applies
// it: one SAVEPOINT per transaction (a run of lines with one source node and tx_id), a transaction
// already applied skipped, one that fails rolled back alone and counted, a commit every `batchSize`
// transactions with the clock's receive rule and PRAGMA wal_checkpoint(PASSIVE). Capture is off while
// it runs (sync_node.applying), so nothing imported is captured again as a local change. It stops
// between transactions when its signal is aborted (what was committed is whole transactions; the rest
// is applied by the next import of the file), and gives the event loop a turn after every commit.

import { createHash } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import type { SyncConfig } from '../../config/schema.js';
import { tableShape, type Db, type TableShape } from './capture.js';
import { createEngine, type Engine, type Rule } from './engine.js';
import { parseEntry, parseHeader, readEntry, type Entry, type Meta, type Parsed } from './format.js';
import { canonicalKey } from './keys.js';
import { lineHash, type LineSource } from './reader.js';

export type { Rule } from './engine.js';

export interface FailedTx {
  readonly tx_id: string;
  readonly error: string;
}

/** A PASSIVE checkpoint after a commit, unless one ran this recently (and always after the last). */
const CHECKPOINT_EVERY_MS = 200;

/** How many failed transactions an import names; the rest are counted. */
export const NAMED_FAILURES = 5;

export interface Applied {
  readonly status: 'applied';
  readonly meta: Meta;
  readonly applied: number;
  readonly skipped: number;
  readonly failed: number;
  /** The first NAMED_FAILURES failed transactions, in file order. */
  readonly failures: readonly FailedTx[];
  /** Conflict decisions by rule (another node had changed the row), and ALTERs. */
  readonly conflicts: Readonly<Partial<Record<Rule, number>>>;
  readonly changes: number;
  /** Nodes whose changes were stamped more than sync.max_clock_skew ahead of this node's clock. */
  readonly ahead: readonly { readonly node: string; readonly aheadMs: number }[];
  /** From the first check of the file to the last commit. */
  readonly durationMs: number;
}

export type ImportResult =
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'known'; readonly name: string; readonly importedAt: string }
  | Applied;

export interface ImportOptions {
  /** Aborted: the import stops between transactions, commits whole ones, and throws the reason. */
  readonly signal?: AbortSignal | undefined;
  /** After every commit: changes read so far, of the header's count. */
  readonly onProgress?: ((step: 'checked' | 'applied', done: number, total: number) => void) | undefined;
}

interface Self {
  node: string;
  role: 'main' | 'client';
}

interface Checked {
  readonly meta: Meta;
  /** Each transaction's highest LSN, in file order; negative for a transaction of one change. */
  readonly runs: number[];
  readonly fileHash: string;
  /** The source's size and time when the first pass began. */
  readonly signature: string | undefined;
  readonly mainNode: string | undefined;
  readonly ahead: Map<string, number>;
}

/** Who the file is from and for, judged by what this node knows; a reason to refuse, or the main's id. */
function judgeHeader(db: Db, self: Self, meta: Meta): { mainNode: string | undefined } | string {
  if (meta.source_node === self.node)
    return `it comes from this node itself (source_node "${meta.source_node}"): importing it would apply its own changes again`;
  if (meta.to !== null && meta.to !== self.node && !(meta.to === 'main' && self.role === 'main'))
    return `it is for node "${meta.to}", not this node ("${self.node}")`;
  if (self.role === 'main') {
    if (meta.source_role === 'main')
      return `it says it comes from a main ("${meta.source_node}"), but this node ("${self.node}") is the main`;
    return { mainNode: self.node };
  }
  const known = db
    .prepare("SELECT peer FROM sync_state WHERE peer_role = 'main' ORDER BY updated_at DESC LIMIT 1")
    .get() as { peer: string } | undefined;
  if (meta.source_role === 'main' && known && known.peer !== meta.source_node)
    return `it says "${meta.source_node}" is main, but this node's main is "${known.peer}"`;
  return { mainNode: meta.source_role === 'main' ? meta.source_node : known?.peer };
}

/** The first pass: the whole file checked, nothing written. */
async function check(
  db: Db,
  sync: SyncConfig,
  self: Self,
  lines: LineSource,
  options: ImportOptions,
): Promise<Checked | string> {
  const signature = lines.signature?.();
  let headerText = '';
  const body = lineHash();
  const shapes = new Map<string, TableShape | undefined>(sync.tables.map((t) => [t, tableShape(db, t)]));
  const runs: number[] = [];
  const ahead = new Map<string, number>();
  const limit = Date.now() + sync.maxClockSkewMs;
  let meta: Meta | undefined;
  let mainNode: string | undefined;
  let n = 0;
  let runSource = '';
  let runTx = '';
  for await (const line of lines()) {
    if (meta === undefined) {
      const header = parseHeader(line);
      if (typeof header === 'string') return header;
      const judged = judgeHeader(db, self, header);
      if (typeof judged === 'string') return judged;
      [meta, mainNode, headerText] = [header, judged.mainNode, line];
      continue;
    }
    body.add(line);
    n += 1;
    if (n % 16384 === 0) {
      options.signal?.throwIfAborted();
      options.onProgress?.('checked', n, meta.count);
    }
    const where = `change ${n} (line ${n + 1})`;
    if (n > meta.count) continue; // counted, refused below
    const parsed = parseEntry(line, meta);
    if (typeof parsed === 'string') return `${where}: ${parsed}`;
    const { entry } = parsed;
    if (entry.source_node === self.node)
      return `${where} was made on this node ("${self.node}"): export for this node with \`--to ${self.node}\`, which leaves its own changes out`;
    if (meta.source_role === 'client' && entry.source_node !== meta.source_node)
      return `${where} comes from "${entry.source_node}", but a client's file carries only its own changes ("${meta.source_node}")`;
    const shape = shapes.get(entry.table_name);
    const key = shape && canonicalKey(shape, parsed.pk, parsed.row);
    if (typeof key === 'string') return `${where}: ${key}`;
    if (entry.hlc_ms > limit)
      ahead.set(entry.source_node, Math.max(ahead.get(entry.source_node) ?? 0, entry.hlc_ms - Date.now()));
    if (entry.tx_id !== runTx || entry.source_node !== runSource)
      runs.push(-entry.lsn); // one change, so far
    else runs[runs.length - 1] = Math.max(Math.abs(runs.at(-1)!), entry.lsn);
    [runSource, runTx] = [entry.source_node, entry.tx_id];
  }
  if (meta === undefined) return 'the file is empty (expected {"__meta__": {...}} then one change per line)';
  const actual = body.hex();
  if (actual !== meta.sha256)
    return `the content does not match __meta__.sha256 (${meta.sha256}; the content hashes to ${actual}): the file was changed or cut short`;
  if (n !== meta.count) return `__meta__.count is ${meta.count} but the file holds ${n} changes`;
  // The file's identity: its header line and (through the header's check) every byte after it.
  const fileHash = createHash('sha256').update(headerText).update('\n').update(actual).digest('hex');
  return { meta, runs, fileHash, signature, mainNode, ahead };
}

interface Progress {
  applied: number;
  skipped: number;
  failed: number;
  failures: FailedTx[];
  /** The first LSN of the first transaction that failed: the peer's log is applied up to just before it. */
  firstFailedLsn: number | undefined;
  changes: number;
}

/** A failed transaction counted; the first few named (failures cost what successes cost: no list searched). */
function countFailure(p: Progress, txId: string, lsn: number, error: unknown): void {
  p.failed += 1;
  p.firstFailedLsn ??= lsn;
  if (p.failures.length < NAMED_FAILURES) p.failures.push({ tx_id: txId, error: (error as Error).message });
}

/** The import's SQLite transactions: capture off inside them, the clock's receive rule at each commit. */
function createBatches(db: Db, engine: Engine, progress: () => void) {
  let checkpointedAt = 0;
  // Prepared once: 100,000 transactions are 1,000 batches of these.
  const beginImmediate = db.prepare('BEGIN IMMEDIATE');
  const applying = db.prepare('UPDATE sync_node SET applying = ? WHERE id = 1');
  const commitTx = db.prepare('COMMIT');
  return {
    begin() {
      beginImmediate.run();
      applying.run(1);
    },
    commit(last = false) {
      engine.observeClock();
      applying.run(0);
      // Batches commit without an fsync each (synchronous NORMAL: a crash can lose the last batches,
      // never corrupt, and a lost batch is applied again by the next import of the file, which is
      // remembered only by the last commit, made FULL: its fsync covers the WAL before it).
      commitTx.run();
      // The WAL is kept short (the seed's per-batch checkpoint), at most every CHECKPOINT_EVERY_MS:
      // 1,000 checkpoints cost more than the 100,000 changes they follow.
      if (last || performance.now() - checkpointedAt >= CHECKPOINT_EVERY_MS) {
        db.pragma('wal_checkpoint(PASSIVE)');
        checkpointedAt = performance.now();
      }
      progress();
    },
  };
}

/** The savepoint a transaction is applied in, opened only when needed; statements prepared once. */
function createSavepoint(db: Db, engine: Engine) {
  // Prepared once: 100,000 transactions are 200,000 of these.
  const savepoint = db.prepare('SAVEPOINT bootseq_tx');
  const release = db.prepare('RELEASE bootseq_tx');
  const rollbackTo = db.prepare('ROLLBACK TO bootseq_tx');
  const sp = {
    isOpen: false,
    // A transaction of one change opens its savepoint only before a write that a later statement's
    // failure would have to undo (an audit row, a relay, an ALTER); its row's own write is undone by
    // SQLite when it fails, and its applied record is written after it.
    open: () => {
      if (sp.isOpen) return;
      savepoint.run();
      sp.isOpen = true;
    },
    release: () => {
      if (sp.isOpen) release.run();
      sp.isOpen = false;
    },
    rollback: () => {
      if (sp.isOpen) {
        rollbackTo.run();
        release.run();
        sp.isOpen = false;
      }
      engine.forget();
    },
  };
  return sp;
}

/** The transaction being applied now, and what the runner needs to go on. */
interface Run {
  readonly engine: Engine;
  readonly checked: Checked;
  readonly p: Progress;
  readonly options: ImportOptions;
  readonly sp: ReturnType<typeof createSavepoint>;
  index: number;
  state: 'apply' | 'skip' | 'failed';
  txId: string;
  source: string;
  maxLsn: number;
  /** A transaction of one change: no savepoint unless a write must be undoable (createSavepoint). */
  single: boolean;
  inBatch: number;
}

/** The open transaction ended: released and recorded, or counted as skipped. */
function closeTx(r: Run): void {
  if (r.state === 'apply') {
    if (r.single) r.engine.claim(r.source, r.txId, r.maxLsn);
    r.engine.kept();
    r.sp.release();
    r.p.applied += 1;
  } else if (r.state === 'skip' && r.index >= 0) r.p.skipped += 1;
}

/** The next transaction begun with its first line; false: stop here. */
function startTx(r: Run, entry: Entry): boolean {
  if (r.options.signal?.aborted) return false;
  [r.index, r.txId, r.source] = [r.index + 1, entry.tx_id, entry.source_node];
  const lsn = r.checked.runs[r.index]!;
  [r.single, r.maxLsn] = [lsn < 0, Math.abs(lsn)];
  if (r.single) {
    // Read here, recorded at closeTx() once its change is written.
    r.state = r.engine.isApplied(r.source, r.txId, r.maxLsn) ? 'skip' : 'apply';
    return true;
  }
  // The check and the record are one statement, so it runs in the savepoint (a failure undoes it).
  r.sp.open();
  r.state = r.engine.claim(r.source, r.txId, r.maxLsn) ? 'apply' : 'skip';
  if (r.state === 'skip') r.sp.release();
  return true;
}

/** One change of the open transaction; false when it must stop (a long transaction, aborted: rolled back). */
function applyChange(r: Run, parsed: Parsed): boolean {
  r.p.changes += 1;
  if (r.state !== 'apply') return true;
  // Aborted: a transaction of one change is stopped before its change, as a longer one is rolled back.
  if (r.single && r.p.changes % 4096 === 0 && r.options.signal?.aborted) {
    r.engine.see(parsed.entry);
    r.state = 'failed';
    return false;
  }
  try {
    r.engine.apply(r.txId, parsed, r.sp.open);
  } catch (error) {
    // Without a savepoint, a write after the row's (its version, a relay) cannot be undone alone:
    // the batch is rolled back and the import stops (only a failing disk or memory gets here).
    if (!r.sp.isOpen && r.engine.rowWritten()) throw error;
    r.sp.rollback();
    countFailure(r.p, r.txId, parsed.entry.lsn, error);
    r.state = 'failed';
    return true;
  }
  // A transaction of a million rows is not waited for: rolled back whole, applied next time.
  if (!r.single && r.p.changes % 4096 === 0 && r.options.signal?.aborted) {
    r.sp.rollback();
    r.state = 'failed';
    return false;
  }
  return true;
}

/** The transactions of the second pass, one after the other, and the batches they are committed in. */
function createRunner(
  db: Db,
  sync: SyncConfig,
  engine: Engine,
  checked: Checked,
  p: Progress,
  options: ImportOptions,
) {
  const run: Run = {
    ...{ engine, checked, p, options, sp: createSavepoint(db, engine) },
    ...{ index: -1, state: 'skip', txId: '', source: '', maxLsn: 0, single: false, inBatch: 0 },
  };
  const batches = createBatches(db, engine, () =>
    options.onProgress?.('applied', p.changes, checked.meta.count),
  );
  const runner = {
    ...batches,
    close: () => closeTx(run),
    /**
     * A line of the next transaction: the last one closed, a commit when the batch is full (then a
     * promise: the event loop gets a turn); false: stop here.
     */
    open(entry: Entry): boolean | Promise<boolean> {
      if (run.index >= 0 && entry.tx_id === run.txId && entry.source_node === run.source) return true;
      closeTx(run);
      if (run.index >= 0 && ++run.inBatch >= sync.batchSize) {
        batches.commit();
        return turn().then(() => {
          batches.begin();
          run.inBatch = 0;
          return startTx(run, entry);
        });
      }
      return startTx(run, entry);
    },
    start: (entry: Entry) => startTx(run, entry),
    change: (parsed: Parsed) => applyChange(run, parsed),
  };
  return runner;
}

/** The second pass: every transaction applied, skipped or rolled back; true when it ran to the end. */
async function apply(
  db: Db,
  sync: SyncConfig,
  engine: Engine,
  lines: LineSource,
  checked: Checked,
  p: Progress,
  options: ImportOptions & { file: string },
): Promise<boolean> {
  const runner = createRunner(db, sync, engine, checked, p, options);
  let header = true;
  let complete = true;
  db.pragma('synchronous = NORMAL');
  runner.begin();
  try {
    for await (const line of lines()) {
      if (header) {
        header = false;
        continue;
      }
      // Checked whole by the first pass: read again, not judged again (the file must not change in
      // between: its size and time are compared before the last commit).
      const parsed = readEntry(line, checked.meta);
      let opened = runner.open(parsed.entry);
      if (opened instanceof Promise) opened = await opened;
      if (!opened || !runner.change(parsed)) {
        complete = false;
        break;
      }
    }
    if (lines.signature && lines.signature() !== checked.signature)
      throw new Error('the file changed while it was imported: import it again');
    if (complete) runner.close();
    runner.commit(true);
    // The record of the file goes in last, FULL: its fsync makes every batch before it durable too.
    db.pragma('synchronous = FULL');
    runner.begin();
    if (complete) {
      recordPeer(db, sync, checked.meta, p);
      if (p.failed === 0)
        db.prepare(
          'INSERT INTO sync_file (sha256, name, source_node, imported_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
        ).run(checked.fileHash, options.file, checked.meta.source_node, new Date().toISOString());
    }
    runner.commit(true);
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  } finally {
    db.pragma('synchronous = FULL');
  }
  return complete;
}

/** sync_state: how far the peer's log is applied here (short of the first failed transaction). */
function recordPeer(db: Db, sync: SyncConfig, meta: Meta, p: Progress): void {
  const upTo = p.firstFailedLsn !== undefined ? p.firstFailedLsn - 1 : meta.to_lsn;
  db.prepare(
    `INSERT INTO sync_state (peer, peer_role, last_lsn, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (peer) DO UPDATE SET peer_role = excluded.peer_role,
       last_lsn = max(last_lsn, excluded.last_lsn), updated_at = excluded.updated_at`,
  ).run(meta.source_node, meta.source_role, Math.max(0, upTo), new Date().toISOString());
  // A client that exported before it knew its main's id recorded what it sent under "main".
  if (sync.role === 'client' && meta.source_role === 'main') {
    db.prepare(
      `UPDATE sync_state SET exported_lsn = max(exported_lsn,
         coalesce((SELECT exported_lsn FROM sync_state WHERE peer = 'main' AND peer_role IS NULL), 0))
       WHERE peer = ?`,
    ).run(meta.source_node);
    if (meta.source_node !== 'main')
      db.exec("DELETE FROM sync_state WHERE peer = 'main' AND peer_role IS NULL");
  }
}

/**
 * Applies one change file; `file` is how audit rows and sync_file name it. A file already imported
 * whole (the same bytes) is not read again: `known`.
 */
export async function importChanges(
  db: Db,
  sync: SyncConfig,
  lines: LineSource,
  file: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const startedAt = performance.now();
  const self = db.prepare('SELECT node, role FROM sync_node WHERE id = 1').get() as Self | undefined;
  if (!self)
    return { status: 'rejected', reason: 'this database has no sync tables yet (run migrate first)' };
  const checked = await check(db, sync, self, lines, options);
  if (typeof checked === 'string') return { status: 'rejected', reason: checked };
  const known = db
    .prepare('SELECT name, imported_at FROM sync_file WHERE sha256 = ?')
    .get(checked.fileHash) as { name: string; imported_at: string } | undefined;
  if (known) return { status: 'known', name: known.name, importedAt: known.imported_at };
  const engine = createEngine(db, sync, { file, isMain: self.role === 'main', mainNode: checked.mainNode });
  const p: Progress = {
    applied: 0,
    skipped: 0,
    failed: 0,
    failures: [],
    firstFailedLsn: undefined,
    changes: 0,
  };
  const complete = await apply(db, sync, engine, lines, checked, p, { ...options, file });
  if (!complete) options.signal?.throwIfAborted();
  return {
    status: 'applied',
    meta: checked.meta,
    applied: p.applied,
    skipped: p.skipped,
    failed: p.failed,
    failures: p.failures,
    conflicts: engine.conflicts,
    changes: p.changes,
    ahead: [...checked.ahead].map(([node, aheadMs]) => ({ node, aheadMs })),
    durationMs: performance.now() - startedAt,
  };
}
