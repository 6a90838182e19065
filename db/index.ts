// Not a phase: the database library shared by the phases that talk to a database (restore, migrate,
// seed, verify) and by the commands that do (restore --from-backup, rehearse, checksum). The public
// entry: phases and commands import db/ through this file (history formats through
// history/index.ts, backups through backups/index.ts).

export { StatementError, type Dialect, type MigrationDb } from './database.js';
export { openSqlite } from './sqlite.js';
export { openPostgres, splitPassword } from './postgres.js';
export { describePostgres, openStore } from './store.js';
