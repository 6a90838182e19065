#!/usr/bin/env bash
# v05-e-restore.sh: `litestream restore` of v0.5.17 from a good, missing, empty, truncated (an LTX file
# cut in half: the snapshot, the last L0) and foreign replica (file), and from S3 (good, empty prefix,
# missing bucket): exit codes, messages, -if-replica-exists, -if-db-not-exists, -force, -dry-run,
# -json, -integrity-check, parent folders, leftovers, whether the replica is modified, whether the
# copy is byte-identical.   Findings: docs/litestream-v05.md E1–E8.
#   bash docs/litestream-lab/v05-e-restore.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum | md5sum | cut -c1-12); }
# rs NAME ARGS…: runs restore, prints exit, output (one line), files left in out/
rs() {
  local n=$1; shift; rm -rf out; mkdir -p out; local rc=0 t0; t0=$(date +%s%N)
  timeout -s KILL "${RS_TIMEOUT:-60}" "$LS5" restore "$@" > rs.out 2>&1 || rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  local o; o=$(sed -E 's/^time=[^ ]+ //' rs.out | grep -vE '^\s*$' | sed "s|$ROOT/||g" | cut -c1-190 | tr '\n' '|' || true)
  local f; f=$(cd out && find . -type f -printf '%p ' 2>/dev/null)
  local rows="-"; [ -f out/x.db ] && rows="$(count out/x.db) rows, integrity $(sqlite3 out/x.db 'PRAGMA integrity_check' 2>&1 | head -1)"
  printf '%-34s exit %s (%s ms) | %s\n    %s | out/: %s\n' "$n" "$rc" "$ms" "$rows" "${o:-(no output)}" "${f:-(empty)}"
}

echo "== setup: good.db (100 rows + 20 single-row commits) replicated to a file replica, stopped"
newdb good.db 100; yml_file "$ROOT/good.db" "$ROOT/good-r" > good.yml
start g "$LS5" replicate -config good.yml; wait_for g.log 'snapshot complete'
for i in $(seq 1 20); do sqlite3 good.db "INSERT INTO t VALUES(1000+$i)"; sleep 0.05; done; sleep 1.5; stop "$PID"
echo "live rows $(count good.db); replica:"; tree good-r | tr '\n' ' '; echo
newdb other.db 7; yml_file "$ROOT/other.db" "$ROOT/other-r" > other.yml
start o "$LS5" replicate -config other.yml; wait_for o.log 'snapshot complete'; sleep 1.2; stop "$PID" > /dev/null
GOOD_SUM=$(sum good-r)

echo "== E1. good replica"
rs "url, -o out/x.db" -o out/x.db "file://$ROOT/good-r"
sqlite3 good.db "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
echo "    byte-identical to the live file after a checkpoint: $(cmp -s good.db out/x.db && echo yes || echo "no ($(cmp good.db out/x.db 2>&1 | head -1))")"
echo "    .dump identical: $([ "$(sqlite3 good.db .dump | grep -v _litestream | md5sum)" = "$(sqlite3 out/x.db .dump | grep -v _litestream | md5sum)" ] && echo yes || echo no); tables: $(sqlite3 out/x.db "SELECT group_concat(name,' ') FROM sqlite_master"); journal_mode $(sqlite3 out/x.db 'PRAGMA journal_mode'); mode $(stat -c %a out/x.db)"
rs "config + db path (bootseq's form)" -config good.yml -if-replica-exists -if-db-not-exists -o out/x.db "$ROOT/good.db"
rs "parent folders missing" -o out/a/b/c/x.db "file://$ROOT/good-r"; ls -R out | tr '\n' ' '; echo
rs "-json" -json -o out/x.db "file://$ROOT/good-r"
rs "-integrity-check full" -integrity-check full -o out/x.db "file://$ROOT/good-r"
rs "-dry-run" -dry-run -o out/x.db "file://$ROOT/good-r"
rs "-txid 0000000000000003" -txid 0000000000000003 -o out/x.db "file://$ROOT/good-r"

echo "== E2. output exists"
rm -rf out2; mkdir out2; sqlite3 out2/x.db "CREATE TABLE keep(x)"
for f in "" "-if-db-not-exists" "-force"; do rc=0; "$LS5" restore $f -o out2/x.db "file://$ROOT/good-r" > rs.out 2>&1 || rc=$?
  echo "output exists, flags '${f}': exit $rc: $(head -c 200 rs.out | tr '\n' '|'); tables now: $(sqlite3 out2/x.db "SELECT group_concat(name,' ') FROM sqlite_master")"; done

