"""profiles/slurm on a real single-node Slurm cluster (Debian's munged,
slurmctld and slurmd started by the test, tests/servers.py), with
snakemake-executor-plugin-slurm.

One run of a small dataset, during which one self-play job is cancelled with
scancel while it runs: Slurm reports it CANCELLED, Snakemake submits it again
(the profile's retries) and the aggregate is byte-identical to an
uninterrupted local run. The rule resources reach sbatch (partition from
RINGRIFT_SLURM_PARTITION, memory, time limit, CPUs), the node's Numba cache is
warmed once by its first job and never on the submitting side, and a second
run has nothing to do.

The cluster has no slurmdbd (so no sacct): the run uses the plugin's
`--slurm-status-command squeue`, as the profile's notes say for such clusters.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import (  # noqa: E402,F401
    MINI,
    MINI_AGGREGATE,
    base_env,
    checkout,
    job_counts,
    mini_reference,
    slurm,
    snakemake,
)

FAST = [
    "--slurm-status-command",
    "squeue",  # no slurmdbd here
    "--slurm-init-seconds-before-status-checks",
    "5",
    "--latency-wait",
    "5",
]


def squeue(cluster):
    """[(jobid, state, comment)] of the cluster's jobs."""
    out = cluster.run("squeue", "-h", "--states=all", "-o", "%i|%T|%k").stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line.count("|") == 2]


def scontrol_job(cluster, jobid) -> dict:
    out = cluster.run("scontrol", "-o", "show", "job", jobid).stdout
    return dict(kv.split("=", 1) for kv in out.split() if "=" in kv)


def test_slurm_profile_runs_a_dataset_and_reruns_a_cancelled_job(slurm, tmp_path):
    reference = mini_reference(tmp_path.parent)
    wd = checkout(tmp_path / "co", MINI)
    # A copy of this machine's Numba cache without node markers: the job on
    # the "node" must warm it (quickly, the code is compiled already).
    import ringrift  # noqa: F401  (sets NUMBA_CACHE_DIR: this code's cache folder)

    cache = tmp_path / "numba"
    src = os.environ["NUMBA_CACHE_DIR"]
    if os.path.isdir(src):
        shutil.copytree(src, cache, ignore=shutil.ignore_patterns("nodes"))
    env = base_env(
        **slurm.env(), NUMBA_CACHE_DIR=str(cache), RINGRIFT_SLURM_PARTITION="ringrift"
    )  # not the default partition
    args = ["--profile", "profiles/slurm", *FAST, MINI_AGGREGATE]
    log = tmp_path / "run.log"
    t0 = time.time()
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", *args],
            cwd=wd,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    cancelled = None
    try:
        # cancel the first self-play job seen running
        deadline = time.time() + 300
        while cancelled is None and time.time() < deadline and proc.poll() is None:
            for jobid, state, comment in squeue(slurm):
                if state == "RUNNING" and "selfplay_part" in comment:
                    r = slurm.run("scancel", jobid)
                    assert r.returncode == 0, r.stderr
                    cancelled = jobid
                    break
            time.sleep(0.3)
        proc.wait(600)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
    out = log.read_text()
    elapsed = time.time() - t0
    assert proc.returncode == 0, out[-6000:]
    assert cancelled, "no self-play job was seen running: " + out[-3000:]
    assert re.search(rf"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'", out), out[
        -4000:
    ]
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", out)
    # 2 parts + the cancelled one again + the aggregate
    assert len(submitted) == 4, out[-4000:]
    assert (wd / MINI_AGGREGATE).read_bytes() == reference
    # resources per rule reached sbatch: partition from the environment,
    # memory and time limit from the rules and the profile's set-resources
    jobs = {j: scontrol_job(slurm, j) for j in submitted}
    by_rule = {}
    for j, info in jobs.items():
        by_rule.setdefault(info["Comment"].split("_wildcards")[0], []).append(info)
    assert sorted(by_rule) == ["rule_aggregate", "rule_selfplay_part"], jobs
    for info in jobs.values():
        assert info["Partition"] == "ringrift"
    for info in by_rule["rule_selfplay_part"]:
        assert info["TimeLimit"] == "04:00:00" and info["NumCPUs"] == "1"
        assert info["MinMemoryNode"] == "1000M"
    (agg,) = by_rule["rule_aggregate"]
    assert agg["TimeLimit"] == "02:00:00" and agg["MinMemoryNode"] == "2000M"
    # the node warmed its cache once (first job); the submitting side not at all
    marker = cache / "nodes" / slurm.node
    assert marker.exists() and "by job" in marker.read_text()
    warm_log = (wd / "logs" / "numba_warmup" / f"{slurm.node}.log").read_text()
    assert warm_log.count("numba cache warm in") == 1, warm_log
    assert not (wd / "logs" / "numba_warmup.log").exists()
    # second run: nothing to do, nothing submitted
    again = snakemake(wd, *args, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr
    assert "submitted with SLURM" not in again.stdout + again.stderr
    print(f"slurm run with one scancel: {elapsed:.0f} s")
