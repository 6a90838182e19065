// Input-size scaling (issue 14): the statement splitter and config loading at 1 MB and 8 MB, and the
// slope between them (time(8 MB) / time(1 MB): 8 is linear, 64 quadratic). Target: slope ≤ 12.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, fmt, median } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const load = (rel) => import(pathToFileURL(path.join(REPO, 'dist', rel)).href);

function timeOf(run) {
  const times = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

function row(name, at1, at8) {
  const slope = at8 / at1;
  return {
    name,
    figures: `1 MB ${fmt(at1)}, 8 MB ${fmt(at8)}, slope ${slope.toFixed(1)}`,
    ratio: slope,
    target: '≤ 12 (8 = linear)',
    met: slope <= 12,
  };
}

export async function benchParse() {
  const { splitStatements } = await load('db/split.js');
  const { parseConfig } = await load('config/load.js');
  const statement = "INSERT INTO notes (body) VALUES ('a; b -- not a comment'); -- note\n";
  const sql = (mb) => statement.repeat(Math.ceil((mb * 2 ** 20) / statement.length));
  const config = (mb) =>
    `version: 1\nprocesses:\n  web: { command: "true ${'x postgres://u:p@h/db ${A:-d} '.repeat(Math.ceil((mb * 2 ** 20) / 32))}" }\n`;
  const parse = (text) =>
    parseConfig(text, { file: 'bootseq.yml', dir: '/tmp', env: { PATH: '/usr/bin:/bin' } });
  const [s1, s8, c1, c8] = [sql(1), sql(8), config(1), config(8)];
  return [
    row(
      'statement splitting (INSERTs with quoted ; and comments)',
      timeOf(() => splitStatements(s1)),
      timeOf(() => splitStatements(s8)),
    ),
    row(
      'config loading (one long value with URLs and ${VAR:-…})',
      timeOf(() => parse(c1)),
      timeOf(() => parse(c8)),
    ),
  ];
}
