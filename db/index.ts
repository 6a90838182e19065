// Not a phase: the database library shared by the phases that talk to a database (restore, migrate,
// seed, verify) and by the commands that do (restore --from-backup, rehearse, checksum). The public
// entry: phases and commands import db/ through this file (history formats through
// history/index.ts, backups through backups/index.ts, the Litestream drivers through
// litestream/index.ts).

export { hasTables, quoteIdent, quoteName, StatementError, type MigrationDb } from './database.js';
export { runOnServer, splitPassword } from './postgres.js';
export { checkIntegrity } from './sqlite.js';
export { openSqliteFile, type SqliteFile, type SqliteFileOptions } from './sqlite-file.js';
export { describePostgres, openStore } from './store.js';
export {
  describeHolder,
  holdsLease,
  leaseFile,
  me,
  readHolder,
  releaseLease,
  tryLease,
  whoHolds,
  type Holder,
  type LeaseFile,
} from './lease.js';
export { splitStatements } from './split.js';
export { describeProcess, processesWithOpen } from './processes.js';
export { adviseUnwritable, describeMount, whyUnwritable, type WriteFailure } from './mounts.js';
