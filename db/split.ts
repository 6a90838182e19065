// Splits an SQL file into statements with the line each starts on, so a failure names the line.
// Linear in the file's size: big data migrations and schema dumps are normal.
// Knows quotes ('…', "…", `…`, […]), comments (--, /* */), PostgreSQL dollar quotes ($tag$…$tag$) and
// CREATE TRIGGER … BEGIN … END bodies; nothing else of SQL.

interface Statement {
  readonly text: string;
  /** 1-based line of the statement's first non-blank character. */
  readonly line: number;
}

export function splitStatements(sql: string): Statement[] {
  const out: Statement[] = [];
  let start = 0;
  let depth = 0; // BEGIN … END nesting inside CREATE TRIGGER
  let i = 0;
  const n = sql.length;
  // Lines are counted as the statements go by, never from the top again: linear in the file.
  const lines = { offset: 0, line: 1 };
  const lineOf = (offset: number) => {
    for (; lines.offset < offset && lines.offset < n; lines.offset += 1)
      if (sql.charCodeAt(lines.offset) === 10) lines.line += 1;
    return lines.line;
  };
  const flush = (end: number) => {
    const raw = sql.slice(start, end);
    if (stripComments(raw).trim() !== '')
      out.push({ text: raw.trim(), line: lineOf(start + leadingNoise(raw)) });
    start = end + 1;
  };
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      while (j < n) {
        if (sql[j] === close) {
          if (close !== ']' && sql[j + 1] === close) {
            j += 2;
            continue;
          }
          break;
        }
        j += 1;
      }
      i = j + 1;
      continue;
    }
    if (c === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + 32))?.[0] ?? '';
      const upper = word.toUpperCase();
      if (upper === 'BEGIN' && isInTrigger(sql.slice(start, i))) depth += 1;
      else if ((upper === 'END' || upper === 'CASE') && depth > 0) depth += upper === 'CASE' ? 1 : -1;
      i += word.length;
      continue;
    }
    if (c === ';' && depth === 0) flush(i);
    i += 1;
  }
  flush(n);
  return out;
}

/** Length of the whitespace and comments before a statement's first token. */
function leadingNoise(raw: string): number {
  let i = 0;
  for (;;) {
    while (i < raw.length && /\s/.test(raw[i] ?? '')) i += 1;
    if (raw.startsWith('--', i)) {
      const end = raw.indexOf('\n', i);
      i = end < 0 ? raw.length : end + 1;
    } else if (raw.startsWith('/*', i)) {
      const end = raw.indexOf('*/', i + 2);
      i = end < 0 ? raw.length : end + 2;
    } else return i;
  }
}

function isInTrigger(statementSoFar: string): boolean {
  return /\bCREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(stripComments(statementSoFar));
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}

export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}
