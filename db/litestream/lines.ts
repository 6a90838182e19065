// Litestream v0.3.13's log lines, read as data: the v0.3 driver's parser (db/litestream/v3.ts). It
// logs with Go's slog: text (`time=… level=INFO msg="wal segment written" db=/data/app.db replica=file
// position=G/00000000:16512 sz=8240`) or, with `logging.type: json`, one JSON object per line. What
// bootseq learns from them (measured in docs/litestream.md Q3, Q8, Q9): which generation this process
// created, when a snapshot or a WAL segment reached which replica and up to where, and every ERROR
// about a database. Parsing only, and once per line: the log's relay filter, the takeover proof, the
// progress monitor, the restorability check and the fault reports all read the one parsed line
// (phases/replicate/lines.ts).

/**
 * How far a database or a replica is, comparable only through the driver (`isAtOrPast`) and only
 * within one lineage. v0.3: `G/IIIIIIII:OFFSET`, a generation, a WAL index (hex) and a byte offset in
 * that WAL. v0.5: one chain of TXIDs per database (lineage `ltx`, `index` the TXID, `offset` 0).
 */
export interface Position {
  /** v0.3: the generation; v0.5: `ltx` (one chain, no generations: docs/litestream-v05.md B). */
  readonly lineage: string;
  readonly index: number;
  readonly offset: number;
}

export interface LitestreamLine {
  /** Epoch ms from the line's own `time=`, when it has one. */
  readonly timeMs: number | undefined;
  /** `INFO`, `WARN`, `ERROR`, `DEBUG`; undefined for lines that are not slog's (the AWS SDK's own). */
  readonly level: string | undefined;
  readonly msg: string | undefined;
  /** The database's path, as litestream.yml resolves it. */
  readonly db: string | undefined;
  /** The replica's name (`file`, `s3`, or its `name:`). */
  readonly replica: string | undefined;
  readonly position: Position | undefined;
  /** `sz=`: bytes written (a WAL segment's length, a snapshot's compressed size). */
  readonly size: number | undefined;
  readonly generation: string | undefined;
  readonly error: string | undefined;
  /**
   * Every `key=value` of the line, first occurrence of a key (JSON: nested objects flattened as
   * `txid.replica`); a key a line repeats (v0.5's `level`, for the log level and the LTX level) also
   * as `key#2`.
   */
  readonly fields: Readonly<Record<string, string>>;
  /** The line as Litestream printed it. */
  readonly text: string;
}

const FIELD = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;

/** Reads one line of Litestream's output; lines it cannot read come back with only `text`. */
export function parseLine(text: string): LitestreamLine {
  const fields = text.trimStart().startsWith('{') ? jsonFields(text) : textFields(text);
  const time = fields['time'];
  const parsedTime = time === undefined ? Number.NaN : Date.parse(time);
  const size = fields['sz'] === undefined ? undefined : Number(fields['sz']);
  return {
    timeMs: Number.isNaN(parsedTime) ? undefined : parsedTime,
    level: fields['level']?.toUpperCase(),
    msg: fields['msg'],
    db: fields['db'],
    replica: fields['replica'],
    position: parsePosition(fields['position']),
    size: size !== undefined && Number.isFinite(size) ? size : undefined,
    generation: fields['generation'],
    // Go errors wrap with "\ncaused by: …"; one line reads better in a message.
    error: oneLine(fields['error'] ?? fields['err']),
    fields,
    text,
  };
}

export function parsePosition(text: string | undefined): Position | undefined {
  const match = /^([0-9a-f]+)\/([0-9a-f]{8}):(\d+)$/.exec(text ?? '');
  if (!match) return undefined;
  return { lineage: match[1]!, index: Number.parseInt(match[2]!, 16), offset: Number(match[3]) };
}

/** Orders two positions of one lineage; another lineage is never ahead of `b`. */
export function isAtOrPast(a: Position, b: Pick<Position, 'lineage' | 'index' | 'offset'>): boolean {
  if (a.lineage !== b.lineage) return false;
  return a.index > b.index || (a.index === b.index && a.offset >= b.offset);
}

function oneLine(text: string | undefined): string | undefined {
  return text?.replace(/\s*\n\s*/g, ' ');
}

function textFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of text.matchAll(FIELD)) {
    const [, key, raw = ''] = match;
    if (key === undefined || `${key}#2` in out) continue;
    out[key in out ? `${key}#2` : key] = raw.startsWith('"') ? unquote(raw) : raw;
  }
  return out;
}

function unquote(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

function jsonFields(text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (value === null || typeof value !== 'object') return {};
  const out: Record<string, string> = {};
  const add = (prefix: string, object: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(object)) {
      if (v !== null && typeof v === 'object') add(`${prefix}${k}.`, v as Record<string, unknown>);
      else out[`${prefix}${k}`] = typeof v === 'string' ? v : String(v);
    }
  };
  add('', value as Record<string, unknown>);
  // A repeated key keeps its last value in JSON.parse: v0.5's `ltx file uploaded` has `"level":"DEBUG"`
  // and then the LTX `"level":0` (docs/litestream-v05.md B3). The log level is the first, a string.
  const level = /"level":"([A-Za-z]+)"/.exec(text)?.[1];
  if (level !== undefined && out['level'] !== level) {
    out['level#2'] = out['level'] ?? '';
    out['level'] = level;
  }
  return out;
}

/**
 * The lines Litestream prints for every sync, per database and replica (two a second per store under
 * writes): `write wal segment`, `wal segment written`, and the snapshot pair. Routine only at INFO
 * level; anything else (a WARN or ERROR, the lifecycle lines: start, `initialized db`, `replicating
 * to`, `sync: new generation`, shutdown) is not.
 */
const ROUTINE = new Set(['write wal segment', 'wal segment written', 'write snapshot', 'snapshot written']);

export function isRoutine(line: LitestreamLine): boolean {
  return line.level === 'INFO' && line.msg !== undefined && ROUTINE.has(line.msg);
}
