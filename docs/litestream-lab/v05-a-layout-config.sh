#!/usr/bin/env bash
# v05-a-layout-config.sh: Litestream v0.5.17, what it writes beside the database and to a file and an
# S3 (MinIO) replica, which config shapes it accepts (replica:, replicas:, url:, two replicas), the
# command-line mode, -exec, the CLI commands that list a replica (ltx/wal/snapshots/generations/
# status/databases), `version` of both binaries, and the heartbeat keys.
# Findings: docs/litestream-v05.md A1–A6, I1, J1.   bash docs/litestream-lab/v05-a-layout-config.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"

echo "== A0. version probe"
echo "v0.5: \`$("$LS5" version)\`   v0.3: \`$("$LS3" version)\`"

echo "== A1. file replica: what is written beside the db and to the replica (2.5 s, 2 writes, SIGTERM)"
newdb app.db 3
yml_file "$ROOT/app.db" "$ROOT/replica" > f.yml
start f "$LS5" replicate -config f.yml; sleep 2.5
sqlite3 app.db "INSERT INTO t VALUES(4)"; sleep 1.2; sqlite3 app.db "INSERT INTO t VALUES(5)"; sleep 1.2
stop "$PID"
echo "-- beside the db:"; ls -a "$ROOT" | grep -E '^\.?app' | tr '\n' ' '; echo; tree "$ROOT/.app.db-litestream"
echo "-- replica:"; tree "$ROOT/replica"
echo "-- tables Litestream created: $(sqlite3 app.db "SELECT group_concat(name,' ') FROM sqlite_master WHERE name LIKE '_litestream%'")"
echo "-- rows: $(sqlite3 app.db 'SELECT * FROM _litestream_seq' 2>&1) (seq) / $(sqlite3 app.db 'SELECT count(*) FROM _litestream_lock' 2>&1) (lock rows)"
echo "-- INFO lines:"; slog f.log

echo "== A2. S3 replica (MinIO)"
minio_start; mkbucket labbucket
newdb s3.db 3; yml_s3 "$ROOT/s3.db" labbucket some/prefix > s.yml
start s "$LS5" replicate -config s.yml; sleep 2.5; sqlite3 s3.db "INSERT INTO t VALUES(4)"; sleep 1.5; stop "$PID"
s3ls labbucket
echo "-- ERROR lines: $(grep -c 'level=ERROR' s.log || true)"

echo "== A3. config shapes (each run 2 s)"
shape() { # NAME YAML
  printf '%s' "$2" > "$1.yml"; rm -rf "$ROOT/r-$1"
  local rc=0; timeout -s TERM 2 "$LS5" replicate -config "$1.yml" > "$1.log" 2>&1 || rc=$?
  printf '%-26s exit %-3s ' "$1" "$rc"
  local e; e=$(grep -E 'Error|level=(ERROR|WARN)' "$1.log" | head -1 | sed -E 's/^time=[^ ]+ //' | cut -c1-170 || true)
  echo "${e:-no error line}; replica: $(find "$ROOT/r-$1" -name '*.ltx' 2>/dev/null | wc -l) ltx files"
}
shape replicas-list-one "$(printf 'dbs:\n  - path: %s/app.db\n    replicas:\n      - type: file\n        path: %s/r-replicas-list-one\n' "$ROOT" "$ROOT")"
shape replicas-list-two "$(printf 'dbs:\n  - path: %s/app.db\n    replicas:\n      - path: %s/r-replicas-list-two\n      - path: %s/r-two-b\n' "$ROOT" "$ROOT" "$ROOT")"
shape replica-and-replicas "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      path: %s/r-replica-and-replicas\n    replicas:\n      - path: %s/r-x\n' "$ROOT" "$ROOT" "$ROOT")"
shape replica-url "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      url: file://%s/r-replica-url\n' "$ROOT" "$ROOT")"
shape replica-path-no-type "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      path: %s/r-replica-path-no-type\n' "$ROOT" "$ROOT")"
shape no-replica "$(printf 'dbs:\n  - path: %s/app.db\n' "$ROOT")"
shape unknown-key "$(printf 'dbs:\n  - path: %s/app.db\n    sync_interval: 1s\n    replica:\n      path: %s/r-unknown-key\n' "$ROOT" "$ROOT")"
shape v03-snapshot-interval "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      path: %s/r-v03-snapshot-interval\n      snapshot-interval: 1h\n      retention: 24h\n' "$ROOT" "$ROOT")"
shape duration-no-unit "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      path: %s/r-duration-no-unit\n      sync-interval: 5\n' "$ROOT" "$ROOT")"
shape unset-var "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      path: %s/r-unset-var${LAB_UNSET_VAR}\n' "$ROOT" "$ROOT")"
shape var-default "$(printf 'dbs:\n  - path: %s/app.db\n    replica:\n      path: %s/r-var-default${LAB_UNSET_VAR:-x}\n' "$ROOT" "$ROOT")"
ls -d "$ROOT"/r-var-default* 2>/dev/null | sed "s|$ROOT/|      var-default wrote to: |" || true
shape absent-db "$(printf 'dbs:\n  - path: %s/absent.db\n    replica:\n      path: %s/r-absent-db\n' "$ROOT" "$ROOT")"

