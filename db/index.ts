// Not a phase: the database library shared by the phases that talk to a database (restore, migrate,
// seed, verify) and by the commands that do (restore --from-backup, checksum). The public entry:
// phases and commands import db/ through this file (history formats through history/index.ts).

export { StatementError, type MigrationDb } from './database.js';
export { describePostgres, openStore } from './store.js';
