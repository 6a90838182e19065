// The change file (docs/sync.md): NDJSON. The first line is `{"__meta__": {...}}` (format, source_node,
// source_role, client_id, to, from_lsn, to_lsn, count, created_at, sha256: the hex SHA-256 of every
// byte after the first line); then one change_log entry per line, with the seed's field names and
// the change's hybrid logical clock stamp (hlc_ms, hlc_counter). A file is checked whole before
// anything is applied and refused whole on any problem, with the reason: this module checks the
// header and each entry on its own; reader.ts streams a file through them.

import { createHash } from 'node:crypto';
import { MAX_MS } from './version.js';

export const FORMAT = 'bootseq-changes/2';
/** The majors this bootseq reads: 1 (before the clock: an entry's version is its created_at). */
const READABLE = [1, 2];

export interface Meta {
  readonly format: string;
  /** The format's major version: 1 or 2. */
  readonly major: number;
  readonly source_node: string;
  /** What the exporter says it is; the importer decides what it believes (import.ts). */
  readonly source_role: 'main' | 'client';
  /** The client this exchange is about: the exporter itself (a client), or the client it is for (main). */
  readonly client_id: string;
  /** The peer the file is for, when the exporter knew it. */
  readonly to: string | null;
  readonly from_lsn: number;
  readonly to_lsn: number;
  readonly count: number;
  readonly sha256: string;
  readonly created_at: string;
}

export interface Entry {
  readonly lsn: number;
  readonly tx_id: string;
  readonly table_name: string;
  readonly pk_json: string;
  readonly op: 'I' | 'U' | 'D';
  readonly payload: string | null;
  readonly tombstone: 0 | 1;
  /** The wall clock of the node that made the change, when it made it (for people; not compared). */
  readonly created_at: string;
  readonly source_node: string;
  readonly hlc_ms: number;
  readonly hlc_counter: number;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** One entry's line, with its newline; the same field order whoever writes it. */
export function entryLine(e: Entry): string {
  return `${JSON.stringify({
    lsn: e.lsn,
    tx_id: e.tx_id,
    table_name: e.table_name,
    pk_json: e.pk_json,
    op: e.op,
    payload: e.payload,
    tombstone: e.tombstone,
    created_at: e.created_at,
    source_node: e.source_node,
    hlc_ms: e.hlc_ms,
    hlc_counter: e.hlc_counter,
  })}\n`;
}

/** The header line, with its newline. */
export function headerLine(meta: Omit<Meta, 'format' | 'major'>): string {
  const { source_node, source_role, client_id, to, from_lsn, to_lsn, count, created_at, sha256: hash } = meta;
  const m = { format: FORMAT, source_node, source_role, client_id, to, from_lsn, to_lsn, count, created_at };
  return `${JSON.stringify({ __meta__: { ...m, sha256: hash } })}\n`;
}

/** Header line + body, in memory (tests; export.ts streams the same lines). */
export function writeChangeFile(
  meta: Omit<Meta, 'count' | 'sha256' | 'format' | 'major'>,
  entries: readonly Entry[],
): string {
  const body = entries.map(entryLine).join('');
  return `${headerLine({ ...meta, count: entries.length, sha256: sha256(body) })}${body}`;
}

const HEADER_KEYS = [
  'format',
  'source_node',
  'source_role',
  'client_id',
  'to',
  'from_lsn',
  'to_lsn',
  'count',
  'created_at',
  'sha256',
];
const ENTRY_KEYS = new Set([
  'lsn',
  'tx_id',
  'table_name',
  'pk_json',
  'op',
  'payload',
  'tombstone',
  'created_at',
  'source_node',
  'hlc_ms',
  'hlc_counter',
  // Written by format 1, ignored: who made a change is known from its node, not from its claim.
  'source_role',
]);

/** A key written twice in one object of valid JSON (JSON.parse keeps the last silently). */
export function duplicateKey(json: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i += 1) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top && expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') expectKey = stack.at(-1) instanceof Set;
  }
  return undefined;
}

const ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?Z$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
let lastIso = '';
let lastMs = 0;

/** Milliseconds since the epoch of an ISO-8601 UTC time that exists (no 2026-13-45T99:99:99Z), else undefined. */
export function isoMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === lastIso) return lastMs; // the changes of one transaction share their time
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (mo < 1 || mo > 12 || d < 1 || d > DAYS[mo - 1]! + (mo === 2 && leap ? 1 : 0)) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) + Math.floor(Number(`0${m[7] ?? ''}`) * 1000);
  [lastIso, lastMs] = [text, ms];
  return ms;
}