echo "== E3. missing and empty replicas"
mkdir empty-r
rs "missing dir" -o out/x.db "file://$ROOT/missing-r"
rs "missing dir -if-replica-exists" -if-replica-exists -o out/x.db "file://$ROOT/missing-r"
rs "empty dir" -o out/x.db "file://$ROOT/empty-r"
rs "empty dir -if-replica-exists" -if-replica-exists -o out/x.db "file://$ROOT/empty-r"
mkdir -p ltxonly-r/ltx/0
rs "ltx/0 folder, no files" -o out/x.db "file://$ROOT/ltxonly-r"
rs "-dry-run, empty dir" -dry-run -o out/x.db "file://$ROOT/empty-r"
printf 'dbs:\n  - path: %s/cfg.db\n    replica:\n      path: ${LAB_UNSET}/nowhere\n' "$ROOT" > unset.yml
rs "config, replica path \${UNSET}/nowhere" -if-replica-exists -config unset.yml -o out/x.db "$ROOT/cfg.db"
rs "config, db not in it" -config good.yml -o out/x.db "$ROOT/nope.db"

echo "== E4. truncated replicas (a copy; the file cut in half)"
for victim in "ltx/9/$(ls good-r/ltx/9 | head -1)" "ltx/0/$(ls good-r/ltx/0 | tail -1)" "ltx/0/$(ls good-r/ltx/0 | head -1)"; do
  rm -rf cut-r; cp -a good-r cut-r; sz=$(stat -c %s "cut-r/$victim"); truncate -s $((sz / 2)) "cut-r/$victim"; before=$(sum cut-r)
  rs "cut $victim" -o out/x.db "file://$ROOT/cut-r"
  echo "    replica changed by the failed restore: $([ "$(sum cut-r)" = "$before" ] && echo no || echo yes)"
done
rm -rf cut-r; cp -a good-r cut-r; f="cut-r/ltx/0/$(ls good-r/ltx/0 | tail -1)"; printf 'garbage' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
rs "7 bytes overwritten in the last L0" -o out/x.db "file://$ROOT/cut-r"
rm -rf cut-r; cp -a good-r cut-r; rm "cut-r/ltx/0/$(ls good-r/ltx/0 | sed -n 2p)"
rs "the 2nd of 3 L0 files removed" -o out/x.db "file://$ROOT/cut-r"

echo "== E5. foreign replica: good.db's config pointing at other.db's replica"
printf 'dbs:\n  - path: %s/good.db\n    replica:\n      type: file\n      path: %s/other-r\n' "$ROOT" "$ROOT" > foreign.yml
rs "foreign" -config foreign.yml -o out/x.db "$ROOT/good.db"

echo "== E6. S3"
minio_start; mkbucket labbucket
newdb s3.db 50; yml_s3 "$ROOT/s3.db" labbucket app > s3.yml
start s "$LS5" replicate -config s3.yml; wait_for s.log 'snapshot complete'; sqlite3 s3.db "INSERT INTO t VALUES(51)"; sleep 1.5; stop "$PID" > /dev/null
rs "s3 good (config)" -config s3.yml -o out/x.db "$ROOT/s3.db"
yml_s3 "$ROOT/s3.db" labbucket empty-prefix > s3e.yml
rs "s3 empty prefix" -config s3e.yml -o out/x.db "$ROOT/s3.db"
rs "s3 empty prefix -if-replica-exists" -if-replica-exists -config s3e.yml -o out/x.db "$ROOT/s3.db"
yml_s3 "$ROOT/s3.db" nosuchbucket app > s3b.yml
rs "s3 missing bucket -if-replica-exists" -if-replica-exists -config s3b.yml -o out/x.db "$ROOT/s3.db"
sed 's/secret-access-key: .*/secret-access-key: wrong/' s3.yml > s3w.yml
rs "s3 wrong secret -if-replica-exists" -if-replica-exists -config s3w.yml -o out/x.db "$ROOT/s3.db"
minio_stop
RS_TIMEOUT=20 rs "s3 server down -if-replica-exists (killed at 20 s)" -if-replica-exists -config s3.yml -o out/x.db "$ROOT/s3.db"
echo "good replica unchanged by all this: $([ "$(sum good-r)" = "$GOOD_SUM" ] && echo yes || echo no)"
echo "observed: see above"
