// Lists the functions longer than a limit (default 80 lines) in the source folders, longest first:
// `node scripts/long-functions.mjs [limit]`. docs/architecture.md's conventions keep every function
// under about 80 lines; the layout test runs the same check (test/unit/layout.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE_ROOTS = ['entrypoint', 'phases', 'db', 'config', 'core'];

function sourceFiles(dir) {
  return fs.readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel);
    return entry.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every function-like node with its name and line count, across the source folders. */
export function functionLengths() {
  const out = [];
  for (const file of SOURCE_ROOTS.flatMap(sourceFiles)) {
    const text = fs.readFileSync(path.join(REPO, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node, owner) => {
      let name = owner;
      if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node))
        name = node.name?.getText(sf) ?? owner;
      if (ts.isVariableDeclaration(node)) name = node.name.getText(sf);
      if (ts.isPropertyAssignment(node)) name = node.name.getText(sf);
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.end).line;
        out.push({ file, name: name ?? '(anonymous)', lines: end - start + 1 });
      }
      ts.forEachChild(node, (child) => visit(child, name));
    };
    visit(sf, undefined);
  }
  return out.sort((a, b) => b.lines - a.lines);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const limit = Number(process.argv[2] ?? 80);
  for (const f of functionLengths().filter((f) => f.lines > limit))
    console.log(`${f.lines}\t${f.file}:${f.name}`);
}