const isLsn = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The first line checked alone: a Meta, or why the file is refused. */
export function parseHeader(line: string): Meta | string {
  let header: unknown;
  try {
    header = JSON.parse(line);
  } catch {
    return 'the first line is not JSON (expected {"__meta__": {...}})';
  }
  const meta = (header as { __meta__?: unknown } | null)?.__meta__;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
    return 'the first line has no "__meta__" object';
  const twice = duplicateKey(line);
  if (twice !== undefined) return `the header names "${twice}" twice`;
  const m = meta as Record<string, unknown>;
  const unknown = Object.keys(m).filter((k) => !HEADER_KEYS.includes(k));
  if (unknown.length > 0) return `__meta__ has unknown keys: ${unknown.join(', ')}`;
  const format =
    typeof m['format'] === 'string' ? /^bootseq-changes\/(\d+)(\.\d+)*$/.exec(m['format']) : null;
  if (!format) return `__meta__.format is ${JSON.stringify(m['format'])} (expected "${FORMAT}")`;
  const major = Number(format[1]);
  if (!READABLE.includes(major))
    return `__meta__.format is "${String(m['format'])}", a format this bootseq cannot read (it reads bootseq-changes/${READABLE.join(' and /')}): upgrade bootseq here`;
  for (const key of ['source_node', 'client_id', 'sha256'] as const)
    if (typeof m[key] !== 'string' || m[key] === '') return `__meta__.${key} is missing or not a string`;
  if (!/^[0-9a-fA-F]{64}$/.test(m['sha256'] as string)) return '__meta__.sha256 is not 64 hex digits';
  if (m['source_role'] !== 'main' && m['source_role'] !== 'client')
    return `__meta__.source_role is ${JSON.stringify(m['source_role'])} (expected "main" or "client")`;
  if (m['to'] !== undefined && m['to'] !== null && (typeof m['to'] !== 'string' || m['to'] === ''))
    return '__meta__.to is not a node id';
  for (const key of ['from_lsn', 'to_lsn', 'count'] as const)
    if (!isLsn(m[key])) return `__meta__.${key} is ${JSON.stringify(m[key])} (expected a whole number ≥ 0)`;
  if ((m['to_lsn'] as number) < (m['from_lsn'] as number))
    return `__meta__.to_lsn (${String(m['to_lsn'])}) is before from_lsn (${String(m['from_lsn'])})`;
  if (isoMs(m['created_at']) === undefined)
    return `__meta__.created_at is ${JSON.stringify(m['created_at'])} (expected an ISO-8601 UTC time that exists)`;
  return {
    format: m['format'] as string,
    major,
    source_node: m['source_node'] as string,
    source_role: m['source_role'],
    client_id: m['client_id'] as string,
    to: m['to'] ?? null,
    from_lsn: m['from_lsn'] as number,
    to_lsn: m['to_lsn'] as number,
    count: m['count'] as number,
    sha256: (m['sha256'] as string).toLowerCase(),
    created_at: m['created_at'] as string,
  };
}

/** A payload value: a scalar, or a BLOB as {"$hex": "…"} with an even number of hex digits. */
function badValue(column: string, value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const keys = Object.keys(value);
  const hex = (value as { $hex?: unknown }).$hex;
  if (Array.isArray(value) || keys.length !== 1 || keys[0] !== '$hex')
    return `"${column}" is ${JSON.stringify(value).slice(0, 60)} (expected a scalar or {"$hex": "…"})`;
  if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex))
    return `"${column}" has a bad $hex (${JSON.stringify(hex).slice(0, 60)}: expected an even number of hex digits)`;
  return undefined;
}

function jsonObject(key: string, text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${key} is not JSON`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `${key} is not a JSON object`;
  const object = value as Record<string, unknown>;
  for (const column in object) {
    const v = object[column];
    if (v === null || typeof v !== 'object') continue; // a scalar
    const bad = badValue(column, v);
    if (bad) return `${key}: ${bad}`;
  }
  return value as Record<string, unknown>;
}

export interface Parsed {
  readonly entry: Entry;
  /** pk_json parsed; from readEntry, a record holding the key's columns (the payload, when there is one). */
  readonly pk: Record<string, unknown>;
  readonly row: Record<string, unknown> | undefined;
}

function checkFields(e: Record<string, unknown>, meta: Meta): string | undefined {
  for (const k in e)
    if (!ENTRY_KEYS.has(k))
      return `unknown keys: ${Object.keys(e)
        .filter((u) => !ENTRY_KEYS.has(u))
        .join(', ')}`;
  if (
    !Number.isSafeInteger(e['lsn']) ||
    (e['lsn'] as number) <= meta.from_lsn ||
    (e['lsn'] as number) > meta.to_lsn
  )
    return `lsn ${JSON.stringify(e['lsn'])} is not a whole number within the header's from_lsn..to_lsn (${meta.from_lsn}..${meta.to_lsn})`;
  for (const key of ['tx_id', 'table_name', 'pk_json', 'source_node'] as const)
    if (typeof e[key] !== 'string' || e[key] === '') return `${key} is missing`;
  if (e['op'] !== 'I' && e['op'] !== 'U' && e['op'] !== 'D')
    return `op is ${JSON.stringify(e['op'])} (expected I, U or D)`;
  if (isoMs(e['created_at']) === undefined)
    return `created_at is ${JSON.stringify(e['created_at'])} (expected an ISO-8601 UTC time that exists)`;
  if (meta.major >= 2) {
    if (!Number.isSafeInteger(e['hlc_ms']) || (e['hlc_ms'] as number) < 0 || (e['hlc_ms'] as number) > MAX_MS)
      return `hlc_ms is ${JSON.stringify(e['hlc_ms'])} (expected milliseconds since 1970 up to 9999-12-31)`;
    if (!isLsn(e['hlc_counter']))
      return `hlc_counter is ${JSON.stringify(e['hlc_counter'])} (expected a whole number ≥ 0)`;
  }
  if (e['payload'] !== null && typeof e['payload'] !== 'string') return 'payload is not JSON text';
  if (e['op'] !== 'D' && e['payload'] === null) return 'an insert or update without a payload';
  return undefined;
}

