// vitest fixture: a temp project per test, destroyed (processes killed, dir removed) pass or fail.

import { test as base } from 'vitest';
import { createDatabase, type TestDatabase } from './postgres.js';
import { createTmpProject, type TmpProject } from './project.js';

export const test = base.extend<{ project: TmpProject; database: TestDatabase }>({
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
