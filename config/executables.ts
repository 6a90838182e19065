// Finding the programs bootseq.yml names before anything runs: a command line's first program
// (`bin/rails …` relative to the config dir, `node …` on PATH), the Litestream binary, pg_dump/psql.
// Only looks; never runs a program.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Lookup } from './context.js';

/** The Litestream binary shipped by the npm package, if it is installed. */
export function packagedLitestreamBin(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@flydotio/litestream-linux-x64/package.json');
    const bin = path.join(path.dirname(pkg), 'litestream');
    return fs.existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const SHELL_WORDS = new Set([
  'cd',
  'exec',
  '.',
  'set',
  'export',
  'true',
  'false',
  'test',
  '[',
  'echo',
  'printf',
  'env',
  'if',
  'for',
  'while',
  'until',
  'case',
  '{',
  '(',
  '!',
  'sleep',
  'exit',
  'trap',
  'source',
  'eval',
  'command',
  'nohup',
  'umask',
  'ulimit',
]);

/**
 * Whether the program a command line starts with exists: `bin/rails …` relative to the config dir,
 * `node …` on PATH. Returns the problem to report, or undefined. Shell words and lines that start
 * with shell syntax are not judged: only the shell knows what they run.
 */
export function checkCommand(command: string, lookup: Lookup): string | undefined {
  const words = command.trim().split(/\s+/);
  let first = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (!first) return undefined;
  first = first.replace(/^['"]|['"]$/g, '');
  if (SHELL_WORDS.has(first) || /[$`;&|<>(){}]/.test(first)) return undefined;
  if (resolveExecutable(first, lookup)) return undefined;
  return first.includes('/')
    ? `${first} is not an executable file (command: \`${command}\`; run \`chmod +x ${first}\` if it exists)`
    : `${first} is not on PATH (command: \`${command}\`)`;
}

/** The absolute path of an executable file: `program` relative to the config dir if it has a `/`, else on PATH. */
export function resolveExecutable(program: string, { dir, env, disk }: Lookup): string | undefined {
  if (program.includes('/')) {
    const absolute = path.resolve(dir, program);
    return disk.isExecutable(absolute) ? absolute : undefined;
  }
  for (const p of (env['PATH'] ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(p, program);
    if (disk.isExecutable(candidate)) return candidate;
  }
  return undefined;
}
