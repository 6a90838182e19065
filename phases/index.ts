// The ordered list of phases: the one file that names them all.

import type { Phase } from '../core/task.js';
import { lease } from './lease/index.js';
import { migrate, seed } from './migrate/index.js';
import { replicate } from './replicate/index.js';
import { restore } from './restore/index.js';
import { service } from './service/index.js';
import { start } from './start/index.js';
import { sync } from './sync/index.js';
import { verify } from './verify/index.js';

export const PHASE_LIST: readonly Phase[] = [
  service,
  lease,
  restore,
  migrate,
  seed,
  sync,
  verify,
  replicate,
  start,
];
