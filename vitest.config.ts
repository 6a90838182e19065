import { defineConfig } from 'vitest/config';

/** The tests that exercise Litestream, run on each supported version (the litestream5 project). */
const LITESTREAM_TESTS = [
  ...[
    'replication-truth',
    'replication-faults',
    'replica-restorable',
    'restore-from-replica',
    'restore-failures',
    'restart-generations',
    'status-health',
    'storage-faults',
    'supervise-faults',
    'heartbeat',
    'seeds-002-replicate-after-migrate',
    'rehearse',
    'rehearse-scheduled',
    'bootseq-killed',
  ].map((name) => `test/integration/${name}.test.ts`),
  ...['rolling-deploy', 'handoff-under-writes', 'zero-loss'].map((name) => `test/races/${name}.test.ts`),
  ...['s3-bootseq', 's3-rolling-deploy', 's3-replica-typo', 's3-tls'].map(
    (name) => `test/peers/${name}.test.ts`,
  ),
];

export default defineConfig({
  test: {
    projects: [
      // Three workers for both (one pool: the two projects must agree): vitest's default is one less than
      // the cores, one on a 2-core machine. An integration test mostly waits on real processes; on a quiet
      // 2-core machine `npm test` took 183 s at two workers, 130 s at three (README's Development).
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], maxWorkers: 3 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/postgres-setup.ts'],
          pool: 'forks',
          maxWorkers: 3,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      // Races and soaks (test/races): scenarios repeated 3 to 20 times, or run for a fixed time, because
      // what they catch depends on timing. `npm run test:races`; CI runs it after `npm test` (.ci/run).
      // Serial, like the integration tests: a race rehearsed on a contended machine proves less.
      {
        extends: true,
        test: {
          name: 'races',
          include: ['test/races/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 60_000,
        },
      },
      // The real tools (sqlx-cli, Flyway, Litestream built from source, an S3 server) from the peers rig
      // (scripts/peers.sh). Run by `npm run test:peers` only: `npm test` names unit and integration.
      {
        extends: true,
        test: {
          name: 'peers',
          include: ['test/peers/**/*.test.ts'],
          globalSetup: ['test/helpers/postgres-setup.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
      // The Litestream tests again on v0.5.17 (issue 27: both versions supported): the files that run
      // Litestream (replication, faults, restore, status, the rolling deploy and zero-loss races, the S3
      // peers) with BOOTSEQ_TEST_LITESTREAM set to the peers rig's v0.5 binary by the setup file
      // (test/helpers/litestream.ts). `npm run test:litestream5`; CI runs it after test:peers, once
      // scripts/peers.sh has installed v0.5. One file at a time, as the races and peers need.
      {
        extends: true,
        test: {
          name: 'litestream5',
          include: LITESTREAM_TESTS,
          setupFiles: ['test/helpers/litestream5-setup.ts'],
          globalSetup: ['test/helpers/postgres-setup.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
