#!/usr/bin/env python3
# wal-watch.py DB OUT: every 2 ms, the WAL index of DB (mxFrame, nBackfill, the five read marks), the
# WAL's salt and who holds which WAL lock byte of DB-shm (from /proc/locks: 120 write, 121 checkpoint,
# 122 recover, 123+i read slot i; R/W and the PID), one line to OUT whenever any of it changes, and
# each PID's command line once. How the handoff race's last loss was found (docs/litestream-v05.md K,
# L): run it beside a failing test on the project's database, then read OUT around the failing round.
#   python3 docs/litestream-lab/wal-watch.py "$PROJECT/.demo/storage/primary.sqlite3" w.log
import os, struct, sys, time
db = sys.argv[1]; out = open(sys.argv[2], 'w', buffering=1)
shm, wal = db + '-shm', db + '-wal'
names = {120: 'W', 121: 'C', 122: 'R', 123: 'r0', 124: 'r1', 125: 'r2', 126: 'r3', 127: 'r4'}
def comm(pid):
    try: return open(f'/proc/{pid}/comm').read().strip()
    except Exception: return '?'
last = None
seen = set()
while True:
    try:
        st = os.stat(shm); ino = st.st_ino
        with open(shm, 'rb') as f: h = f.read(136)
        mx = struct.unpack_from('<I', h, 16)[0]; salt = struct.unpack_from('<II', h, 32)
        nb = struct.unpack_from('<I', h, 96)[0]; marks = struct.unpack_from('<5I', h, 100)
        with open(wal, 'rb') as f: wh = f.read(32)
        wsalt = struct.unpack_from('>II', wh, 16)
        locks = []
        for line in open('/proc/locks'):
            p = line.split()
            if p[1] == '->': p = p[:1] + p[2:]
            if len(p) < 8: continue
            dev_ino = p[5]
            if int(dev_ino.split(':')[-1]) != ino: continue
            s, e = int(p[6]), (int(p[7]) if p[7] != 'EOF' else 10**9)
            if p[4] not in seen:
                seen.add(p[4])
                try: cl = open(f'/proc/{p[4]}/cmdline').read().replace('\0', ' ')[:160]
                except Exception: cl = '?'
                out.write(f"pid {p[4]}: {cl}\n")
            for b in range(max(s, 120), min(e, 127) + 1):
                locks.append(f"{names[b]}:{p[3][0]}{p[4]}")
        state = (mx, nb, marks, wsalt, tuple(sorted(locks)))
        if state != last:
            out.write(f"{time.time():.4f} mx={mx} nb={nb} marks={marks} walsalt={wsalt[0]:08x} locks={' '.join(sorted(locks))}\n")
            last = state
    except FileNotFoundError:
        pass
    except Exception as ex:
        out.write(f"{time.time():.4f} err {ex}\n")
    time.sleep(0.002)
