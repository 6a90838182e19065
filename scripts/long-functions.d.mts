// Types for scripts/long-functions.mjs, which test/unit/layout.test.ts imports.
export const SOURCE_ROOTS: string[];
export function functionLengths(): { file: string; name: string; lines: number }[];
