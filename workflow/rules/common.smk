# Shared helpers: dataset settings and the part plan (pure functions of config).

import json
import os
import sys

from snakemake.settings.types import SharedFSUsage

PREFIX = config["prefix"].rstrip("/")
# Jobs call the `ringrift` command of the environment running Snakemake, also
# when that environment is not activated (a shell prefix, not a param, so
# moving the environment does not count as a change of settings).
shell.prefix(f'PATH="{os.path.dirname(sys.executable)}:$PATH"; ')


onstart:
    # Compile every jitted function once into Numba's on-disk cache before any
    # job starts, so parallel jobs only read it (concurrent cold compiles each
    # redo the whole work; numba issue 4807 reports concurrent-writer crashes).
    # A hook, not a rule: a marker file as every job's input would make all
    # finished parts look out of date whenever the marker is made again.
    # Only jobs sharing this machine's disk use this cache; cloud containers
    # use the one baked into their image (Dockerfile), LAN hosts fill their own.
    if SharedFSUsage.INPUT_OUTPUT in workflow.storage_settings.shared_fs_usage:
        os.makedirs("logs", exist_ok=True)
        shell("ringrift warmup > logs/numba_warmup.log 2>&1")


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


# report plots per dataset: file stem -> title (captions: workflow/report/*.rst)
PLOTS = {
    "game_length": "game length",
    "win_rate": "win rate by seat and level",
    "victory_types": "victory types",
    "throughput": "throughput per worker",
    "board": "a sample board",
}


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
        out += [f"{PREFIX}/{name}/plots/{p}.png" for p in PLOTS]
        if d.get("jsonl", False):
            out.append(f"{PREFIX}/{name}/combined_training.jsonl.gz")
    return out


# ---- tuning runs (rules/tuning.smk) ----


def tuning(run):
    """A run's settings with the schema's defaults filled in."""
    return config["tuning"][run]


def tfile(run, name):
    return f"{PREFIX}/tuning/{run}/{name}"


def t_gens(wc):
    t = tuning(wc.run)
    return t["generations"] * t["iterations"]


def t_iteration_results(run, it):
    k = tuning(run)["generations"]
    return [tfile(run, f"gen_{g:03d}/result.json") for g in range(it * k, (it + 1) * k)]


def t_ask_inputs(wc):
    g = int(wc.gen)
    k = tuning(wc.run)["generations"]
    it = g // k
    earlier = [tfile(wc.run, f"gen_{e:03d}/result.json") for e in range(it * k, g)]
    return [tfile(wc.run, "settings.json"), tfile(wc.run, f"iter_{it:02d}/baseline.json")] + earlier


def t_baseline(wc):
    return tfile(wc.run, f"iter_{int(wc.gen) // tuning(wc.run)['generations']:02d}/baseline.json")


def t_evals(wc):
    g = int(wc.gen)
    return [tfile(wc.run, f"gen_{g:03d}/eval_{i:03d}.json")
            for i in range(tuning(wc.run)["population"])]


def tuning_targets():
    out = []
    for run in config.get("tuning", {}):
        out += [tfile(run, n) for n in ("profile.json", "validation.json", "summary.json",
                                        "fitness.png")]
    return out


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    worker="[0-9]{2}",
    part="[0-9]{5}",
