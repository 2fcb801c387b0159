#!/usr/bin/env python3
"""Status of a LAN job for Snakemake's cluster-generic executor (profiles/lan).

``lan_status.py 'host:pid:jobfolder'`` prints exactly one of ``running``,
``success`` or ``failed``. A finished job's folder on the host is removed on
success and kept on failure (the tail of its log goes to stderr). A job whose
process is gone without an exit code (host rebooted, process killed) is
``failed``, so Snakemake reruns it (``retries`` in the profile). A host that
cannot be reached is reported ``running`` until it has been unreachable for
``RINGRIFT_LAN_UNREACHABLE_S`` seconds (default 600), then ``failed``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lan_submit import LanError, load_hosts, parse_jobid, rpath, run_ssh  # noqa: E402

STATE_DIR = os.path.join(".snakemake", "lan-unreachable")

STATUS_CMD = (
    "rdir={rdir}; "
    'if [ -f "$rdir/rc" ]; then rc=$(cat "$rdir/rc"); '
    '  if [ "$rc" = 0 ]; then rm -rf "$rdir"; echo success; '
    '  else echo "failed $rc"; tail -n 30 "$rdir/log" >&2 2>/dev/null; fi; '
    "elif kill -0 {pid} 2>/dev/null; then echo running; "
    'elif [ -d "$rdir" ]; then echo "failed lost"; tail -n 30 "$rdir/log" >&2 2>/dev/null; '
    'else echo "failed missing"; fi'
)


def _unreachable(jobid: str, reachable: bool) -> float:
    """Seconds this job's host has been unreachable (0 when reachable)."""
    path = os.path.join(STATE_DIR, hashlib.sha1(jobid.encode()).hexdigest())
    if reachable:
        if os.path.exists(path):
            os.unlink(path)
        return 0.0
    os.makedirs(STATE_DIR, exist_ok=True)
    if not os.path.exists(path):
        with open(path, "w") as fh:
            fh.write(str(time.time()))
    with open(path) as fh:
        return time.time() - float(fh.read() or time.time())


def status(jobid: str) -> str:
    host, pid, rdir = parse_jobid(jobid)
    try:
        conf = load_hosts()
    except LanError:
        conf = {"hosts": [], "ssh_options": []}
    try:
        r = run_ssh(conf, host, STATUS_CMD.format(rdir=rpath(rdir), pid=pid), timeout=60)
        ok = r.returncode == 0 and r.stdout.strip() != ""
    except subprocess.TimeoutExpired:
        r, ok = None, False
    if not ok:
        limit = float(os.environ.get("RINGRIFT_LAN_UNREACHABLE_S", "600"))
        gone = _unreachable(jobid, False)
        why = r.stderr.strip() if r is not None else "ssh timed out"
        print(f"lan_status: {host} unreachable for {gone:.0f} s: {why}", file=sys.stderr)
        return "failed" if gone > limit else "running"
    _unreachable(jobid, True)
    word, _, detail = r.stdout.strip().splitlines()[-1].partition(" ")
    if word == "failed":
        print(
            f"lan_status: job {jobid} failed ({detail}); log kept in {host}:{rdir}/log\n"
            + r.stderr,
            file=sys.stderr,
        )
    return word if word in ("running", "success", "failed") else "failed"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: lan_status.py JOBID", file=sys.stderr)
        return 2
    try:
        print(status(argv[0]), flush=True)
    except LanError as exc:
        print(f"lan_status: {exc}", file=sys.stderr)
        print("failed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
