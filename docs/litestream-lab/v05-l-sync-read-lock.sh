#!/usr/bin/env bash
# L: `litestream sync -socket S -wait DB` (the control socket's POST /sync) when its sync runs a
# checkpoint. v0.5.17 holds a long read transaction (db.go acquireReadLock, db.rtx) so that no other
# connection's checkpoint can restart the WAL past what it has synced; execCheckpoint releases it for
# its PASSIVE checkpoint and begins it again with the caller's ctx, and server.go handleSync gives the
# sync context.WithTimeout(s.ctx, timeout) with `defer cancel()` (database/sql rolls a Tx back when
# its BeginTx ctx ends).
# L1: the app makes the WAL ≥ 1000 pages (1200 rows of 4000-byte blobs), then `litestream sync -wait`
#     right after a monitor tick, so that the call's sync is the one that checkpoints (checkpointIfNeeded,
#     Priority 2). Litestream's WAL read-mark locks (bytes 123..127 of DB-shm, 123+i = read slot i,
#     seen in /proc/locks) before the call, right after it and 2.5 s after it; the `checkpoint` line.
# L2: then, Litestream still running, the app (one python3 connection, open throughout, autocheckpoint
#     off: its explicit PASSIVE checkpoint stands in for it) writes a prefix (300 pages, below 1000, so
#     no Litestream checkpoint) that Litestream ships, then in one go: 200 marked rows into a table m
#     with an index, PRAGMA wal_checkpoint(PASSIVE), one more row (which restarts the WAL if nobody
#     holds a read slot > 0; the new WAL is shorter than Litestream's synced offset, so the frame there
#     is still the old one). Litestream's next syncs (verify lines), SIGTERM, restore: marked rows in
#     the original vs the restore, the row written after the restart, integrity_check. Variants (which
#     pages the unshipped rows are on decides what the restore lacks, since v0.5 copies pages past the
#     last shipped database size from the database file: db.go writeLTXFromWAL "wal growth pages"):
#     A: marked rows on pages appended to the file, the row after into t: the restore lacks them.
#     B: the prefix is deleted first (300 free pages), the marked rows reuse them, the row after into m:
#        the restore is corrupt.
#     C: as A, the row after into m (m's new root and page 1 are shipped, the appended pages come from
#        the database file): the restore has them all; the loss needs frames on pages it already had.
# L3: the control: the same without the `litestream sync` call, so the monitor (its long-lived ctx)
#     runs the checkpoint of L1: its read lock after (slot 0, byte 123: the WAL was fully backfilled
#     when it began again; it still blocks every backfill, so the app's checkpoint backfills nothing),
#     whether the app's checkpoint restarts the WAL, the restore.
# CASES="sync:A control:A sync:B control:B sync:C" (the default) picks cases; REPEAT=N runs them N
# times; the summary at the end has one line per case.   bash docs/litestream-lab/v05-l-sync-read-lock.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"

# The app: one connection, commands on stdin ("SEQ CMD ARGS"), a reply "ok SEQ TEXT" per command.
APP='
import os, sqlite3, struct, sys
db = sys.argv[1]
c = sqlite3.connect(db, isolation_level=None, timeout=5)
c.execute("PRAGMA wal_autocheckpoint=0")
def salt():
    with open(db + "-wal", "rb") as f: h = f.read(32)
    return "%08x%08x" % struct.unpack(">II", h[16:24])
