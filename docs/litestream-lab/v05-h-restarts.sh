#!/usr/bin/env bash
# v05-h-restarts.sh: 5 clean restarts (SIGTERM, start again) on one database with a write between
# each, for v0.5.17 and v0.3.13, with and without a connection that outlives the restart. Between two
# runs "bump" is what bootseq does before it starts Litestream (db/sqlite.ts touchLitestreamSeq: a
# better-sqlite3 connection that bumps _litestream_seq and closes, the last connection, so SQLite
# checkpoints and deletes the WAL). Counts, per start, v0.3's new generations (and their reason) and
# v0.5's full snapshots (an L9 file, or an L0 written as a snapshot: debug `sync … snap=true`).
# Findings: docs/litestream-v05.md H1–H3.   bash docs/litestream-lab/v05-h-restarts.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
NODE_SQLITE="$REPO/node_modules/better-sqlite3"
bump() { node -e "
const D = require('$NODE_SQLITE'); const db = new D(process.argv[1], { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.exec('INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1');
db.exec('INSERT INTO t VALUES (1)'); db.close();" "$1"; }
cliwrite() { sqlite3 "$1" "INSERT INTO t VALUES (2)"; }
# hold DB: a sqlite3 process that keeps one connection (and a read of t) open until release
hold() { mkfifo "$ROOT/hold.fifo"; sqlite3 "$1" < "$ROOT/hold.fifo" > /dev/null 2>&1 & HOLD=$!; PIDS+=("$HOLD"); exec 7> "$ROOT/hold.fifo"; echo "SELECT count(*) FROM t;" >&7; }
release() { echo ".quit" >&7; exec 7>&-; wait "$HOLD" 2>/dev/null || true; rm -f "$ROOT/hold.fifo"; }

# v3 NAME BETWEEN [hold]: 5 runs of v0.3.13, BETWEEN (bump|cli|none) run between them
v3() {
  local n=$1 between=$2 h=${3:-}; newdb "$n.db" 3
  printf 'dbs:\n  - path: %s/%s.db\n    replicas:\n      - type: file\n        path: %s/%s-r\n' "$ROOT" "$n" "$ROOT" "$n" > "$n.yml"
  [ -n "$h" ] && hold "$n.db"
  local i line=""
  for i in 1 2 3 4 5; do
    "$LS3" replicate -config "$n.yml" > "$n.$i.log" 2>&1 & local p=$!; PIDS+=("$p"); sleep 1.6
    [ "$between" = handoff ] && [ "$i" -gt 1 ] && release
    sqlite3 "$n.db" "INSERT INTO t VALUES (3)"; sleep 1.2; kill -TERM $p; wait $p || true
    line+="run $i: $(grep -c 'new generation' "$n.$i.log" || true) new gen $(grep -oE 'reason="[^"]*"' "$n.$i.log" | sort -u | tr '\n' ' '), wal after stop: $([ -f "$n.db-wal" ] && stat -c %s "$n.db-wal" || echo none); "
    case $between in bump) bump "$n.db";; cli) cliwrite "$n.db";; handoff) hold "$n.db"; bump "$n.db";; esac
    line+="after $between: wal $([ -f "$n.db-wal" ] && stat -c %s "$n.db-wal" || echo none) | "
  done
  [ -n "$h" ] || [ "$between" = handoff ] && release
  echo "$line" | tr '|' '\n' | sed 's/^ */   /' | grep -v '^ *$'
  echo "   => generations in the replica: $(ls "$n-r/generations" | wc -l); restore: $("$LS3" restore -o "$ROOT/$n.out" "file://$ROOT/$n-r" > /dev/null 2>&1 && count "$ROOT/$n.out") of $(count "$n.db") rows"
}
# v5 NAME BETWEEN [hold]: the same with v0.5.17 (debug log, to see snap=true)
v5() {
  local n=$1 between=$2 h=${3:-}; newdb "$n.db" 3
  yml_file "$ROOT/$n.db" "$ROOT/$n-r" "$(printf 'logging:\n  level: debug\n')" > "$n.yml"
  [ -n "$h" ] && hold "$n.db"
  local i line=""
  for i in 1 2 3 4 5; do
    "$LS5" replicate -config "$n.yml" > "$n.$i.log" 2>&1 & local p=$!; PIDS+=("$p"); sleep 1.6
    sqlite3 "$n.db" "INSERT INTO t VALUES (3)"; sleep 1.2; kill -TERM $p; wait $p || true
    line+="run $i: snap=true $(grep -c 'snap=true' "$n.$i.log" || true)× $(grep -oE 'snap=true reason="[^"]*"' "$n.$i.log" | sort -u | sed 's/snap=true //' | tr '\n' ' ')INFO 'snapshot complete' $(grep -c 'snapshot complete' "$n.$i.log" || true)×, files L0/L1/L9 $(ls "$n-r/ltx/0" 2>/dev/null | wc -l)/$(ls "$n-r/ltx/1" 2>/dev/null | wc -l)/$(ls "$n-r/ltx/9" 2>/dev/null | wc -l), L0 bytes $(cd "$n-r/ltx/0" && stat -c %s * | tr '\n' ' ')"
    case $between in bump) bump "$n.db";; cli) cliwrite "$n.db";; esac
    line+="| "
  done
  [ -n "$h" ] && release
  echo "$line" | tr '|' '\n' | sed 's/^ */   /' | grep -v '^ *$'
  echo "   => restore: $("$LS5" restore -o "$ROOT/$n.out" "file://$ROOT/$n-r" > /dev/null 2>&1 && count "$ROOT/$n.out") of $(count "$n.db") rows"
}

echo "== H1. v0.3.13, 5 runs"
echo "-- bump between runs (bootseq today: better-sqlite3 open, bump, close), no other connection"; v3 a bump
echo "-- nothing between runs, no other connection"; v3 b none
echo "-- bump between runs, with one connection held open across all runs (as a running app would)"; v3 c bump hold
echo "-- handoff: a connection opened before the bump and closed only 1.6 s after the next Litestream started"; v3 g handoff
echo "== H2. v0.5.17, 5 runs"
echo "-- bump between runs, no other connection"; v5 d bump
echo "-- nothing between runs, no other connection"; v5 e none
echo "-- bump between runs, one connection held open"; v5 f bump hold
echo "-- the INFO lines of a restart (run 3 of the last case):"; grep -E 'level=(INFO|WARN|ERROR)' f.3.log | grep -vE 'starting (compaction|L0)' | sed -E 's/^time=[^ ]+ //' | cut -c1-200
echo "observed: see above"
