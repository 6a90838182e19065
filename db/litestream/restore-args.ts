// What both drivers run a restore with, the same in v0.3 and v0.5 (docs/litestream.md Q2,
// docs/litestream-v05.md E): the command line (only when a replica exists, only when the output does
// not), and the tidy-up after it wrote the file (v0.3 leaves `<out>.tmp-shm`/`-wal` and writes 0600,
// v0.5 writes 0644 whatever the umask: both get the umask's mode).

import fs from 'node:fs';
import type { LitestreamDriver } from './types.js';

export const restoreArgs: LitestreamDriver['restoreArgs'] = ({ configPath, source, outPath, timestamp }) => [
  'restore',
  '-config',
  configPath,
  ...(timestamp === undefined ? [] : ['-timestamp', timestamp]),
  '-if-replica-exists',
  '-if-db-not-exists',
  '-o',
  outPath,
  source,
];

export const tidyRestored: LitestreamDriver['tidyRestored'] = (outPath) => {
  for (const suffix of ['.tmp-shm', '.tmp-wal', '.tmp']) fs.rmSync(`${outPath}${suffix}`, { force: true });
  fs.chmodSync(outPath, 0o666 & ~process.umask());
};
