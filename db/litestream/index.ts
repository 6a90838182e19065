// The public entry to the Litestream drivers (types.ts is the seam): the phases that run Litestream
// (restore, replicate) get the driver for the version config/ probed at preflight, and never ask
// which one it is.

import type { LitestreamConfig } from '../../config/schema.js';
import type { LitestreamDriver } from './types.js';
import { v3Driver } from './v3.js';

export type {
  Handoff,
  ListCommand,
  LitestreamDriver,
  LitestreamLine,
  Position,
  Restorability,
  Shipped,
} from './types.js';

/**
 * The driver for the Litestream config/ accepted. Only v0.3 has one: config/replication.ts refuses
 * every other version before anything runs (exit 2), so another series here is a bug.
 */
export function litestreamDriver(litestream: Pick<LitestreamConfig, 'series'>): LitestreamDriver {
  switch (litestream.series) {
    case '0.3':
      return v3Driver;
  }
}
