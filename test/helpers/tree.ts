// A digest of every file under a folder (path, mode, bytes): "byte-identical before and after".

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      const mode = (fs.statSync(full).mode & 0o7777).toString(8);
      if (entry.isDirectory()) {
        out[`${rel}/`] = mode;
        walk(full);
      } else out[rel] = `${mode} ${createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`;
    }
  };
  walk(root);
  return out;
}

/** Every file under a folder, for finding a replica's snapshot. */
export function filesUnder(root: string): string[] {
  return Object.keys(treeDigest(root))
    .filter((k) => !k.endsWith('/'))
    .map((k) => path.join(root, k));
}
