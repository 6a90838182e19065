// vitest fixtures, each set up only for a test that names it and torn down pass or fail: a temp
// project (processes killed, dir removed), a PostgreSQL database (dropped), the peers rig's S3 server
// (stopped by PID; the peer tests only).

import { test as base } from 'vitest';
import { createDatabase, type TestDatabase } from './postgres.js';
import { createTmpProject, type TmpProject } from './project.js';
import { startS3Server, type S3Server } from './s3.js';

export const test = base.extend<{ project: TmpProject; database: TestDatabase; s3: S3Server }>({
  // eslint-disable-next-line no-empty-pattern
  s3: async ({}, use) => {
    const s3 = await startS3Server();
    try {
      await use(s3);
    } finally {
      await s3.stop();
    }
  },
  // eslint-disable-next-line no-empty-pattern
  database: async ({}, use) => {
    const database = await createDatabase();
    try {
      await use(database);
    } finally {
      await database.drop();
    }
  },
  // eslint-disable-next-line no-empty-pattern
  project: async ({}, use) => {
    const project = await createTmpProject();
    try {
      await use(project);
    } finally {
      await project.destroy();
    }
  },
});
