#!/usr/bin/env bash
# v05-c-faults.sh: Litestream v0.5.17 under faults: frozen (SIGSTOP), a full replica disk (at boot and
# while running), a read-only replica (at boot and remounted while running), an S3 replica whose
# server stops (and comes back), wrong/missing credentials, a missing bucket, a closed port, and
# AWS_CA_BUNDLE set. For each: the log lines (first ERROR and when), /metrics, exit at SIGTERM.
# Needs root (tmpfs mounts).   Findings: docs/litestream-v05.md C1–C7.
#   bash docs/litestream-lab/v05-c-faults.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
ADDR=$(printf 'addr: 127.0.0.1:%s\n' "$PORT")
metrics() { curl -s -m 2 "http://127.0.0.1:$PORT/metrics" | grep -E '^litestream_(txid|sync_count|sync_error|disk_full|replica_operation_errors|replica_operation_total)' | sed "s|$ROOT/||" | tr '\n' ' ' || echo "(no answer in 2 s)"; echo; }
rtx() { ls "$1/ltx/0" 2>/dev/null | tail -1 | cut -d- -f2 | cut -d. -f1; }
# errs LOG T0: the distinct ERROR/WARN messages, with ms from T0 to the first of each
errs() { python3 - "$1" "$2" <<'PY'
import sys,re,datetime
t0=int(sys.argv[2])/1e9; seen={}
for l in open(sys.argv[1]):
    m=re.match(r'time=(\S+) level=(ERROR|WARN) (.*)',l)
    if not m: continue
    key=re.sub(r'(RequestID|HostID): [^,]+','\\1: …',m.group(3))
    key=re.sub(r' (attempts|consecutive_errors)=\d+| (backoff|duration|elapsed|remaining)=\S+','',key)
    k2=key[:250]
    t=datetime.datetime.fromisoformat(m.group(1).replace('Z','+00:00')).timestamp()
    if k2 not in seen: seen[k2]=[t,0]
    seen[k2][1]+=1
for k,(t,n) in seen.items(): print(f"   first at +{int((t-t0)*1000)} ms, ×{n}: {k}")
if not seen: print("   no ERROR/WARN line")
PY
}

# C6b runs in the background from the start: an S3 endpoint on a closed port, watched for ~60 s
newdb cp.db 1
printf 'dbs:\n  - path: %s/cp.db\n    replica:\n      type: s3\n      bucket: labbucket\n      path: x\n      endpoint: http://127.0.0.1:1\n      region: us-east-1\n      force-path-style: true\n      access-key-id: a\n      secret-access-key: b\n' "$ROOT" > cp.yml
CP_T0=$(date +%s%N); start cp "$LS5" replicate -config cp.yml; CP_PID=$PID

echo "== C1. frozen (SIGSTOP) for 3 s with 3 writes, then SIGCONT"
newdb fz.db 1; yml_file "$ROOT/fz.db" "$ROOT/fz-r" "$ADDR" > fz.yml
start fz "$LS5" replicate -config fz.yml; wait_for fz.log 'snapshot complete'; sleep 1
echo "before: $(metrics)"; kill -STOP "$PID"; t0=$(date +%s%N)
for i in 1 2 3; do sqlite3 fz.db "INSERT INTO t VALUES($i)"; done; sleep 3
echo "frozen, 3 s: metrics $(metrics)   log lines since freeze: $(awk -v n="$(wc -l < fz.log)" 'NR>n' fz.log | wc -l); replica TXID $(rtx fz-r); db wal $(stat -c %s fz.db-wal)"
kill -CONT "$PID"; sleep 2; echo "resumed 2 s: $(metrics)   replica TXID $(rtx fz-r)"; stop "$PID"; errs fz.log "$t0"

echo "== C2. full replica disk at boot (64 kB tmpfs, filled)"
mkdir full; mount -t tmpfs -o size=64k tmpfs full; MOUNTS+=("$ROOT/full"); dd if=/dev/zero of=full/fill bs=4k 2>/dev/null || true
newdb fb.db 1; sqlite3 fb.db "INSERT INTO t VALUES(randomblob(30000))"; yml_file "$ROOT/fb.db" "$ROOT/full/r" "$ADDR" > fb.yml
t0=$(date +%s%N); start fb "$LS5" replicate -config fb.yml; sleep 3; echo "metrics: $(metrics)"; stop "$PID"; errs fb.log "$t0"

