// The import rules of docs/architecture.md, checked on the source: who may import whom, one door per
// heavy dependency, and no import cycle (type-only imports included). A rule broken here is a
// structure that will tangle again, so it fails the suite rather than waiting for a review.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { functionLengths } from '../../scripts/long-functions.mjs';
import { REPO } from '../helpers/project.js';

const ROOTS = ['entrypoint', 'phases', 'db', 'config', 'core'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every module a file imports (static, type-only and dynamic), as repo paths or package names. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) =>
    s.startsWith('.') ? path.posix.join(path.posix.dirname(file), s).replace(/\.js$/, '.ts') : s,
  );
}

const FILES = ROOTS.flatMap(sourceFiles);
const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));
const internal = (f: string) => (GRAPH.get(f) ?? []).filter((i) => GRAPH.has(i));

function violations(
  from: (file: string) => boolean,
  bad: (imported: string, file: string) => boolean,
): string[] {
  return FILES.filter(from).flatMap((f) =>
    (GRAPH.get(f) ?? []).filter((i) => bad(i, f)).map((i) => `${f} → ${i}`),
  );
}

/**
 * The floors, top-down: a file imports only its own floor and those below it. db/ and config/ share a
 * floor, db/ reading config's types (a store's settings), never the reverse.
 */
const FLOOR: Record<string, number> = { entrypoint: 4, phases: 3, db: 2, config: 1.5, core: 1 };
const floorOf = (f: string) => FLOOR[f.split('/')[0]!]!;

/**
 * The one edge that goes up, type-only: the kernel's task contract hands each task the resolved
 * config (TaskContext.config), so core/task.ts names the Config type. Making every kernel type
 * generic over it would thread a type parameter through the runner, the context and the supervisor
 * for no runtime difference.
 */
const UPWARD_TYPE_EDGES = ['core/task.ts → config/schema.ts'];

describe('import rules (docs/architecture.md)', () => {
  test('four floors: entrypoint/ → phases/ → db/, config/ → core/; nothing imports a floor above it', () => {
    const up = FILES.flatMap((f) =>
      internal(f)
        .filter((i) => floorOf(i) > floorOf(f))
        .map((i) => `${f} → ${i}`),
    ).filter((edge) => !UPWARD_TYPE_EDGES.includes(edge));
    expect(up).toEqual([]);
    const typeOnly = fs.readFileSync(path.join(REPO, 'core/task.ts'), 'utf8');
    expect(typeOnly).not.toMatch(/^import \{[^}]*\} from '\.\.\/config\//m);
  });

  test('the rules see the source: a known import is found', () => {
    expect(GRAPH.get('entrypoint/commands/boot.ts')).toContain('phases/index.ts');
    expect(FILES.length).toBeGreaterThan(50);
  });

  test('a phase imports its own files, db/ through its index files, config/, and core/{task,errors,events,exit,wait,format}', () => {
    const allowedCore = ['task', 'errors', 'events', 'exit', 'wait', 'format'].map((n) => `core/${n}.ts`);
    const dbEntries = [
      'db/index.ts',
      'db/history/index.ts',
      'db/backups/index.ts',
      'db/sync/index.ts',
      'db/litestream/index.ts',
    ];
    expect(
      violations(
        (f) => f.startsWith('phases/') && f !== 'phases/index.ts',
        (i, f) => {
          if (!GRAPH.has(i)) return false; // a package or node: builtin
          const own = `phases/${f.split('/')[1]}/`;
          return !(
            i.startsWith(own) ||
            i.startsWith('config/') ||
            dbEntries.includes(i) ||
            allowedCore.includes(i)
          );
        },
      ),
    ).toEqual([]);
  });

  test('status/ reads core and config only: never phases/, db/, log/ or commands/', () => {
    expect(
      violations(
        (f) => f.startsWith('entrypoint/status/'),
        (i) => /^(phases|db|entrypoint\/log|entrypoint\/commands)\//.test(i),
      ),
    ).toEqual([]);
  });

  test('commands reach phases and db/ only through their public entries', () => {
    const entries = [
      'phases/index.ts',
      'db/index.ts',
      'db/history/index.ts',
      'db/backups/index.ts',
      'db/sync/index.ts',
    ];
    expect(
      violations(
        (f) => f.startsWith('entrypoint/commands/'),
        (i) => /^(phases|db)\//.test(i) && !entries.includes(i),
      ),
    ).toEqual([]);
  });

  test('db/ imports only itself, config/schema.ts and core/{errors,task,stamped-files}', () => {
    const allowed = ['errors', 'task', 'stamped-files'].map((n) => `core/${n}.ts`);
    allowed.push('config/schema.ts');
    expect(
      violations(
        (f) => f.startsWith('db/'),
        (i) => GRAPH.has(i) && !i.startsWith('db/') && !allowed.includes(i),
      ),
    ).toEqual([]);
  });

  test('one door per dependency: execa in core/spawn.ts, listr2 in log/pretty.ts, pg in db/, better-sqlite3 in db/sqlite-file.ts, prom-client in status/metrics.ts', () => {
    const door = (pkg: string, ok: (f: string) => boolean) =>
      violations(
        (f) => !ok(f),
        (i) => i === pkg,
      );
    expect(door('execa', (f) => f === 'core/spawn.ts')).toEqual([]);
    expect(door('listr2', (f) => f === 'entrypoint/log/pretty.ts')).toEqual([]);
    expect(door('pg', (f) => f.startsWith('db/'))).toEqual([]);
    expect(door('better-sqlite3', (f) => f === 'db/sqlite-file.ts')).toEqual([]);
    expect(door('prom-client', (f) => f === 'entrypoint/status/metrics.ts')).toEqual([]);
  });

  test('no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].join(' → '));
        return;
      }
      state.set(f, 'visiting');
      stack.push(f);
      for (const i of internal(f)) visit(i);
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of FILES) visit(f);
    expect(cycles).toEqual([]);
  });

  test("docs/architecture.md's layout names every source file, and names no file that is gone", () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs/architecture.md'), 'utf8');
    const layout = doc.slice(doc.indexOf('## Layout'), doc.indexOf('## Who may import whom'));
    const named = new Set([...layout.matchAll(/([\w.-]+\.ts)\b/g)].map((m) => m[1]!));
    const basenames = new Set(FILES.map((f) => path.posix.basename(f)));
    expect(FILES.filter((f) => !named.has(path.posix.basename(f)))).toEqual([]);
    expect([...named].filter((n) => !basenames.has(n))).toEqual([]);
  });

  test('no function over 80 lines in the source folders (scripts/long-functions.mjs lists them)', () => {
    const long = functionLengths().filter((f) => f.lines > 80);
    expect(long.map((f) => `${f.file}:${f.name} ${f.lines} lines`)).toEqual([]);
    expect(functionLengths().length).toBeGreaterThan(300);
  });
});
