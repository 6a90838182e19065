#!/usr/bin/env bash
# q10-symlinked-paths.sh: Litestream v0.3.13 given a database path through a symlink. (1) A symlinked
# storage folder; (2) a symlinked database file; (3) the same file given by its real path. For each:
# where the WAL the app writes is, where Litestream's shadow WAL goes, what `db=` its lines carry,
# what /proc shows it holding open, and how many rows a restore of its replica brings back.
# Findings: docs/litestream.md Q10. Needs sqlite3 (3.40: it resolves symlinks, as SQLite does).
#
#   LITESTREAM=path/to/litestream ./q10-symlinked-paths.sh
set -uo pipefail
LS=$(realpath "${LITESTREAM:?set LITESTREAM to the litestream binary}")
ROOT=$(mktemp -d -t lsq10.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$ROOT"' EXIT
cd "$ROOT" || exit 1
mkdir -p volume/storage volume/files volume/real app/files
ln -s ../volume/storage app/storage                 # (1) the folder is a link
ln -s ../../volume/files/b.db app/files/b.db        # (2) the file is a link (dangling until created)

run() { # NAME DB_PATH_GIVEN_TO_LITESTREAM REAL_PATH
  local name=$1 given=$2 real=$3
  printf 'dbs:\n  - path: %s\n    replicas:\n      - type: file\n        path: %s\n' "$given" "$ROOT/replica-$name" > "$name.yml"
  sqlite3 "$given" "PRAGMA journal_mode=wal; CREATE TABLE t(x);" >/dev/null
  # The app keeps a connection open (so the WAL stays) and writes 20 rows.
  python3 -c "import sqlite3, time; c = sqlite3.connect('$given'); c.execute('SELECT 1').fetchall(); time.sleep(8)" & local hold=$!
  "$LS" replicate -config "$name.yml" > "$name.log" 2>&1 & local pid=$!
  sleep 1.5
  for i in $(seq 1 20); do sqlite3 "$given" "INSERT INTO t VALUES ($i)"; done
  sleep 2.5
  echo "-- $name: litestream given $given"
  echo "   the app's WAL:        $(ls "$(dirname "$real")" | grep -E '\.db-wal$' | tr '\n' ' ')(beside the real file)"
  echo "   WAL beside the link:  $([ -e "$given-wal" ] && echo "$given-wal exists" || echo none)"
  echo "   litestream holds:     $(for fd in /proc/$pid/fd/*; do readlink "$fd"; done | grep -E '\.db(-wal)?$' | sort -u | tr '\n' ' ')"
  echo "   shadow WAL under:     $(find "$ROOT" -path '*-litestream/generations/*/wal/*.wal' -newer "$name.yml" | sed "s|$ROOT/||" | head -1)"
  echo "   db= in its lines:     $(grep -o 'db=[^ ]*' "$name.log" | sort -u | sed "s|$ROOT/||" | tr '\n' ' ')"
  echo "   errors:               $(grep -c 'level=ERROR' "$name.log")"
  kill -TERM $pid; wait $pid; kill $hold 2>/dev/null; wait $hold 2>/dev/null
  rm -f "restored-$name.db"
  "$LS" restore -config "$name.yml" -o "restored-$name.db" "$given" > "restore-$name.log" 2>&1
  echo "   restored rows:        $(sqlite3 "restored-$name.db" 'SELECT count(*) FROM t' 2>/dev/null || echo "none ($(tail -1 "restore-$name.log"))") of 20"
}

run folder "$ROOT/app/storage/a.db" "$ROOT/volume/storage/a.db"
run file "$ROOT/app/files/b.db" "$ROOT/volume/files/b.db"
run real "$ROOT/volume/real/c.db" "$ROOT/volume/real/c.db"
