// vitest setupFiles of the litestream5 project (vitest.config.ts): each test file runs with
// BOOTSEQ_TEST_LITESTREAM = the peers rig's Litestream v0.5.17 (scripts/peers.sh), set before the file
// imports the helpers (litestream.ts reads it at import). Without the rig every file fails here,
// saying to run `npm run peers`; it never falls back to v0.3.

import { peerTool } from './peers.js';

process.env['BOOTSEQ_TEST_LITESTREAM'] = peerTool('litestream5');
