// vitest fixture: a temp project per test, destroyed (processes killed, dir removed) pass or fail.

import { test as base } from 'vitest';
import { createTmpProject, type TmpProject } from './project.js';

export const test = base.extend<{ project: TmpProject }>({
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