while True:
    line = sys.stdin.readline()
    if not line: break
    a = line.split(); seq, cmd, args = a[0], a[1], a[2:]
    if cmd == "fill":  # fill N SIZE: N rows of SIZE-byte blobs into u, one transaction
        c.execute("BEGIN")
        c.executemany("INSERT INTO u VALUES (randomblob(?))", [(int(args[1]),)] * int(args[0]))
        c.execute("COMMIT")
        out = "committed %s rows of %s bytes" % (args[0], args[1])
    elif cmd == "free":  # free N: deletes the last N rows of u, their pages go to the freelist
        c.execute("DELETE FROM u WHERE rowid IN (SELECT rowid FROM u ORDER BY rowid DESC LIMIT ?)", (int(args[0]),))
        out = "deleted the last %s rows of u: freelist_count %d of page_count %d" % (args[0],
            c.execute("PRAGMA freelist_count").fetchone()[0], c.execute("PRAGMA page_count").fetchone()[0])
    elif cmd == "gap":  # gap N t|m: N marked rows, PASSIVE checkpoint, one more row (into t or m)
        s0 = salt()
        c.execute("BEGIN")
        c.executemany("INSERT INTO m(tag, pad) VALUES (?, randomblob(1000))", [("mark",)] * int(args[0]))
        c.execute("COMMIT")
        r = c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if args[1] == "m": c.execute("INSERT INTO m(tag, pad) VALUES (?, randomblob(1000))", ("after",))
        else: c.execute("INSERT INTO t VALUES (2000)")
        s1 = salt()
        out = "%s marked rows; wal_checkpoint(PASSIVE) = %s (busy,log,checkpointed); one more row; WAL salt %s -> %s: %s" % (
            args[0], ",".join(map(str, r)), s0, s1, "WAL RESTARTED" if s1 != s0 else "not restarted")
    else:
        out = "?"
    print("ok", seq, out, flush=True)'