/** One entry line checked alone against its header: the entry with its key and row parsed, or why not. */
export function parseEntry(line: string, meta: Meta): Parsed | string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not a JSON object';
  const bad = checkFields(e, meta);
  if (bad) return bad;
  const pk = jsonObject('pk_json', e['pk_json'] as string);
  if (typeof pk === 'string') return pk;
  const row = e['payload'] === null ? undefined : jsonObject('payload', e['payload'] as string);
  if (typeof row === 'string') return row;
  const entry: Entry = {
    lsn: e['lsn'] as number,
    tx_id: e['tx_id'] as string,
    table_name: e['table_name'] as string,
    pk_json: e['pk_json'] as string,
    op: e['op'] as Entry['op'],
    payload: (e['payload'] as string | null) ?? null,
    tombstone: e['op'] === 'D' ? 1 : 0,
    created_at: e['created_at'] as string,
    source_node: e['source_node'] as string,
    // Format 1 had no clock: its time is its version.
    hlc_ms: meta.major >= 2 ? (e['hlc_ms'] as number) : isoMs(e['created_at'])!,
    hlc_counter: meta.major >= 2 ? (e['hlc_counter'] as number) : 0,
  };
  return { entry, pk, row };
}

/**
 * An entry line the first pass has already checked (parseEntry), read again for the second without
 * judging it again: half the cost of a change is reading it.
 */
export function readEntry(line: string, meta: Meta): Parsed {
  // The parsed line is the entry (checked: every field there, payload a string or null), with its
  // tombstone from its op, and in format 1 the clock from its time; not copied field by field.
  const e = JSON.parse(line) as { -readonly [K in keyof Entry]: Entry[K] };
  e.tombstone = e.op === 'D' ? 1 : 0;
  if (meta.major < 2) [e.hlc_ms, e.hlc_counter] = [isoMs(e.created_at)!, 0];
  const row = e.payload === null ? undefined : (JSON.parse(e.payload) as Record<string, unknown>);
  // The first pass found the payload's key columns equal to pk_json's: the payload stands in for it
  // (keys.ts checkedKey reads only the key columns), and pk_json is parsed only without a payload.
  return { entry: e, pk: row ?? (JSON.parse(e.pk_json) as Record<string, unknown>), row };
}

export type ParsedFile = { ok: true; meta: Meta; entries: Parsed[] } | { ok: false; reason: string };

/** A whole file in memory checked (tests and small tools; the importer streams with reader.ts). */
export function parseChangeFile(text: string): ParsedFile {
  const newline = text.indexOf('\n');
  if (newline < 0)
    return { ok: false, reason: 'no header line ({"__meta__": {...}} then one change per line)' };
  const meta = parseHeader(text.slice(0, newline));
  if (typeof meta === 'string') return { ok: false, reason: meta };
  const body = text.slice(newline + 1);
  const actual = sha256(body);
  if (actual !== meta.sha256)
    return {
      ok: false,
      reason: `the content does not match __meta__.sha256 (${meta.sha256}; the content hashes to ${actual}): the file was changed or cut short`,
    };
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== meta.count)
    return {
      ok: false,
      reason: `__meta__.count is ${meta.count} but the file holds ${lines.length} changes`,
    };
  const entries: Parsed[] = [];
  for (const [i, line] of lines.entries()) {
    const parsed = parseEntry(line, meta);
    if (typeof parsed === 'string')
      return { ok: false, reason: `change ${i + 1} (line ${i + 2}): ${parsed}` };
    entries.push(parsed);
  }
  return { ok: true, meta, entries };
}
