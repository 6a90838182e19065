#!/usr/bin/env bash
# q10-replica-deleted.sh: a file replica's directory deleted while Litestream v0.3.13 replicates under
# writes. What Litestream logs and writes afterwards (a WAL folder without a snapshot), what
# `litestream snapshots` and `litestream generations` print before and after, whether `litestream
# restore` works, and whether a restarted Litestream writes a new snapshot, both when it continues the
# same generation (the app keeps its connection, so the WAL survives) and when it starts a new one (the
# app closed its last connection while Litestream was down, checkpointing the WAL away). Rows restored
# are counted against rows written. Also: what one `litestream snapshots` call costs, and what it does
# with an unreachable S3 replica. Findings: docs/litestream.md Q12. Needs sqlite3.
#
#   LITESTREAM=path/to/litestream ./q10-replica-deleted.sh
set -uo pipefail
LS=${LITESTREAM:?set LITESTREAM to the litestream binary}
ROOT=$(mktemp -d -t lsq10.XXXXXX)
WRITER= APP= LSPID=
cleanup() {
  for p in $WRITER $APP $LSPID; do kill "$p" 2>/dev/null; done
  exec 3>&- 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$ROOT"
}
trap cleanup EXIT
cd "$ROOT" || exit 1

DB=$ROOT/app.db REP=$ROOT/replica CFG=$ROOT/ls.yml
printf 'dbs:\n  - path: %s\n    replicas:\n      - type: file\n        path: %s\n' "$DB" "$REP" > "$CFG"
sqlite3 "$DB" "PRAGMA journal_mode=wal; CREATE TABLE t(id INTEGER PRIMARY KEY, at TEXT);" >/dev/null

# The app: one sqlite3 process reading SQL from a FIFO keeps one connection open, as a server would.
mkfifo app.fifo
start_app() { sqlite3 "$DB" < app.fifo > app.out 2>&1 & APP=$!; exec 3> app.fifo; echo "PRAGMA busy_timeout=5000;" >&3; }
stop_app() { exec 3>&-; wait "$APP" 2>/dev/null; APP=; }
# The writer: one row every 50 ms through the app's connection.
start_writes() { ( while :; do echo "INSERT INTO t(at) VALUES (strftime('%H:%M:%f','now'));" >&3; sleep 0.05; done ) & WRITER=$!; }
stop_writes() { kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null; WRITER=; sleep 0.3; }
rows() { sqlite3 "$DB" "PRAGMA busy_timeout=5000; SELECT count(*) FROM t;" | tail -1; }
start_ls() { "$LS" replicate -config "$CFG" >> "ls$1.log" 2>&1 & LSPID=$!; }
stop_ls() { kill -TERM "$LSPID"; wait "$LSPID"; echo "   litestream exit $?"; LSPID=; }
show() {
  echo "   litestream snapshots:";   "$LS" snapshots -config "$CFG" "$DB" 2>&1 | sed 's/^/     /'
  echo "   litestream generations:"; "$LS" generations -config "$CFG" "$DB" 2>&1 | sed 's/^/     /'
}
# restore_count LABEL EXPECTED: restores the replica into a new path and counts its rows.
restore_count() {
  rm -f "r-$1.db"*
  if out=$("$LS" restore -config "$CFG" -o "r-$1.db" "$DB" 2>&1); then
    echo "   restore: exit 0, $(sqlite3 "r-$1.db" 'SELECT count(*) FROM t') of $2 rows"
  else
    echo "   restore: exit $? ($(echo "$out" | grep -o 'error=.*' | head -1)), 0 of $2 rows"
  fi
}
tree() { (cd "$REP" 2>/dev/null && find . -type f | sort | sed 's/^/     /') || echo "     (no replica directory)"; }

echo "== 1. replicate under writes, then delete the replica directory"
start_app; start_ls 1; sleep 1.5; start_writes; sleep 3
echo "   before the delete: $(rows) rows"; show
DELETED_AT=$(date -u +%Y-%m-%dT%H:%M:%S.%3N); rm -rf "$REP"; echo "   deleted $REP at $DELETED_AT"
sleep 4
BEFORE_RESTART=$(rows)
echo "   4 s later, $BEFORE_RESTART rows written; replica files:"; tree; show
restore_count deleted "$BEFORE_RESTART"
echo "   what litestream logged after the delete (deduplicated by message):"
awk -v t="time=$DELETED_AT" '$1 > t' ls1.log | grep -oE 'level=[A-Z]+ msg=("[^"]*"|[a-z]+)' | sort | uniq -c | sed 's/^/     /'

