#!/usr/bin/env bash
# v05-d-seq-tables.sh: does v0.5.17 still create and need _litestream_seq / _litestream_lock? Their
# schema; bootseq's bump statement on them; Litestream started before the database exists (created
# later by a "migration"); the database replaced (deleted and re-created, as in seeds/002) while it
# runs; the tables dropped while it is stopped.   Findings: docs/litestream-v05.md D1–D4.
#   bash docs/litestream-lab/v05-d-seq-tables.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
errs() { grep -E 'level=(ERROR|WARN)' "$1" | sed -E 's/^time=[^ ]+ //; s/(consecutive_errors|attempts)=[0-9]+ //; s/backoff=[^ ]+//' | cut -c1-200 | sort | uniq -c | sort -rn | head -6 || true; }
rrows() { rm -f "$ROOT/out.db"; "$LS5" restore -o "$ROOT/out.db" "file://$ROOT/$1" > rs.out 2>&1 || true; [ -f "$ROOT/out.db" ] && echo "$(sqlite3 "$ROOT/out.db" "SELECT count(*) FROM t" 2>&1), integrity $(sqlite3 "$ROOT/out.db" 'PRAGMA integrity_check' | head -1)" || echo "no file: $(head -c 150 rs.out)"; }

echo "== D1. schema after a takeover, and bootseq's bump statement"
newdb a.db 1; yml_file "$ROOT/a.db" "$ROOT/a-r" > a.yml
start a "$LS5" replicate -config a.yml; wait_for a.log 'snapshot complete'; sleep 0.5
sqlite3 a.db "SELECT sql FROM sqlite_master WHERE name LIKE '_litestream%'"
sqlite3 a.db "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1; SELECT 'bump ok, seq=' || seq FROM _litestream_seq"
sleep 1.5; stop "$PID"; echo "lock rows: $(sqlite3 a.db 'SELECT count(*) FROM _litestream_lock'); errors:"; errs a.log

echo "== D2. Litestream first; the database created 2 s later by a migration (3 steps 0.5 s apart)"
yml_file "$ROOT/m.db" "$ROOT/m-r" > m.yml
start m "$LS5" replicate -config m.yml; sleep 2
sqlite3 m.db "PRAGMA journal_mode=wal; CREATE TABLE t(x);" > /dev/null; sleep 0.5
sqlite3 m.db "INSERT INTO t VALUES (1),(2)"; sleep 0.5; sqlite3 m.db "ALTER TABLE t ADD COLUMN y; INSERT INTO t VALUES (3,3)"; sleep 2
stop "$PID"; echo "tables: $(sqlite3 m.db "SELECT group_concat(name,' ') FROM sqlite_master WHERE type='table'"); restore: $(rrows m-r) of $(count m.db); errors:"; errs m.log

echo "== D3. the database replaced while Litestream runs: deleted (with -wal/-shm) and re-created with 300 rows by a process that closes it, then 5 writes"
newdb r.db 10; yml_file "$ROOT/r.db" "$ROOT/r-r" > r.yml
start r "$LS5" replicate -config r.yml; wait_for r.log 'snapshot complete'; sleep 1
rm -f r.db r.db-wal r.db-shm; newdb r.db 300; sleep 0.3
for k in 1 2 3 4 5; do sqlite3 r.db "INSERT INTO t VALUES (-$k)"; sleep 0.4; done; sleep 3
echo "/proc fds on deleted files: $(ls -l /proc/"$PID"/fd 2>/dev/null | grep -c deleted || true)"
stop "$PID"; echo "live rows $(count r.db) (tables: $(sqlite3 r.db "SELECT group_concat(name,' ') FROM sqlite_master")); restore: $(rrows r-r); errors:"; errs r.log
echo "-- restarted after the replacement (3 s):"
start r2 "$LS5" replicate -config r.yml; sleep 2.5; sqlite3 r.db "INSERT INTO t VALUES (-6)"; sleep 1.5; stop "$PID"
echo "live rows $(count r.db); restore: $(rrows r-r); errors:"; errs r2.log

echo "== D4. the tables dropped while Litestream is stopped, then it starts again"
sqlite3 a.db "DROP TABLE _litestream_seq; DROP TABLE _litestream_lock;"
start a2 "$LS5" replicate -config a.yml; sleep 2; sqlite3 a.db "INSERT INTO t VALUES (9)"; sleep 1.5; stop "$PID"
echo "tables now: $(sqlite3 a.db "SELECT group_concat(name,' ') FROM sqlite_master WHERE name LIKE '_litestream%'"); restore: $(rrows a-r) of $(count a.db); errors:"; errs a2.log
echo "observed: see above"
