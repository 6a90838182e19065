#!/usr/bin/env bash
# v05-g-sigterm.sh: does v0.5.17's final sync at SIGTERM ship the last writes? Writes N rows and sends
# SIGTERM right after the last commit (0 ms), restores, counts; 10 rounds each for a file replica and
# an S3 (MinIO) replica, plus a SIGSTOPped Litestream that gets SIGTERM (+ SIGCONT), as
# docs/litestream.md Q4 measured for v0.3.13.   Findings: docs/litestream-v05.md G1–G3.
#   bash docs/litestream-lab/v05-g-sigterm.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
ROUNDS=${ROUNDS:-10}
# round KIND I: one database, replicate, 25 single-row commits (the last one at the SIGTERM), restore
round() {
  local kind=$1 i=$2 db="$ROOT/$1-$2.db"; newdb "$db" 1
  if [ "$kind" = file ]; then yml_file "$db" "$ROOT/$kind-$i-r" > "$kind-$i.yml"; else yml_s3 "$db" labbucket "r$i" > "$kind-$i.yml"; fi
  start "$kind-$i" "$LS5" replicate -config "$kind-$i.yml"; wait_for "$kind-$i.log" 'snapshot complete' > /dev/null || true
  local k; for k in $(seq 2 25); do sqlite3 "$db" "INSERT INTO t VALUES($k)"; done
  local t0 rc=0; t0=$(date +%s%N); kill -TERM "$PID"; wait "$PID" || rc=$?; local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  rm -f "$ROOT/out.db"; "$LS5" restore -config "$kind-$i.yml" -o "$ROOT/out.db" "$db" > /dev/null 2>&1 || true
  echo "$kind round $i: exit $rc, SIGTERM→exit $ms ms, restored $(count "$ROOT/out.db") of 25"
}
echo "== G1. file replica"; for i in $(seq 1 "$ROUNDS"); do round file "$i"; done
echo "== G2. S3 replica"; minio_start; mkbucket labbucket; for i in $(seq 1 "$ROUNDS"); do round s3 "$i"; done
echo "== G3. SIGSTOPped, 10 commits, then SIGTERM (a) alone for 3 s then SIGKILL, (b) followed by SIGCONT"
for mode in alone cont; do
  newdb "st-$mode.db" 1; yml_file "$ROOT/st-$mode.db" "$ROOT/st-$mode-r" > "st-$mode.yml"
  start "st-$mode" "$LS5" replicate -config "st-$mode.yml"; wait_for "st-$mode.log" 'snapshot complete' > /dev/null; sleep 0.5
  kill -STOP "$PID"; for k in $(seq 2 11); do sqlite3 "st-$mode.db" "INSERT INTO t VALUES($k)"; done
  t0=$(date +%s%N); kill -TERM "$PID"; [ $mode = cont ] && kill -CONT "$PID"
  sleep 3; st=$(ps -o stat= -p "$PID" || echo exited); [ $mode = alone ] && kill -KILL "$PID" 2>/dev/null; rc=0; wait "$PID" || rc=$?
  rm -f out.db; "$LS5" restore -o "$ROOT/out.db" "file://$ROOT/st-$mode-r" > /dev/null 2>&1 || true
  echo "$mode: state 3 s after SIGTERM: $st; exit $rc; restored $(count "$ROOT/out.db") of 11"
done
echo "observed: see above"
