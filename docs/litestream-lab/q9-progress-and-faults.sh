#!/usr/bin/env bash
# q9-progress-and-faults.sh: what Litestream v0.3.13 logs about progress (how far a replica has been
# written) and about faults (a read-only database mount, a full replica, an unreachable S3 endpoint,
# missing S3 credentials), what a restart on an unchanged database logs, and what logging.level: warn
# hides. Findings: docs/litestream.md Q9. Needs root (tmpfs mounts) and sqlite3.
#
#   LITESTREAM=path/to/litestream ./q9-progress-and-faults.sh
set -uo pipefail
LS=${LITESTREAM:?set LITESTREAM to the litestream binary}
ROOT=$(mktemp -d -t lsq9.XXXXXX)
cleanup() {
  for m in "$ROOT"/ro "$ROOT"/full; do mountpoint -q "$m" && umount -l "$m"; done
  [ -n "${KEEP:-}" ] || rm -rf "$ROOT"
}
trap cleanup EXIT
cd "$ROOT" || exit 1

# replicate CONFIG SECONDS: runs litestream, then SIGTERM; its output in CONFIG.log
replicate() { "$LS" replicate -config "$1" > "$1.log" 2>&1 & local pid=$!; sleep "$2"; kill -TERM $pid; wait $pid; echo "exit $?" >> "$1.log"; }
yml() { printf 'dbs:\n  - path: %s\n    replicas:\n%s\n' "$1" "$2" > "$3"; }
file_replica() { printf '      - type: file\n        path: %s' "$1"; }

echo "== 1. progress: wal segment written = position + sz; the shadow WAL's size is the end"
sqlite3 p.db "PRAGMA journal_mode=wal; CREATE TABLE t(x);" >/dev/null
yml "$ROOT/p.db" "$(file_replica "$ROOT/p-replica")" p.yml
"$LS" replicate -config p.yml > p.yml.log 2>&1 & PID=$!
sleep 2.5
for i in 1 2 3; do sqlite3 p.db "INSERT INTO t VALUES ($i)"; sleep 0.3; done
sleep 2
echo "wal file: $(stat -c %s p.db-wal) bytes; shadow: $(stat -c %s .p.db-litestream/generations/*/wal/*.wal) bytes"
kill -TERM $PID; wait $PID
grep -E 'segment|snapshot' p.yml.log

echo "== 2. restart on an unchanged database whose WAL was kept: nothing about the db is logged"
sqlite3 k.db "PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES (1);" >/dev/null
yml "$ROOT/k.db" "$(file_replica "$ROOT/k-replica")" k.yml
# A reader keeps the WAL from being checkpointed away on close, as a running app would.
sqlite3 k.db "BEGIN; SELECT count(*) FROM t;" >/dev/null
replicate k.yml 2.5; mv k.yml.log k1.log
(sleep 6 | sqlite3 k.db "SELECT 1;" >/dev/null) & HOLD=$!
replicate k.yml 3; kill $HOLD 2>/dev/null
echo "second run, lines about the db: $(grep -c 'db=' k.yml.log)"
echo "   then with _litestream_seq bumped first:"
sqlite3 k.db "INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1"
replicate k.yml 3; grep -E 'written' k.yml.log

echo "== 3. databases on a read-only mount"
mkdir ro; mount -t tmpfs -o size=4m tmpfs ro
sqlite3 ro/db.sqlite3 "PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES(1);" >/dev/null
yml "$ROOT/ro/db.sqlite3" "$(file_replica "$ROOT/ro-replica")" ro.yml
replicate ro.yml 2.5; mount -o remount,ro ro; replicate ro.yml 3; cut -c1-240 ro.yml.log

echo "== 4. a full replica at boot"
mkdir full; mount -t tmpfs -o size=64k tmpfs full; dd if=/dev/zero of=full/fill bs=4k 2>/dev/null
sqlite3 f.db "PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES(randomblob(20000));" >/dev/null
yml "$ROOT/f.db" "$(file_replica "$ROOT/full/replica")" f.yml
replicate f.yml 3; cut -c1-240 f.yml.log

echo "== 5. an S3 replica on a closed port, and one without credentials"
sqlite3 s.db "PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES(1);" >/dev/null
yml "$ROOT/s.db" "$(printf '      - type: s3\n        bucket: b\n        path: p\n        endpoint: http://127.0.0.1:1\n        region: us-east-1\n        force-path-style: true\n        access-key-id: x\n        secret-access-key: y')" s.yml
replicate s.yml 4; cut -c1-240 s.yml.log
yml "$ROOT/s.db" "$(printf '      - type: s3\n        bucket: b\n        path: p\n        region: us-east-1')" c.yml
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u LITESTREAM_ACCESS_KEY_ID -u LITESTREAM_SECRET_ACCESS_KEY \
  bash -c "$(declare -f replicate); LS='$LS'; replicate c.yml 8"; cut -c1-240 c.yml.log

echo "== 6. logging.level: warn hides every INFO line"
printf 'logging:\n  level: warn\n' > w.yml; yml "$ROOT/p.db" "$(file_replica "$ROOT/w-replica")" w.tmp; cat w.tmp >> w.yml
replicate w.yml 2.5; sqlite3 p.db "INSERT INTO t VALUES (9)"; echo "lines: $(grep -c . w.yml.log)"; cat w.yml.log
