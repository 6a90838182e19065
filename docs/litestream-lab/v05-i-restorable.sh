#!/usr/bin/env bash
# v05-i-restorable.sh: Litestream v0.5.17 and a replica that loses files while it runs (the v0.3 case of
# docs/litestream.md Q12): the replica folder deleted under writes; what it logs, what `ltx`,
# `restore -dry-run` and `restore` say after 4 s, after a restart, and after `litestream reset` + restart.
# Findings: docs/litestream-v05.md I2.   bash docs/litestream-lab/v05-i-restorable.sh
set -euo pipefail
source "$(dirname "$0")/v05-lib.sh"
# writer: one row every 50 ms through one connection held open (an app)
mkfifo w.fifo
newdb app.db 1; yml_file "$ROOT/app.db" "$ROOT/r" > c.yml
sqlite3 app.db < w.fifo > /dev/null 2>&1 & W=$!; PIDS+=("$W"); exec 7> w.fifo
write_for() { local n=$(( $1 * 20 )) k; for k in $(seq 1 "$n"); do echo "INSERT INTO t VALUES($k);" >&7; sleep 0.05; done; }
look() { # LABEL
  local rc=0 ltx; ltx=$("$LS5" ltx -level all -config c.yml "$ROOT/app.db" 2>&1 | tail -n +2 | awk '{print "L"$1":"$2"-"$3}' | tr '\n' ' ')
  "$LS5" restore -dry-run -config c.yml -o "$ROOT/x.db" "$ROOT/app.db" > d.out 2>&1 || rc=$?
  local rr=0; rm -f x.db; "$LS5" restore -config c.yml -o "$ROOT/x.db" "$ROOT/app.db" > r.out 2>&1 || rr=$?
  echo "$1: live $(count app.db) rows; ltx: ${ltx:-(none)}"
  echo "    dry-run exit $rc $(grep -E 'Error|txid range' d.out | head -1); restore exit $rr, $( [ -f x.db ] && echo "$(count x.db) rows" || head -c 160 r.out)"
}
start a "$LS5" replicate -config c.yml; wait_for a.log 'snapshot complete'; write_for 2
look "before the delete"
rm -rf r; n0=$(wc -l < a.log); write_for 4
look "4 s after the replica folder was deleted (running)"
echo "    lines since the delete: $(awk -v n="$n0" 'NR>n' a.log | sed -E 's/^time=[^ ]+ //' | cut -c1-150 | sort | uniq -c | tr '\n' ';')"
stop "$PID"; start b "$LS5" replicate -config c.yml; write_for 3
look "restarted (same local state), 3 s"
echo "    lines: $(grep -E 'level=(INFO|WARN|ERROR)' b.log | grep -vE 'starting|version|initialized|replicating to' | sed -E 's/^time=[^ ]+ //' | cut -c1-150 | tr '\n' ';')"
stop "$PID"; echo "-- litestream reset:"; "$LS5" reset -config c.yml "$ROOT/app.db" 2>&1 | sed -E 's/^time=[^ ]+ //; s/^/    /' | cut -c1-160
start c "$LS5" replicate -config c.yml; write_for 3
look "after reset + restart, 3 s"
echo "    lines: $(grep -E 'level=(INFO|WARN|ERROR)' c.log | grep -vE 'starting|version|initialized|replicating to' | sed -E 's/^time=[^ ]+ //' | cut -c1-150 | tr '\n' ';')"
stop "$PID" > /dev/null; echo ".quit" >&7; exec 7>&-
echo "observed: see above"
