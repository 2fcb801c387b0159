# Shared helpers: dataset settings and the part plan (pure functions of config).

import os
import sys

from snakemake.settings.types import SharedFSUsage

PREFIX = config["prefix"].rstrip("/")
# Jobs call the `ringrift` command of the environment running Snakemake, also
# when that environment is not activated (a shell prefix, not a param, so
# moving the environment does not count as a change of settings).
shell.prefix(f'PATH="{os.path.dirname(sys.executable)}:$PATH"; ')


def warmup_marker(wildcards):
    """The local Numba warm-up marker, for self-play jobs that share this
    machine's disk (and so the cache it filled). Without a shared filesystem
    (shared-fs-usage none: cloud containers, LAN hosts with their own disks) a
    local() input would pin every self-play job to this machine; there jobs use
    the cache baked into their image (Dockerfile) or fill their host's."""
    if SharedFSUsage.INPUT_OUTPUT in workflow.storage_settings.shared_fs_usage:
        return local(rules.numba_warmup.output.done)
    return []


def ds(name):
    return config["datasets"][name]


def worker_games(name, w):
    d = ds(name)
    base, extra = divmod(d["total_games"], d["workers"])
    start = w * base + min(w, extra)
    return start, base + (1 if w < extra else 0)


def part_plan(name):
    """(worker, part, first global game index, games) for every part."""
    d = ds(name)
    plan = []
    for w in range(d["workers"]):
        start, n = worker_games(name, w)
        for p, off in enumerate(range(0, n, d["games_per_part"])):
            plan.append((w, p, start + off, min(d["games_per_part"], n - off)))
    return plan


def part_path(name, w, p):
    return f"{PREFIX}/selfplay/{name}/worker_{w:02d}/part_{p:05d}.parquet"


def dataset_parts(wildcards):
    return [part_path(wildcards.dataset, w, p) for w, p, _, _ in part_plan(wildcards.dataset)]


def part_info(wildcards):
    w, p = int(wildcards.worker), int(wildcards.part)
    for pw, pp, first, n in part_plan(wildcards.dataset):
        if (pw, pp) == (w, p):
            return {"first": first, "games": n}
    raise ValueError(f"no part {p} for worker {w} in dataset {wildcards.dataset}")


def worker_selection(name):
    """Workers whose parts this run plays: config worker_range "LO-HI"
    (0-based, inclusive) or "W", else all of them."""
    n = ds(name)["workers"]
    spec = config.get("worker_range")
    if spec is None:
        return range(n)
    lo, _, hi = str(spec).partition("-")
    lo, hi = int(lo), int(hi or lo)
    if lo > hi:
        raise ValueError(f"worker_range {spec!r}: expected LO-HI with LO <= HI")
    return range(lo, min(hi, n - 1) + 1)


def all_targets():
    out = []
    for name, d in config["datasets"].items():
        if config.get("worker_range") is not None:
            # a share of a dataset filled from several machines or profiles:
            # only the parts; a run without worker_range aggregates them
            ws = set(worker_selection(name))
            out += [part_path(name, w, p) for w, p, _, _ in part_plan(name) if w in ws]
            continue
        out.append(f"{PREFIX}/{name}/combined_training.parquet")
        out.append(f"{PREFIX}/{name}/summary.json")
        if d.get("jsonl", False):
            out.append(f"{PREFIX}/{name}/combined_training.jsonl.gz")
    return out


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    worker="[0-9]{2}",
    part="[0-9]{5}",
