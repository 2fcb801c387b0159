# Shared helpers: dataset settings and the part plan (pure functions of config).

import sys

PREFIX = config["prefix"].rstrip("/")
# The package's CLI through the interpreter running Snakemake (works without
# an activated environment; in a job container it is the container's Python).
RINGRIFT = f"{sys.executable} -m ringrift"


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


def all_targets():
    out = []
    for name, d in config["datasets"].items():
        out.append(f"{PREFIX}/{name}/combined_training.parquet")
        out.append(f"{PREFIX}/{name}/summary.json")
        if d.get("jsonl", False):
            out.append(f"{PREFIX}/{name}/combined_training.jsonl.gz")
    return out


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    worker="[0-9]{2}",
    part="[0-9]{5}",
