#!/usr/bin/env bash
# v05-f-v3-replica.sh: can Litestream v0.5.17 read a replica written by v0.3.13 (file and S3)? Restore
# from it (by URL, by config), list it (ltx), replicate on top of it (what lands where, and what a
# restore brings back afterwards), and the other way: v0.3.13 restoring a v0.5 replica (a downgrade).
# Findings: docs/litestream-v05.md F1–F5.   bash docs/litestream-lab/v05-f-v3-replica.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
# y3 DB REPLICA_YAML: a v0.3 config (replicas: list)
y3() { printf 'dbs:\n  - path: %s\n    replicas:\n%s\n' "$1" "$2"; }
rs5() { local rc=0; rm -f "$ROOT/out.db"*; timeout -s KILL 60 "$LS5" restore "$@" > rs.out 2>&1 || rc=$?; echo "exit $rc, rows $( [ -f "$ROOT/out.db" ] && count "$ROOT/out.db" || echo -), integrity $( [ -f "$ROOT/out.db" ] && sqlite3 "$ROOT/out.db" 'PRAGMA integrity_check' | head -1 || echo -): $(sed -E 's/^time=[^ ]+ //' rs.out | cut -c1-200 | tr '\n' '|')"; }
rs3() { local rc=0; rm -f "$ROOT/out.db"*; timeout -s KILL 60 "$LS3" restore "$@" > rs.out 2>&1 || rc=$?; echo "exit $rc, rows $( [ -f "$ROOT/out.db" ] && count "$ROOT/out.db" || echo -): $(sed -E 's/^time=[^ ]+ //' rs.out | cut -c1-200 | tr '\n' '|')"; }

echo "== F1. v0.3.13 writes a file replica (2 generations: a restart after the WAL was checkpointed away), 30 rows"
newdb v3.db 10; y3 "$ROOT/v3.db" "$(printf '      - type: file\n        path: %s/v3-r' "$ROOT")" > v3.yml
start a "$LS3" replicate -config v3.yml; sleep 2; sqlite3 v3.db "INSERT INTO t SELECT x+100 FROM t"; sleep 1.5; stop "$PID"
start b "$LS3" replicate -config v3.yml; sleep 2; sqlite3 v3.db "INSERT INTO t SELECT x+1000 FROM t LIMIT 10"; sleep 1.5; stop "$PID"
echo "live rows $(count v3.db); replica: $(cd v3-r && find . -type f | sed -E 's/[0-9a-f]{16}/G/' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
echo "v0.3 restore of it: $(rs3 -o "$ROOT/out.db" "file://$ROOT/v3-r")"

echo "== F2. v0.5.17 reads it"
echo "restore by URL:             $(rs5 -o "$ROOT/out.db" "file://$ROOT/v3-r")"
echo "restore, config replicas:   $(rs5 -config v3.yml -o "$ROOT/out.db" "$ROOT/v3.db")"
yml_file "$ROOT/v3.db" "$ROOT/v3-r" > v5.yml
echo "restore, config replica:    $(rs5 -config v5.yml -o "$ROOT/out.db" "$ROOT/v3.db")"
echo "restore -dry-run:"; "$LS5" restore -dry-run -o "$ROOT/out.db" "file://$ROOT/v3-r" 2>&1 | sed "s/^/   /" | cut -c1-160 || echo "   (exit ${PIPESTATUS[0]})"
echo "ltx -level all:"; "$LS5" ltx -level all "file://$ROOT/v3-r" 2>&1 | sed "s/^/   /" || echo "   (exit ${PIPESTATUS[0]})"

echo "== F3. v0.5.17 replicates the same database to the same replica (3 s, 5 more rows), then restore"
cp -a v3-r v3-r.before
start c "$LS5" replicate -config v5.yml; sleep 2; sqlite3 v3.db "INSERT INTO t VALUES(-1),(-2),(-3),(-4),(-5)"; sleep 1.5; stop "$PID"
grep -E 'ERROR|WARN|snapshot complete' c.log | sed -E 's/^time=[^ ]+ //' | cut -c1-200 || true
echo "local state beside the db: $(cd "$ROOT/.v3.db-litestream" && find . -maxdepth 2 | sort | tr '\n' ' ')"
echo "replica now: $(cd v3-r && find . -type f | sed -E 's/[0-9a-f]{16}/X/g' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
echo "v0.3 files untouched: $(diff -rq v3-r.before/generations v3-r/generations > /dev/null && echo yes || echo no)"
echo "live rows $(count v3.db); v0.5 restore: $(rs5 -o "$ROOT/out.db" "file://$ROOT/v3-r")"
echo "v0.3 restore now:  $(rs3 -o "$ROOT/out.db" "file://$ROOT/v3-r")"

echo "== F4. downgrade: v0.3.13 restoring a replica v0.5 wrote (no v0.3 files in it)"
newdb n5.db 12; yml_file "$ROOT/n5.db" "$ROOT/n5-r" > n5.yml
start d "$LS5" replicate -config n5.yml; wait_for d.log 'snapshot complete'; sleep 1; stop "$PID" > /dev/null
echo "v0.3 restore:                     $(rs3 -o "$ROOT/out.db" "file://$ROOT/n5-r")"
echo "v0.3 restore -if-replica-exists:  $(rs3 -if-replica-exists -o "$ROOT/out.db" "file://$ROOT/n5-r")"
echo "v0.3 replicate on that db and replica (2 s), then its restore:"
y3 "$ROOT/n5.db" "$(printf '      - type: file\n        path: %s/n5-r' "$ROOT")" > n3.yml
start e "$LS3" replicate -config n3.yml; sleep 2.5; stop "$PID"; grep -E 'ERROR|generation|snapshot written' e.log | sed -E 's/^time=[^ ]+ //' | cut -c1-160 || true
echo "   $(rs3 -o "$ROOT/out.db" "file://$ROOT/n5-r")"

echo "== F5. S3: v0.3.13 writes, v0.5.17 restores"
minio_start; mkbucket labbucket
newdb s3.db 25
y3 "$ROOT/s3.db" "$(printf '      - type: s3\n        bucket: labbucket\n        path: app\n        endpoint: %s\n        region: us-east-1\n        force-path-style: true\n        access-key-id: %s\n        secret-access-key: %s' "$S3_ENDPOINT" "$S3_KEY" "$S3_SECRET")" > s3v3.yml
start f "$LS3" replicate -config s3v3.yml; sleep 2.5; sqlite3 s3.db "INSERT INTO t VALUES(26)"; sleep 1.5; stop "$PID"
grep -E 'ERROR' f.log | cut -c1-200 || true
echo "bucket: $(s3ls labbucket app/ | sed -E 's/[0-9a-f]{16}/G/' | awk '{print $1}' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
yml_s3 "$ROOT/s3.db" labbucket app > s3v5.yml
echo "v0.5 restore (config replica:): $(rs5 -config s3v5.yml -o "$ROOT/out.db" "$ROOT/s3.db")"
echo "v0.5 restore (config replicas:, the v0.3 file): $(rs5 -config s3v3.yml -o "$ROOT/out.db" "$ROOT/s3.db")"
echo "observed: see above"
