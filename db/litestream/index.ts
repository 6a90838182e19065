// The public entry to the Litestream drivers (types.ts is the seam): the phases that run Litestream
// (restore, replicate) get the driver for the version config/ probed at preflight, and never ask
// which one it is.

import type { LitestreamConfig } from '../../config/schema.js';
import type { LitestreamDriver } from './types.js';
import { v3Driver } from './v3.js';
import { v5Driver } from './v5.js';

export type {
  Handoff,
  ListCommand,
  LitestreamDriver,
  LitestreamLine,
  Position,
  Restorability,
  Shipped,
} from './types.js';

/** One v0.5 driver per config (its parser knows the config's database paths). */
const v5Drivers = new WeakMap<object, LitestreamDriver>();

/**
 * The driver for the Litestream config/ accepted (config/replication.ts refuses every other version
 * before anything runs, exit 2).
 */
export function litestreamDriver(
  litestream: Pick<LitestreamConfig, 'series'> & Partial<Pick<LitestreamConfig, 'dbs'>>,
): LitestreamDriver {
  switch (litestream.series) {
    case '0.3':
      return v3Driver;
    case '0.5': {
      const known = v5Drivers.get(litestream);
      if (known) return known;
      const driver = v5Driver(litestream.dbs ?? []);
      v5Drivers.set(litestream, driver);
      return driver;
    }
  }
}
