# v05-lib.sh: shared helpers for the v05-*.sh lab scripts (sourced, not run). Sets LS5 (Litestream
# v0.5.17), LS3 (v0.3.13) and MINIO from scripts/peers.sh unless given; makes $ROOT (a temp dir,
# removed at exit unless KEEP=1) and cleans up every process it started (by PID) and every mount.
HERE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE_LIB/../.." && pwd)
LS5=${LITESTREAM5:-$(bash "$REPO/scripts/peers.sh" where litestream5)}
LS3=${LITESTREAM:-$(bash "$REPO/scripts/peers.sh" where litestream)}
MINIO=${MINIO:-$(bash "$REPO/scripts/peers.sh" where s3 2>/dev/null || true)}
# v0.5.17's S3 client refuses to start when AWS_CA_BUNDLE is set (v05-c-faults.sh shows it): the lab
# runs without it; a plain http MinIO needs no CA.
unset AWS_CA_BUNDLE
ROOT=$(mktemp -d -t lsv05.XXXXXX)
PIDS=()
MOUNTS=()
lab_cleanup() {
  disown -a 2>/dev/null || true
  local p
  set +e
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  for p in "${MOUNTS[@]}"; do mountpoint -q "$p" && umount -l "$p"; done
  cd /
  if [ -n "${KEEP:-}" ]; then echo "kept $ROOT"; else rm -rf "$ROOT"; fi
}
trap lab_cleanup EXIT
cd "$ROOT"

# start NAME CMD…: runs CMD in the background, output in NAME.log; its PID in $PID and PIDS
start() { local n=$1; shift; "$@" > "$n.log" 2>&1 & PID=$!; PIDS+=("$PID"); }
# stop PID: SIGTERM, wait; prints "exit N ms M"
stop() { local t0; t0=$(date +%s%N); kill -TERM "$1" 2>/dev/null || true; local rc=0; wait "$1" || rc=$?; echo "exit $rc ms $(( ($(date +%s%N) - t0) / 1000000 ))"; }
# newdb PATH [ROWS]: a WAL database with table t(x) and ROWS rows
newdb() { sqlite3 "$1" "PRAGMA journal_mode=wal; CREATE TABLE t(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < ${2:-1}) INSERT INTO t SELECT i FROM c;" > /dev/null; }
count() { sqlite3 "$1" "SELECT count(*) FROM t" 2>&1; }
# yml_file DB REPLICA_DIR [extra top-level yaml]: a v0.5 config with one file replica (replica:)
yml_file() { [ -z "${3:-}" ] || printf '%s\n' "$3"; printf 'dbs:\n  - path: %s\n    replica:\n      type: file\n      path: %s\n' "$1" "$2"; }
# tree DIR: the files under DIR with sizes
tree() { (cd "$1" && find . -type f -printf '%p %s\n' | sort); }
# slog FILE: the log lines without their timestamps, cut to 260 characters
slog() { sed -E 's/^time=[^ ]+ //' "$1" | cut -c1-260; }

# ---- MinIO (S3) ----
S3_KEY=lab-key; S3_SECRET=lab-secret-123
minio_start() {
  [ -x "$MINIO" ] || { echo "MinIO not installed: bash scripts/peers.sh install s3"; exit 1; }
  S3_PORT=${S3_PORT:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}
  S3_ENDPOINT=http://127.0.0.1:$S3_PORT
  MINIO_ROOT_USER=$S3_KEY MINIO_ROOT_PASSWORD=$S3_SECRET MINIO_BROWSER=off MINIO_UPDATE=off HOME=$ROOT \
    "$MINIO" server --quiet --address "127.0.0.1:$S3_PORT" "$ROOT/minio-data" >> "$ROOT/minio.log" 2>&1 &
  MINIO_PID=$!; PIDS+=("$MINIO_PID")
  local i; for i in $(seq 1 300); do
    [ "$(s3curl -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/")" = 200 ] && return 0; sleep 0.1
  done; echo "minio did not start"; cat "$ROOT/minio.log"; exit 1
}
minio_stop() { kill -TERM "$MINIO_PID"; wait "$MINIO_PID" 2>/dev/null || true; }
s3curl() { curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_KEY:$S3_SECRET" "$@"; }
mkbucket() { s3curl -X PUT -o /dev/null -w '' "$S3_ENDPOINT/$1"; }
# s3ls BUCKET [PREFIX]: the keys and sizes under PREFIX
s3ls() { s3curl "$S3_ENDPOINT/$1?list-type=2&prefix=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "${2:-}")" | python3 -c '
import sys,re
x=sys.stdin.read()
for k,s in re.findall(r"<Key>(.*?)</Key>.*?<Size>(\d+)</Size>",x): print(k,s)'; }
# yml_s3 DB BUCKET PATH [extra top-level yaml]
yml_s3() { [ -z "${4:-}" ] || printf '%s\n' "$4"; printf 'dbs:\n  - path: %s\n    replica:\n      type: s3\n      bucket: %s\n      path: %s\n      endpoint: %s\n      region: us-east-1\n      force-path-style: true\n      access-key-id: %s\n      secret-access-key: %s\n' "$1" "$2" "$3" "$S3_ENDPOINT" "$S3_KEY" "$S3_SECRET"; }
# wait_for FILE REGEX [SECONDS=15]: waits until FILE has a line matching REGEX; 1 on timeout
wait_for() { local i; for i in $(seq 1 $(( ${3:-15} * 20 ))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "(timeout waiting for /$2/ in $1)"; return 1; }
