#!/usr/bin/env bash
# v05-b-progress.sh: Litestream v0.5.17, what proves a takeover and how far a replica is: the log lines
# at info and at debug (text and json), the /metrics names and values (addr:), `litestream status`,
# and the control socket (`list -json`, `info -json`, `sync -wait`). Compares the database's TXID
# (metric litestream_txid, local .db-litestream/ltx/0) with the replica's (its ltx/0 file names and
# the debug line "ltx file uploaded").   Findings: docs/litestream-v05.md B1–B5.
#   bash docs/litestream-lab/v05-b-progress.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
metrics() { curl -s -m 2 "http://127.0.0.1:$PORT/metrics" | grep -E '^litestream_' | grep -vE '_bucket|duration_seconds_(sum|count)' | sed "s|$ROOT/||" || echo "(no answer)"; }
local_txid() { ls "$ROOT/.app.db-litestream/ltx/0" 2>/dev/null | tail -1 | cut -d- -f2 | cut -d. -f1; }
replica_txid() { ls "$ROOT/replica/ltx/0" 2>/dev/null | tail -1 | cut -d- -f2 | cut -d. -f1; }

echo "== B1. debug + text log, addr:, control socket; 3 writes 0.4 s apart"
newdb app.db 3
yml_file "$ROOT/app.db" "$ROOT/replica" "$(printf 'addr: 127.0.0.1:%s\nsocket:\n  enabled: true\n  path: %s/ctl.sock\nlogging:\n  level: debug\n' "$PORT" "$ROOT")" > d.yml
t0=$(date +%s%N); start d "$LS5" replicate -config d.yml
wait_for d.log 'snapshot complete' || { cat d.log; exit 1; }
echo "first 'snapshot complete' after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
sleep 1.2; echo "-- metrics after takeover:"; metrics
for i in 1 2 3; do sqlite3 app.db "INSERT INTO t VALUES(100+$i)"; sleep 0.4; done
echo "-- metrics right after the 3rd write:"; metrics | grep -E 'txid|sync_count|replica_operation_total'
sleep 1.5; echo "-- 1.5 s later:"; metrics | grep -E 'txid|sync_count|wal_size|replica_operation_total'
echo "local ltx/0 max TXID: $(local_txid); replica ltx/0 max TXID: $(replica_txid)"
echo "-- litestream status:"; "$LS5" status -config d.yml | sed 's/^/   /'
echo "-- litestream status -json:"; "$LS5" status -json -config d.yml | tr -d '\n ' | cut -c1-300; echo
echo "-- litestream list -json (socket):"; "$LS5" list -json -socket "$ROOT/ctl.sock" 2>&1 | tr -d '\n ' | cut -c1-400; echo
echo "-- litestream info -json (socket):"; "$LS5" info -json -socket "$ROOT/ctl.sock" 2>&1 | tr -d '\n ' | cut -c1-400; echo
sqlite3 app.db "INSERT INTO t VALUES(200)"
t1=$(date +%s%N); echo "-- litestream sync -wait -json right after a write:"; "$LS5" sync -wait -json -socket "$ROOT/ctl.sock" "$ROOT/app.db" 2>&1 | tr -d '\n ' | cut -c1-300
echo " ($(( ($(date +%s%N) - t1) / 1000000 )) ms); replica ltx/0 max TXID now: $(replica_txid)"
stop "$PID"
echo "-- debug lines about progress (distinct messages, counts):"
sed -nE 's/.*level=([A-Z]+) msg=("[^"]*"|[^ ]*).*/\1 \2/p' d.log | sort | uniq -c | sort -rn
echo "-- the lines of the 3 writes:"; grep -E 'ltx file uploaded|"replica sync"|msg=sync ' d.log | sed -E 's/^time=[^ ]+ //' | tail -8 | cut -c1-200

echo "== B2. the same at logging.level info (the default): which lines remain"
newdb i.db 3; yml_file "$ROOT/i.db" "$ROOT/ireplica" > i.yml
start i "$LS5" replicate -config i.yml; sleep 2
for i in 1 2 3; do sqlite3 i.db "INSERT INTO t VALUES($i)"; sleep 0.4; done; sleep 1.5; stop "$PID"
sed -E 's/^time=[^ ]+ //' i.log | grep -vE 'starting (compaction|L0)' | cut -c1-200
echo "replica ltx/0 files: $(ls ireplica/ltx/0 | wc -l) (3 writes shipped, with no line)"

echo "== B3. logging.type: json"
newdb j.db 1; yml_file "$ROOT/j.db" "$ROOT/jreplica" "$(printf 'logging:\n  level: debug\n  type: json\n')" > j.yml
start j "$LS5" replicate -config j.yml; sleep 2; sqlite3 j.db "INSERT INTO t VALUES(2)"; sleep 1.3; stop "$PID"
grep -m1 'snapshot complete' j.log; grep -m1 'ltx file uploaded' j.log; grep -m1 '"replica sync"' j.log
echo "stdout/stderr: $(grep -c . j.log) lines in all (both streams)"
"$LS5" replicate -config j.yml > j.out 2> j.err & P=$!; PIDS+=($P); sleep 1.5; stop $P > /dev/null
echo "stdout lines: $(grep -c . j.out || true), stderr lines: $(grep -c . j.err || true)"
echo "observed: see above"