echo "== 2. kept running 10 s more: does it ever write a snapshot on its own?"
sleep 10; echo "   snapshot lines in its whole log: $(grep -c 'snapshot written' ls1.log) (the first is the one at start)"

echo "== 3. SIGTERM and start again; the app keeps its connection (and the WAL) open, writes go on"
stop_ls; start_ls 3; sleep 3
grep -E 'generation|snapshot' ls3.log | cut -c1-200 | sed 's/^/     /'
show; tree
stop_writes; sleep 1.5; WRITTEN=$(rows)
restore_count same-generation "$WRITTEN"
GEN=$(cat .app.db-litestream/generation)
echo "   litestream wal -generation $GEN (first 3 lines): the first segment of index 0 does not start at 0"
"$LS" wal -config "$CFG" -generation "$GEN" "$DB" 2>&1 | head -3 | sed 's/^/     /'

echo "== 4. SIGTERM, remove .app.db-litestream/generation, start again; the app keeps its connection, writes go on"
start_writes; sleep 1; stop_ls; rm .app.db-litestream/generation; start_ls 4; sleep 3
grep -E 'generation|snapshot' ls4.log | cut -c1-200 | sed 's/^/     /'
show
stop_writes; sleep 1.5; WRITTEN=$(rows)
restore_count new-generation "$WRITTEN"

echo "== 5. delete again, stop litestream, the app closes its connection (checkpoint), start again"
start_writes; sleep 2; rm -rf "$REP"; sleep 2; stop_writes
stop_ls; stop_app; echo "   WAL after the app closed: $(stat -c %s "$DB-wal" 2>/dev/null || echo none) bytes"
start_app; start_ls 5; sleep 2.5; start_writes; sleep 2; stop_writes; sleep 1.5; WRITTEN=$(rows)
grep -E 'generation|snapshot' ls5.log | cut -c1-200 | sed 's/^/     /'
show
restore_count app-closed "$WRITTEN"

echo "== 6. cost of one \`litestream snapshots\` and one \`litestream wal -generation\` call (file replica, 20 each)"
GEN=$(cat .app.db-litestream/generation)
S=$(date +%s%N); for _ in $(seq 20); do "$LS" snapshots -config "$CFG" -replica file "$DB" >/dev/null 2>&1; done
echo "   snapshots: $(( ($(date +%s%N) - S) / 20000000 )) ms per call"
S=$(date +%s%N); for _ in $(seq 20); do "$LS" wal -config "$CFG" -replica file -generation "$GEN" "$DB" >/dev/null 2>&1; done
echo "   wal: $(( ($(date +%s%N) - S) / 20000000 )) ms per call ($("$LS" wal -config "$CFG" -generation "$GEN" "$DB" | wc -l) lines)"
out=$("$LS" snapshots -config "$CFG" -replica nope "$DB" 2>&1); echo "   unknown replica name: exit $?, $out"
stop_ls; stop_app

echo "== 7. \`litestream snapshots\` with an S3 replica on a closed port, and on one that never answers"
printf 'dbs:\n  - path: %s\n    replicas:\n      - type: s3\n        bucket: b\n        path: p\n        endpoint: http://127.0.0.1:1\n        region: us-east-1\n        force-path-style: true\n        access-key-id: x\n        secret-access-key: y\n' "$DB" > s3.yml
S=$(date +%s%N); out=$(timeout 60 "$LS" snapshots -config s3.yml "$DB" 2>"s3.err"); rc=$?
echo "   exit $rc after $(( ($(date +%s%N) - S) / 1000000 )) ms; stdout:"; echo "$out" | sed 's/^/     /'
echo "   stderr:"; cut -c1-220 s3.err | sed 's/^/     /'
# An endpoint that accepts the connection and never answers (a hung proxy, a black-holed route).
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); c=[]; [c.append(s.accept()) for _ in range(50)]; time.sleep(120)' > port.txt & SILENT=$!
sleep 0.5; sed -i "s#http://127.0.0.1:1#http://127.0.0.1:$(cat port.txt)#" s3.yml
S=$(date +%s%N); timeout 20 "$LS" snapshots -config s3.yml "$DB" >s3b.out 2>&1; rc=$?
echo "   never answers: exit $rc after $(( ($(date +%s%N) - S) / 1000000 )) ms (124: killed by \`timeout 20\`)"
kill $SILENT
