#!/usr/bin/env python3
"""Cancel LAN jobs for Snakemake's cluster-generic executor (profiles/lan).

``lan_cancel.py JOBID...`` sends SIGTERM to each job's process group on its
host (one ssh per host) and records exit code 143, so the job's Snakemake
removes its partial outputs and ``lan_status.py`` reports it failed.
Snakemake gives a cancel call 2 seconds; errors are reported, never raised.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lan_submit import LanError, load_hosts, parse_jobid, rpath, run_ssh  # noqa: E402

KILL_CMD = (
    "kill -TERM -- -{pid} 2>/dev/null; "
    "[ -f {rdir}/rc ] || {{ echo 143 > {rdir}/rc.tmp && mv {rdir}/rc.tmp {rdir}/rc; }} 2>/dev/null"
)


def cancel(jobids: list[str]) -> int:
    try:
        conf = load_hosts()
    except LanError:
        conf = {"hosts": [], "ssh_options": []}
    by_host = defaultdict(list)
    for jobid in jobids:
        try:
            host, pid, rdir = parse_jobid(jobid)
        except LanError as exc:
            print(f"lan_cancel: {exc}", file=sys.stderr)
            continue
        by_host[host].append(KILL_CMD.format(pid=pid, rdir=rpath(rdir)))
    failures = 0
    for host, cmds in by_host.items():
        try:
            r = run_ssh(conf, host, "; ".join(cmds) + "; true", timeout=20)
            failures += r.returncode != 0
        except subprocess.TimeoutExpired:
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(cancel(sys.argv[1:]))
