// The change file (docs/sync.md): NDJSON. The first line is `{"__meta__": {...}}` with at least
// source_node, client_id, from_lsn, to_lsn, count and sha256 (hex SHA-256 of every byte after the
// first line); then one change_log entry per line, with the seed's field names. Parsing checks the
// whole file before anything is applied: a file that fails any check is refused whole.

import { createHash } from 'node:crypto';

export const FORMAT = 'bootseq-changes/1';

export interface Meta {
  readonly format: string;
  readonly source_node: string;
  /** The exporter's role: entries from a main win over a client's in prefer_main tables. */
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
  readonly created_at: string;
  readonly source_node: string;
  /** Whether the node the change was made on is a main (a relayed change keeps its own). */
  readonly source_role: 'main' | 'client';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Header line + body; `meta` without count and sha256, which are computed here. */
export function writeChangeFile(
  meta: Omit<Meta, 'count' | 'sha256' | 'format'>,
  entries: readonly Entry[],
): string {
  const body = entries.map((e) => `${JSON.stringify(e)}\n`).join('');
  const header = { __meta__: { format: FORMAT, ...meta, count: entries.length, sha256: sha256(body) } };
  return `${JSON.stringify(header)}\n${body}`;
}

export type Parsed = { ok: true; meta: Meta; entries: Entry[] } | { ok: false; reason: string };

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** The file checked whole: header, hash, count, every entry's shape. */
export function parseChangeFile(text: string): Parsed {
  const newline = text.indexOf('\n');
  if (newline < 0)
    return { ok: false, reason: 'no header line ({"__meta__": {...}} then one change per line)' };
  let header: unknown;
  try {
    header = JSON.parse(text.slice(0, newline));
  } catch {
    return { ok: false, reason: 'the first line is not JSON (expected {"__meta__": {...}})' };
  }
  const meta = (header as { __meta__?: unknown } | null)?.__meta__;
  if (typeof meta !== 'object' || meta === null)
    return { ok: false, reason: 'the first line has no "__meta__" object' };
  const m = meta as Record<string, unknown>;
  for (const key of ['source_node', 'client_id', 'sha256'] as const)
    if (typeof m[key] !== 'string' || m[key] === '')
      return { ok: false, reason: `__meta__.${key} is missing or not a string` };
  for (const key of ['from_lsn', 'to_lsn', 'count'] as const)
    if (!Number.isInteger(m[key]) || (m[key] as number) < 0)
      return { ok: false, reason: `__meta__.${key} is missing or not a whole number` };
  const body = text.slice(newline + 1);
  const actual = sha256(body);
  if (actual !== String(m['sha256']).toLowerCase())
    return {
      ok: false,
      reason: `the content does not match __meta__.sha256 (${String(m['sha256'])}; the content hashes to ${actual}): the file was changed or cut short`,
    };
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== m['count'])
    return {
      ok: false,
      reason: `__meta__.count is ${String(m['count'])} but the file holds ${lines.length} changes`,
    };
  const role = m['source_role'] === 'main' ? 'main' : 'client';
  const entries: Entry[] = [];
  for (const [i, line] of lines.entries()) {
    const entry = parseEntry(line, role);
    if (typeof entry === 'string') return { ok: false, reason: `change ${i + 1} (line ${i + 2}): ${entry}` };
    entries.push(entry);
  }
  return {
    ok: true,
    meta: {
      format: typeof m['format'] === 'string' ? m['format'] : FORMAT,
      source_node: m['source_node'] as string,
      source_role: role,
      client_id: m['client_id'] as string,
      to: typeof m['to'] === 'string' ? m['to'] : null,
      from_lsn: m['from_lsn'] as number,
      to_lsn: m['to_lsn'] as number,
      count: m['count'],
      sha256: m['sha256'] as string,
      created_at: typeof m['created_at'] === 'string' ? m['created_at'] : '',
    },
    entries,
  };
}

function parseEntry(line: string, fileRole: 'main' | 'client'): Entry | string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return 'not JSON';
  }
  if (typeof e !== 'object' || e === null) return 'not a JSON object';
  if (!Number.isInteger(e['lsn'])) return 'lsn is not a whole number';
  for (const key of ['tx_id', 'table_name', 'pk_json', 'source_node'] as const)
    if (typeof e[key] !== 'string' || e[key] === '') return `${key} is missing`;
  if (e['op'] !== 'I' && e['op'] !== 'U' && e['op'] !== 'D')
    return `op is ${JSON.stringify(e['op'])} (expected I, U or D)`;
  if (typeof e['created_at'] !== 'string' || !ISO.test(e['created_at']))
    return 'created_at is not an ISO-8601 UTC time';
  if (e['payload'] !== null && typeof e['payload'] !== 'string') return 'payload is not JSON text';
  const objects: Record<string, Record<string, unknown> | undefined> = {};
  for (const key of ['pk_json', 'payload'] as const) {
    if (e[key] === null) continue;
    try {
      const value: unknown = JSON.parse(e[key] as string);
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return `${key} is not a JSON object`;
      objects[key] = value as Record<string, unknown>;
    } catch {
      return `${key} is not JSON`;
    }
  }
  if (e['op'] !== 'D' && e['payload'] === null) return 'an insert or update without a payload';
  const entry: Entry = {
    lsn: e['lsn'] as number,
    tx_id: e['tx_id'] as string,
    table_name: e['table_name'] as string,
    pk_json: e['pk_json'] as string,
    op: e['op'],
    payload: e['payload'] ?? null,
    tombstone: e['tombstone'] === 1 || e['op'] === 'D' ? 1 : 0,
    created_at: e['created_at'],
    source_node: e['source_node'] as string,
    source_role: e['source_role'] === 'main' || e['source_role'] === 'client' ? e['source_role'] : fileRole,
  };
  // Parsed once here for the check; the importer uses them rather than parsing again.
  parsedValues.set(entry, { pk: objects['pk_json']!, row: objects['payload'] });
  return entry;
}

const parsedValues = new WeakMap<
  Entry,
  { pk: Record<string, unknown>; row: Record<string, unknown> | undefined }
>();

/** An entry's primary key and payload as objects (parsed by parseChangeFile, else here). */
export function valuesOf(entry: Entry): {
  pk: Record<string, unknown>;
  row: Record<string, unknown> | undefined;
} {
  return (
    parsedValues.get(entry) ?? {
      pk: JSON.parse(entry.pk_json) as Record<string, unknown>,
      row: entry.payload === null ? undefined : (JSON.parse(entry.payload) as Record<string, unknown>),
    }
  );
}
