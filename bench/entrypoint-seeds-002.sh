#!/bin/sh
# seeds/002's entrypoint as written, before its fix (docs/incidents.md#seeds-002), for the benchmark
# only: FAST AND WRONG. Phase 1 restores and migrates primary; phase 2 restores and migrates queue,
# cache and cable in the background; phase 3 starts `litestream replicate` at once, while those are still
# being restored and migrated (the race that logged `no such table: _litestream_seq`), then waits for
# them, starts the worker and the web server. It never waits for Litestream to take over a database.
# Readiness and the stop with UNTIL_READY=1 are bench/entrypoint.sh's, so the two time the same thing.
# Run in a copy of the demo project; LITESTREAM names the binary; each store is migrated by
# `$MIGRATE_COMMAND STORE` (with BOOTSEQ_STORE and BOOTSEQ_DATABASE), default the rails-like one.
set -eu
LS=${LITESTREAM:?set LITESTREAM to the litestream binary}
PORT=${DEMO_PORT:-3000}
MIGRATE=${MIGRATE_COMMAND:-node bench/fake-rails-migrate.mjs}
mkdir -p .demo/storage .demo/logs

prepare() {
  "$LS" restore -config litestream.yml -if-replica-exists -if-db-not-exists \
    -o ".demo/storage/$1.sqlite3" ".demo/storage/$1.sqlite3"
  BOOTSEQ_STORE=$1 BOOTSEQ_DATABASE=".demo/storage/$1.sqlite3" $MIGRATE "$1"
}

# Phase 1: the primary database, synchronously.
prepare primary >.demo/logs/prepare-primary.log 2>&1

# Phase 2: the other three in the background.
pids=""
for s in queue cache cable; do
  prepare "$s" >".demo/logs/prepare-$s.log" 2>&1 &
  pids="$pids $!"
done

# Phase 3: Litestream at once, then wait for the background work, then the app.
"$LS" replicate -config litestream.yml >.demo/logs/litestream.log 2>&1 &
ls_pid=$!
for p in $pids; do wait "$p"; done

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
