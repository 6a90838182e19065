import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/postgres-setup.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 120_000,
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
