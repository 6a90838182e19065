// `npm run bench`: runs every benchmark, prints figures and ratios measured in the same run, and
// whether each target is met. Not a test: timings depend on the machine; nothing fails on them.
import { machine } from './lib.mjs';
import { benchBootSuite } from './boot.mjs';
import { benchHandoff } from './handoff.mjs';
import { benchHealth } from './health.mjs';
import { benchLitestreamVersions } from './litestream-versions.mjs';
import { benchMigrate } from './migrate.mjs';
import { benchParse } from './parse.mjs';
import { benchRails } from './rails.mjs';
import { benchRehearse } from './rehearse.mjs';
import { benchStores } from './stores.mjs';
import { benchSync, benchSyncScale } from './sync.mjs';

const only = process.argv[2];
const suites = {
  boot: benchBootSuite,
  rails: benchRails,
  stores: benchStores,
  migrate: benchMigrate,
  handoff: benchHandoff,
  parse: benchParse,
  health: benchHealth,
  sync: benchSync,
  'sync-scale': benchSyncScale,
  rehearse: benchRehearse,
  'litestream-versions': benchLitestreamVersions,
};
console.log(`bootseq benchmarks — ${new Date().toISOString()} — ${machine()}\n`);
for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  for (const r of await run()) {
    console.log(
      `${r.name}\n  ${r.figures}\n  ratio ${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '— (not measured)'} (target ${r.target}): ${r.met ? 'met' : 'NOT met'}\n`,
    );
  }
}
