#!/usr/bin/env python3
"""Fill this machine's Numba cache once: the first caller runs `ringrift
warmup`, callers arriving meanwhile wait for it (a file lock), later callers
return at once (a marker per host name in the cache folder, naming the
source files it was warmed for: ringrift.warmup.source_stamp).

Every Slurm job and every LAN job calls this before its rule runs
(workflow/rules/common.smk), so each compute node or LAN machine compiles
once, whatever the submitting machine's CPU, and jobs starting together on a
fresh machine do not all compile the whole engine at once. The cache folder
is Numba's (NUMBA_CACHE_DIR, by default keyed by the package source: a code
change gets a new folder and new markers). Machines that share that folder
through a shared home still each get a marker, since Numba keys compiled code
by CPU: a machine of another CPU model compiles its own. The warm-up runs
inside the calling job's allocation; it compiles in layers (ringrift/warmup.py)
so it stays well below the smallest job's memory (1000 MB).

Exit status 0 when the cache is warm; otherwise 1 and one line on stderr
naming the log.
"""

import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from ringrift.warmup import is_marked, source_stamp  # sets NUMBA_CACHE_DIR if unset


def main() -> int:
    host = socket.gethostname()
    nodes = Path(os.environ["NUMBA_CACHE_DIR"]) / "nodes"
    marker = nodes / host
    stamp = source_stamp()  # the marker's first line: a moved or re-cloned checkout warms again
    if is_marked(marker, stamp):
        return 0
    nodes.mkdir(parents=True, exist_ok=True)
    log = Path("logs") / "numba_warmup" / f"{host}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(nodes / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if is_marked(marker, stamp):  # another job on this node did it while we waited
            return 0
        t0 = time.time()
        with open(log, "ab") as out:
            rc = subprocess.run(
                [sys.executable, "-m", "ringrift", "warmup"], stdout=out, stderr=subprocess.STDOUT
            ).returncode
        if rc != 0:
            print(
                f"node_warmup: ringrift warmup failed on {host} (exit {rc}), see {log}",
                file=sys.stderr,
            )
            return 1
        tmp = marker.with_name(f".{host}.{os.getpid()}")
        who = os.environ.get("SLURM_JOB_ID") or f"on LAN host {os.environ.get('RINGRIFT_LAN_HOST')}"
        tmp.write_text(f"{stamp}\nwarmed in {time.time() - t0:.1f} s by job {who}\n")
        tmp.replace(marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