echo "== A4. command-line mode: replicate DB URL (no config)"
rc=0; timeout -s TERM 2 "$LS5" replicate "$ROOT/app.db" "file://$ROOT/r-cli" > cli.log 2>&1 || rc=$?
echo "exit $rc; ltx files: $(find "$ROOT/r-cli" -name '*.ltx' 2>/dev/null | wc -l); errors: $(grep -c ERROR cli.log || true)"

echo "== A5. -exec: the child writes a row and exits 0 / exits 3 right after"
for code in 0 3; do
  newdb ex$code.db 1; yml_file "$ROOT/ex$code.db" "$ROOT/r-ex$code" > ex$code.yml
  rc=0; "$LS5" replicate -config ex$code.yml -exec "sh -c 'sleep 2; sqlite3 $ROOT/ex$code.db \"INSERT INTO t VALUES(2)\"; exit $code'" > ex$code.log 2>&1 || rc=$?
  "$LS5" restore -o "$ROOT/ex$code-restored.db" "file://$ROOT/r-ex$code" > /dev/null 2>&1 || true
  echo "child exit $code: litestream exit $rc, restored rows $(count "$ROOT/ex$code-restored.db") of 2; lines: $(sed -E 's/^time=[^ ]+ //' ex$code.log | grep -vE 'starting|initialized|replicating to|version' | cut -c1-120 | tr '\n' '|')"
done

echo "-- SIGTERM to Litestream; the child writes a row in its TERM handler and exits 143"
newdb ext.db 1; yml_file "$ROOT/ext.db" "$ROOT/r-ext" > ext.yml
start ext "$LS5" replicate -config ext.yml -exec "sh -c 'trap \"sqlite3 $ROOT/ext.db \\\"INSERT INTO t VALUES(2)\\\"; exit 143\" TERM; while :; do sleep 0.1; done'"
sleep 2.5; stop "$PID"
"$LS5" restore -o "$ROOT/ext-restored.db" "file://$ROOT/r-ext" > /dev/null 2>&1 || true
echo "restored rows $(count "$ROOT/ext-restored.db") of $(count "$ROOT/ext.db"); lines: $(sed -E 's/^time=[^ ]+ //' ext.log | grep -vE 'starting|initialized|replicating to|version' | cut -c1-120 | tr '\n' '|')"

echo "== A6/I1. CLI commands on the replica (file replica of A1 via config, and by URL)"
for c in ltx wal snapshots generations status databases; do
  echo "-- litestream $c -config f.yml $ROOT/app.db"; rc=0; "$LS5" $c -config f.yml "$ROOT/app.db" > c.out 2>&1 || rc=$?; sed 's/^/   /' c.out | head -8; echo "   (exit $rc)"
done
echo "-- litestream databases -config f.yml"; "$LS5" databases -config f.yml 2>&1 | sed 's/^/   /'
echo "-- litestream ltx -level all file://…/replica"; "$LS5" ltx -level all "file://$ROOT/replica" 2>&1 | sed 's/^/   /'
echo "-- litestream ltx -level all s3 (config)"; "$LS5" ltx -level all -config s.yml "$ROOT/s3.db" 2>&1 | sed 's/^/   /'
echo "-- litestream ltx on an empty replica dir / a missing one"
mkdir -p empty-replica; for u in "file://$ROOT/empty-replica" "file://$ROOT/missing-replica"; do rc=0; "$LS5" ltx "$u" > c.out 2>&1 || rc=$?; echo "   $u: exit $rc: $(head -c 200 c.out | tr '\n' '|')"; done
echo "-- v0.3 commands for comparison: $("$LS3" 2>&1 | grep -E '^\s+(generations|snapshots|wal|ltx)' | awk '{print $1}' | tr '\n' ' ')"

echo "== J1. heartbeat (heartbeat-url, heartbeat-interval): a local HTTP listener for 18 s"
HB_PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
python3 -c '
import http.server,sys,time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print(time.strftime("%H:%M:%S"),self.command,self.path,flush=True); self.send_response(200); self.end_headers()
    def log_message(self,*a): pass
http.server.HTTPServer(("127.0.0.1",int(sys.argv[1])),H).serve_forever()' "$HB_PORT" > hb-server.log 2>&1 &
PIDS+=($!)
printf 'heartbeat-url: http://127.0.0.1:%s/ping\nheartbeat-interval: 30s\n' "$HB_PORT" > hb30.yml; yml_file "$ROOT/app.db" "$ROOT/r-hb" >> hb30.yml
rc=0; timeout -s TERM 2 "$LS5" replicate -config hb30.yml > hb30.log 2>&1 || rc=$?; echo "heartbeat-interval: 30s -> exit $rc: $(grep -m1 -iE 'error' hb30.log | cut -c1-160)"
printf 'heartbeat-url: http://127.0.0.1:%s/ping\nheartbeat-interval: 1m\n' "$HB_PORT" > hb.yml; yml_file "$ROOT/app.db" "$ROOT/r-hb" >> hb.yml
echo "start $(date +%H:%M:%S)"; start hb "$LS5" replicate -config hb.yml; sleep 18; stop "$PID"
echo "-- listener got:"; cat hb-server.log; echo "-- heartbeat lines:"; grep -i heartbeat hb.log | sed -E 's/^time=[^ ]+ //'
echo "observed: see above (no PASS/FAIL: this script records what v0.5.17 does)"