echo "== C3. replica disk fills while running (256 kB tmpfs; 20 writes of 8 kB after it is full)"
mkdir full2; mount -t tmpfs -o size=256k tmpfs full2; MOUNTS+=("$ROOT/full2")
newdb fr.db 1; yml_file "$ROOT/fr.db" "$ROOT/full2/r" "$ADDR$(printf '\nshutdown-sync-timeout: 2s')" > fr.yml
start fr "$LS5" replicate -config fr.yml; wait_for fr.log 'snapshot complete'; sleep 0.5
dd if=/dev/zero of=full2/fill bs=4k 2>/dev/null || true; t0=$(date +%s%N); txb=$(rtx full2/r)
for i in $(seq 1 20); do sqlite3 fr.db "INSERT INTO t VALUES(randomblob(8000))"; sleep 0.1; done; sleep 2
echo "replica TXID before $txb, after $(rtx full2/r); metrics: $(metrics)"; stop "$PID"; errs fr.log "$t0"

echo "== C4. read-only replica: at boot, and remounted read-only while running"
mkdir ro; mount -t tmpfs -o size=4m tmpfs ro; MOUNTS+=("$ROOT/ro"); mkdir ro/r-boot; mount -o remount,ro ro
newdb rb.db 1; yml_file "$ROOT/rb.db" "$ROOT/ro/r-boot" > rb.yml
t0=$(date +%s%N); start rb "$LS5" replicate -config rb.yml; sleep 3
echo "SIGTERM, and a second SIGTERM 1 s later:"; kill -TERM "$PID"; sleep 1; stop "$PID"; errs rb.log "$t0"
mount -o remount,rw ro; newdb rr.db 1; yml_file "$ROOT/rr.db" "$ROOT/ro/r-run" "$ADDR$(printf '\nshutdown-sync-timeout: 2s')" > rr.yml
start rr "$LS5" replicate -config rr.yml; wait_for rr.log 'snapshot complete'; sleep 0.5
mount -o remount,ro ro; t0=$(date +%s%N); for i in 1 2 3; do sqlite3 rr.db "INSERT INTO t VALUES($i)"; sleep 0.3; done; sleep 3
echo "metrics: $(metrics)"; stop "$PID"; errs rr.log "$t0"

echo "== C5. S3: the server stops while replicating (12 s, 3 writes), then comes back (8 s)"
minio_start; mkbucket labbucket
newdb s.db 1; yml_s3 "$ROOT/s.db" labbucket s "$ADDR" > s.yml
start s "$LS5" replicate -config s.yml; SPID=$PID; wait_for s.log 'snapshot complete'; sleep 1.5
echo "replica before: $(s3ls labbucket s/ | tr '\n' ' ')"
minio_stop; t0=$(date +%s%N); for i in 1 2 3; do sqlite3 s.db "INSERT INTO t VALUES($i)"; sleep 0.3; done; sleep 12
echo "metrics 12 s down: $(metrics)"; minio_start; sleep 8
echo "metrics 8 s after it is back: $(metrics)"; echo "replica after: $(s3ls labbucket s/ | tr '\n' ' ')"; stop "$SPID"; errs s.log "$t0"
grep -E 'recovered' s.log | sed -E 's/^time=[^ ]+ //' | cut -c1-160 || true

s3case() { # NAME ENV… -- YAML
  local n=$1; shift; local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  printf '%s' "$1" > "$n.yml"; local t0 rc=0; t0=$(date +%s%N)
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u LITESTREAM_ACCESS_KEY_ID -u LITESTREAM_SECRET_ACCESS_KEY "${envs[@]}" \
    timeout -s TERM 4 "$LS5" replicate -config "$n.yml" > "$n.log" 2>&1 || rc=$?
  echo "-- $n: exit $rc (124 = still running after 4 s)"; errs "$n.log" "$t0"; grep -E '^Error' "$n.log" | cut -c1-200 || true
}
s3yml() { printf 'dbs:\n  - path: %s/s.db\n    replica:\n      type: s3\n      bucket: %s\n      path: x\n      endpoint: %s\n      region: us-east-1\n      force-path-style: true\n%s' "$ROOT" "$1" "$2" "$3"; }
echo "== C6. S3 credentials, bucket, endpoint"
s3case wrong-secret -- "$(s3yml labbucket "$S3_ENDPOINT" "$(printf '      access-key-id: %s\n      secret-access-key: wrong\n' "$S3_KEY")")"
s3case no-credentials -- "$(s3yml labbucket "$S3_ENDPOINT" "")"
s3case missing-bucket -- "$(s3yml nosuchbucket "$S3_ENDPOINT" "$(printf '      access-key-id: %s\n      secret-access-key: %s\n' "$S3_KEY" "$S3_SECRET")")"
echo "-- closed port (http://127.0.0.1:1), started with the script, $(( ($(date +%s%N) - CP_T0) / 1000000000 )) s ago:"; stop "$CP_PID"; errs cp.log "$CP_T0"
echo "== C7. AWS_CA_BUNDLE set (to the system bundle), otherwise a good S3 config"
s3case ca-bundle AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -- "$(s3yml labbucket "$S3_ENDPOINT" "$(printf '      access-key-id: %s\n      secret-access-key: %s\n' "$S3_KEY" "$S3_SECRET")")"
echo "observed: see above"
