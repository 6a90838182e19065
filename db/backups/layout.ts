// Where a store's backups live and what they are called: `<backup.dir>/<store>/<stamp>.<ext>`, the
// extension telling the engine (newestBackup never offers a `.dump` to sqlite). Paths and types only:
// never touches the disk; taking, pruning and restoring belong to sqlite.ts and postgres.ts.

import path from 'node:path';
import type { Config, StoreConfig } from '../../config/schema.js';

/** A store as the backups see it: whichever else the config grows, these three are all they read. */
export type BackupStore = Pick<StoreConfig, 'name' | 'kind' | 'location'>;

/** A backup just taken; snake_case because it goes into the run report as it is. */
export interface BackupRecord {
  readonly path: string;
  readonly bytes: number;
  readonly duration_ms: number;
}

/** The extension of a backup file per engine: `VACUUM INTO` copies and `pg_dump -Fc` files. */
export const BACKUP_EXT = { sqlite: 'sqlite3', postgres: 'dump' } as const satisfies Record<
  BackupStore['kind'],
  string
>;

/** `<backup.dir>/<store>`: one folder per store, so pruning one store never touches another's. */
export function backupDir(config: Pick<Config, 'backup'>, storeName: string): string {
  return path.join(config.backup.dir, storeName);
}