# shmlocks PID SHM: PID's POSIX locks on bytes 120..127 of SHM (120 write, 121 ckpt, 122 recover,
# 123+i read slot i), from /proc/locks
shmlocks() {
  local ino; ino=$(stat -c %i "$2")
  awk -v pid="$1" -v ino="$ino" '$2 != "->" { n = split($6, d, ":"); if ($5 == pid && d[n] == ino && $7 <= 127 && $8 >= 120) { s = s sprintf("%s@%s%s ", $4, $7, ($8 != $7 ? "-" $8 : "")) } }
    END { print (s == "" ? "none" : s) }' /proc/locks
}
# readlock PID SHM: "yes" when PID holds a READ lock on a read slot (123..127)
readlock() { shmlocks "$@" | grep -qE 'READ@12[3-7]' && echo yes || echo no; }
# shminfo DB: the wal-index header: mxFrame, nBackfill, read marks (little-endian, as SQLite maps it)
shminfo() { python3 -c '
import struct, sys
b = open(sys.argv[1] + "-shm", "rb").read(136)
print("mxFrame=%d nBackfill=%d readMarks=%s" % (struct.unpack_from("<I", b, 16)[0], struct.unpack_from("<I", b, 96)[0],
      ",".join("%d" % x if x != 0xffffffff else "-" for x in struct.unpack_from("<5I", b, 100))))' "$1"; }
# tick LOG: waits for Litestream's next monitor tick (each logs a DEBUG `verify` line)
tick() { local n; n=$(grep -c 'msg=verify ' "$1" || true); local i; for i in $(seq 1 60); do
  [ "$(grep -c 'msg=verify ' "$1" || true)" -gt "$n" ] && { sleep 0.05; return 0; }; sleep 0.05; done; echo "(no tick)"; }
# since LOG N REGEX: LOG's lines after line N that match REGEX
since() { tail -n +"$(( $2 + 1 ))" "$1" | slog /dev/stdin | grep -E "$3" | sed 's/ system=store db=app.db//; s/^/    /' || true; }

# app CMD ARGS: sends a command to the app, waits for its reply, prints it (and keeps it in APPOUT)
app() { APPN=$((APPN + 1)); echo "$APPN $*" >&3; wait_for app.log "^ok $APPN " 60 > /dev/null || true
  APPOUT=$(sed -nE "s/^ok $APPN //p" app.log); echo "    app: ${APPOUT:-FAILED: $(tail -3 app.log | tr '\n' ' ')}"; }

run_case() {
  local name=$1 call=$2 variant=$3 dir=$ROOT/$1 last=m
  [ "$variant" = A ] && last=t
  mkdir -p "$dir" && cd "$dir"
  newdb app.db 10
  sqlite3 app.db "CREATE TABLE u(x); CREATE TABLE m(id INTEGER PRIMARY KEY, tag TEXT, pad BLOB); CREATE INDEX m_tag ON m(tag);"
  local sock=$dir/ls.sock
  { printf 'logging:\n  level: debug\nsocket:\n  enabled: true\n  path: %s\n' "$sock"; yml_file "$dir/app.db" "$dir/replica"; } > ls.yml
  start ls "$LS5" replicate -config ls.yml; local lsp=$PID
  wait_for ls.log 'msg="ltx file uploaded"' > /dev/null
  mkfifo app.in
  python3 -c "$APP" app.db < app.in > app.log 2>&1 & PIDS+=("$!"); local appp=$!
  exec 3> app.in; APPN=0
  local shm=$dir/app.db-shm
  echo "== $name: $( [ "$call" = yes ] && echo 'with `litestream sync -socket S -wait DB`' || echo 'control: no sync call, the monitor checkpoints'); variant $variant: $(vdesc "$variant")"
  echo "  ${name}.1 Litestream pid $lsp, $shm inode $(stat -c %i "$shm")"
  echo "    start:            Litestream locks on shm 120..127: $(shmlocks "$lsp" "$shm")  | $(shminfo app.db)"
  tick ls.log
  app fill 1200 4000
  echo "    before:           Litestream locks on shm 120..127: $(shmlocks "$lsp" "$shm")  | $(shminfo app.db)"
  local n0; n0=$(wc -l < ls.log)
  if [ "$call" = yes ]; then
    local t0 t1 out; t0=$(date -u +%T.%3N)
    out=$("$LS5" sync -socket "$sock" -wait "$dir/app.db" 2>&1) || out="$out (exit $?)"
    t1=$(date -u +%T.%3N)
    echo "    litestream sync -socket S -wait DB, $t0 .. $t1: $(echo "$out" | tr '\n' ' ')"
    local n1; n1=$(wc -l < ls.log)
    echo "    Litestream's log from the fill's commit to the call's return (DEBUG, UTC):"
    tail -n +"$(( n0 + 1 ))" ls.log | head -n "$(( n1 - n0 ))" | grep -E 'msg=checkpoint|msg="wal restarted|msg=sync |msg=verify' |
      sed -E 's/^time=[0-9-]+T([0-9:.]+)Z level=DEBUG /\1 /; s/ system=store db=app.db//; s/^/      /' | cut -c1-200 || true
    local i; for i in $(seq 1 20); do [ "$(readlock "$lsp" "$shm")" = no ] && break; sleep 0.05; done
    echo "    after the call:   Litestream locks on shm 120..127: $(shmlocks "$lsp" "$shm")  | $(shminfo app.db)"
  else
    wait_for ls.log 'msg=checkpoint ' 5 > /dev/null || true
    sleep 0.2
    echo "    the monitor's checkpoint:"
    since ls.log "$n0" 'msg=checkpoint|msg="wal restarted'
    echo "    after it:         Litestream locks on shm 120..127: $(shmlocks "$lsp" "$shm")  | $(shminfo app.db)"
  fi
  sleep 2.5
  echo "    2.5 s later:      Litestream locks on shm 120..127: $(shmlocks "$lsp" "$shm")  | $(shminfo app.db)"
  local l1; l1=$(readlock "$lsp" "$shm")

  echo "  ${name}.2 the app: a prefix Litestream ships, then marked rows + PASSIVE checkpoint + one row"
  app fill 300 4000
  [ "$variant" = B ] && app free 300
  sleep 2.5
  echo "    prefix shipped:   Litestream locks on shm 120..127: $(shmlocks "$lsp" "$shm")  | $(shminfo app.db)"
  tick ls.log
  local n2; n2=$(wc -l < ls.log)
  app gap 200 "$last"; local gap=$APPOUT
  echo "    after the gap:    $(shminfo app.db)"
  sleep 3
  echo "    Litestream's next syncs:"
  since ls.log "$n2" 'msg=verify|msg=sync |msg="wal restarted|msg=checkpoint|snapshot|reason' | head -6
  exec 3>&-; wait "$appp" 2>/dev/null || true
  stop "$lsp" > stop.out; echo "    stop Litestream (SIGTERM): $(cat stop.out)"
  "$LS5" restore -config ls.yml -o "$dir/restored.db" "$dir/app.db" > restore.log 2>&1 || echo "    restore failed: $(tail -2 restore.log)"
  local orig rs ri ic
  orig=$(sqlite3 app.db "SELECT count(*) FROM m WHERE tag='mark'" 2>&1 || true)
  rs=$(sqlite3 restored.db "SELECT count(*) FROM m NOT INDEXED WHERE tag='mark'" 2>&1 | head -1 || true)
  ri=$(sqlite3 restored.db "SELECT count(*) FROM m INDEXED BY m_tag WHERE tag='mark'" 2>&1 | head -1 || true)
  ic=$(sqlite3 restored.db 'PRAGMA integrity_check' 2>&1 | head -4 | tr '\n' ';' || true)
  local q="SELECT count(*) FROM t WHERE x = 2000"; [ "$last" = m ] && q="SELECT count(*) FROM m NOT INDEXED WHERE tag = 'after'"
  echo "    marked rows: original $orig, restore $rs (table scan), $ri (via index m_tag)"
  echo "    the row written after the WAL restart: original $(sqlite3 app.db "$q" 2>&1 | head -1 || true), restore $(sqlite3 restored.db "$q" 2>&1 | head -1 || true); page_count: original $(sqlite3 app.db 'PRAGMA page_count' 2>&1 || true), restore $(sqlite3 restored.db 'PRAGMA page_count' 2>&1 | head -1 || true)"
  echo "    restore integrity_check: $ic"
  local restarted=no; case $gap in *"WAL RESTARTED"*) restarted=yes ;; esac
  local lost=no; [ "$rs" = "$orig" ] && [ "$ri" = "$orig" ] || lost=yes
  echo "  ${name} summary: Litestream read lock after L1 step: $l1; app checkpoint restarted the WAL: $restarted; restore lacks or cannot read marked rows: $lost; integrity: $( [ "$ic" = "ok;" ] && echo ok || echo FAILED)"
  SUMMARY+=("$name ($variant): read-lock=$l1 wal-restarted=$restarted rows-lost=$lost integrity=$( [ "$ic" = "ok;" ] && echo ok || echo FAILED)")
  cd "$ROOT"
}

# The variants of the L2 step (which pages the unshipped marked rows sit on decides what the restore
# lacks: v0.5 fills pages past the last shipped database size from the database file, db.go
# writeLTXFromWAL "filling wal growth pages from database"):
vdesc() { case $1 in
  A) echo "marked rows on pages appended to the file, the row after the restart into t" ;;
  B) echo "the prefix deleted (300 free pages), so marked rows reuse pages the file had; the row after into m" ;;
  C) echo "marked rows on pages appended to the file, the row after the restart into m" ;;
esac; }
SUMMARY=()
for r in $(seq 1 "${REPEAT:-1}"); do
  for c in ${CASES:-sync:A control:A sync:B control:B sync:C}; do
    run_case "l${r}-${c%%:*}-${c#*:}" "$( [ "${c%%:*}" = sync ] && echo yes || echo no)" "${c#*:}"
  done
done
echo "== summary"; printf '  %s\n' "${SUMMARY[@]}"
