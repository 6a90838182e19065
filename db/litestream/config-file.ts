// The config file Litestream is run with. Usually litestream.yml itself; when a database path in it
// goes through a symlink, config/litestream.ts made a copy with the resolved paths, and it is written
// here, in the owner-only control folder, before Litestream is started (restore, replicate). Named by
// its content, so two bootseqs with the same config write the same bytes, atomically.

import fs from 'node:fs';
import path from 'node:path';

/** The `-config` argument for Litestream, written first when it is bootseq's copy. */
export function litestreamConfigFile(run: {
  readonly configPath: string;
  readonly text: string | undefined;
}): string {
  if (run.text === undefined) return run.configPath;
  fs.mkdirSync(path.dirname(run.configPath), { recursive: true, mode: 0o700 });
  const temp = `${run.configPath}.tmp-${process.pid}`;
  fs.writeFileSync(temp, run.text, { mode: 0o600 });
  fs.renameSync(temp, run.configPath);
  return run.configPath;
}
