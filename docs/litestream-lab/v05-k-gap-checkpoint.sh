#!/usr/bin/env bash
# K: a checkpoint that resets the WAL while no Litestream runs (the gap of a rolling deploy, between
# the old container's Litestream exit and the new one's start, while the new container's app writes).
# K1: v0.5.17 replicates, is stopped; the app writes, checkpoints (PASSIVE, as its autocheckpoint
#     does) and writes again, so the WAL starts over with a new salt; v0.5 is started again. What does
#     it log, and what restores?
# K2: the same with a reader holding a read transaction through the gap (what bootseq's keeper does):
#     the checkpoint cannot reset the WAL.
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
dbg() { printf 'logging:\n  level: debug\n'; }

# The app: one connection open throughout (as a web process holds it), so the WAL is never deleted;
# in the gap it writes 50 rows, checkpoints (PASSIVE, as SQLite's autocheckpoint does) and writes 50
# more, which restarts the WAL from its start with a new salt when no reader is in it. Before the gap
# the WAL is long (3000 rows in u, shipped), so the restarted WAL is shorter than the offset v0.5
# synced to and the frame there is still the old one (db.go verify: lastPageMatch).
APP='
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.executemany("INSERT INTO u VALUES (?)", [("x" * 200,) for i in range(3000)])  # a long WAL, shipped
time.sleep(2)
c.executemany("INSERT INTO t VALUES (?)", [(1000 + i,) for i in range(50)])  # the gap
c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
c.execute("INSERT INTO t VALUES (2000)")  # the WAL restarts: a new salt, a few frames, the old ones after
time.sleep(7)'

run_case() {
  local name=$1 hold=$2
  mkdir -p "$name" && cd "$name"
  newdb app.db 10
  sqlite3 app.db "CREATE TABLE u(x)"
  { dbg; yml_file "$PWD/app.db" "$PWD/replica"; } > ls.yml
  start ls1 "$LS5" replicate -config ls.yml; local p1=$PID
  sleep 1.5
  start app python3 -c "$APP" app.db; local app=$PID
  local holder=
  if [ "$hold" = yes ]; then
    # A reader in an open read transaction from before the old Litestream stops until after the new
    # one has synced, as bootseq's keeper (db/litestream/keeper.ts).
    start reader python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("BEGIN"); c.execute("SELECT count(*) FROM t").fetchone()
time.sleep(6)' app.db; holder=$PID
  fi
  sleep 1
  stop "$p1" > /dev/null # 2.5 s: the old Litestream exits; the app writes its 100 rows at 3.5 s
  sleep 2
  start ls2 "$LS5" replicate -config ls.yml; local p2=$PID
  sleep 3
  stop "$p2" > /dev/null
  [ -z "$holder" ] || wait "$holder" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  echo "$name (reader through the gap: $hold): live rows $(count app.db)"
  slog ls2.log | grep -E 'msg=verify|msg=sync .*txid' | head -3 | sed 's/^/  /'
  "$LS5" restore -config ls.yml -o "$PWD/restored.db" "$PWD/app.db" > restore.log 2>&1 || true
  echo "  restored rows (table scan): $(sqlite3 restored.db 'SELECT count(*) FROM t NOT INDEXED' 2>&1), integrity: $(sqlite3 restored.db 'PRAGMA integrity_check' 2>&1 | head -1)"
  cd "$ROOT"
}

run_case k1 no
run_case k2 yes
