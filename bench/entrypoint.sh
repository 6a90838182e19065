#!/bin/sh
# The hand-written entrypoint bootseq replaces, written correctly and sequentially: restore each
# database, migrate each, start Litestream, wait until it has taken over every database (generation
# file and first snapshot), start the worker and wait for its log line, start web and wait for /up.
# With UNTIL_READY=1 it then stops web, worker and Litestream in that order (like `bootseq up --until
# ready`). Run in a copy of the demo project; LITESTREAM names the binary. With MIGRATE_COMMAND set,
# each store is migrated by `$MIGRATE_COMMAND STORE` (with BOOTSEQ_STORE and BOOTSEQ_DATABASE, as
# bootseq runs a store's migrate command) instead of the sqlite3 loop: the rails-like workload.
set -eu
LS=${LITESTREAM:?set LITESTREAM to the litestream binary}
PORT=${DEMO_PORT:-3000}
STORES="primary queue cache cable"
mkdir -p .demo/storage .demo/logs

for s in $STORES; do
  "$LS" restore -config litestream.yml -if-replica-exists -if-db-not-exists \
    -o ".demo/storage/$s.sqlite3" ".demo/storage/$s.sqlite3"
done

migrate() {
  db=".demo/storage/$1.sqlite3"
  sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS shell_migrations (name TEXT PRIMARY KEY);" >/dev/null
  for f in "examples/demo/db/$1"/*.sql; do
    n=$(basename "$f")
    [ "$(sqlite3 "$db" "SELECT count(*) FROM shell_migrations WHERE name = '$n'")" = 0 ] || continue
    { echo "BEGIN;"; cat "$f"; echo "INSERT INTO shell_migrations VALUES ('$n'); COMMIT;"; } | sqlite3 -bail "$db"
  done
}
for s in $STORES; do
  if [ -n "${MIGRATE_COMMAND:-}" ]; then
    BOOTSEQ_STORE=$s BOOTSEQ_DATABASE=".demo/storage/$s.sqlite3" $MIGRATE_COMMAND "$s" >/dev/null
  else
    migrate "$s"
  fi
done

"$LS" replicate -config litestream.yml >.demo/logs/litestream.log 2>&1 &
ls_pid=$!
for s in $STORES; do
  while :; do
    gen=$(cat ".demo/storage/.$s.sqlite3-litestream/generation" 2>/dev/null || true)
    if [ -n "$gen" ] && ls ".demo/replica/$s/generations/$gen/snapshots/"*.snapshot.lz4 >/dev/null 2>&1; then break; fi
    kill -0 "$ls_pid" || { echo "litestream exited" >&2; exit 1; }
    sleep 0.05
  done
done

node examples/demo/worker.mjs >.demo/logs/worker.log 2>&1 &
worker_pid=$!
until grep -q 'worker started' .demo/logs/worker.log; do kill -0 "$worker_pid" || exit 1; sleep 0.05; done

PORT=$PORT node examples/demo/web.mjs >.demo/logs/web.log 2>&1 &
web_pid=$!
until curl -fs "http://127.0.0.1:$PORT/up" >/dev/null 2>&1; do kill -0 "$web_pid" || exit 1; sleep 0.05; done
echo "ready"

if [ "${UNTIL_READY:-0}" = 1 ]; then
  kill -TERM "$web_pid"; wait "$web_pid" || true
  kill -TERM "$worker_pid"; wait "$worker_pid" || true
  kill -TERM "$ls_pid"; wait "$ls_pid" || true
  exit 0
fi
wait
