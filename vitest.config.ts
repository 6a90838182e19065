import { defineConfig } from 'vitest/config';

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
    ],
  },
});
