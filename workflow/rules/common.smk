# Shared helpers, all pure functions of config: dataset settings, the part plan
# (which games each part holds, which worker plays it, --worker-range
# selection), the heuristic profile's digest, the targets of `all`; the tensors
# settings (rules/tensors.smk); tuning runs' settings and file lists
# (rules/tuning.smk, names from ringrift.tuning.files). Also the start hook that
# warms Numba's cache.

import functools
import json
import os
import shlex
import sys

from snakemake.exceptions import WorkflowError
from ringrift.tuning import files as TF  # a tuning run's file names
# The workers' game-seed version (ringrift/selfplay/seeds.py), sample schema and
# engine version (ringrift/dataset/versions.py): a new one changes every part,
# so they are self-play params and older parts replay.
from ringrift.selfplay.seeds import GAME_SEEDS
from ringrift.dataset.versions import ENGINE_VERSION, SCHEMA_VERSION
from snakemake.settings.types import SharedFSUsage

PREFIX = config["prefix"].rstrip("/")
# Local scratch for temporary files (the aggregate's copies of remote parts,
# the tensor export's bucket files): in the shell command itself, not a
# param, because where temporaries go is not data (changing it reruns nothing).
SCRATCH_FLAG = f"--scratch {shlex.quote(config['scratch'])}" if config.get("scratch") else ""
# Jobs call the `ringrift` command of the environment running Snakemake, also
# when that environment is not activated (a shell prefix, not a param, so
# moving the environment does not count as a change of settings).
shell.prefix(f'PATH="{os.path.dirname(sys.executable)}:$PATH"; ')


onstart:
    # Compile every jitted function once into Numba's on-disk cache before any
    # job starts, so parallel jobs only read it (concurrent cold compiles each
    # redo the whole work; numba issue 4807 reports concurrent-writer crashes).
    # Once warm, a marker in the cache folder makes this return at once.
    # A hook, not a rule: a marker file as every job's input would make all
    # finished parts look out of date whenever the marker is made again.
    # Only jobs sharing this machine's disk use this cache; cloud containers
    # use the one baked into their image (Dockerfile). Slurm nodes and LAN
    # hosts warm their own caches (below); on Slurm the login node compiles nothing.
    if (SharedFSUsage.INPUT_OUTPUT in workflow.storage_settings.shared_fs_usage
            and getattr(workflow.executor_plugin, "name", "") != "slurm"):
        os.makedirs("logs", exist_ok=True)
        shell("ringrift warmup > logs/numba_warmup.log 2>&1")


# A Slurm job (profiles/slurm) may land on a node whose CPU or disk differs from
# the login node's, and a LAN job (profiles/lan) on a machine with its own
# cache: the machine's first job fills its Numba cache once, its other jobs
# wait for it instead of each compiling everything at the same time.
if workflow.remote_exec and ("SLURM_JOB_ID" in os.environ or "RINGRIFT_LAN_HOST" in os.environ):
    import subprocess

    if subprocess.run([sys.executable, os.path.join(workflow.basedir, "scripts", "node_warmup.py")]).returncode:
        raise WorkflowError("Numba warm-up failed on this node (logs/numba_warmup/)")

# Azure storage: check the account answers before planning, else the storage
# plugin retries a dead endpoint silently for minutes.
if workflow.storage_settings.default_storage_provider == "azure" and not workflow.remote_exec:
    from ringrift.azblob import workflow_problem

    _az = workflow.storage_provider_settings.get("azure")
    _az = _az.get_settings() if _az else None
    if _msg := workflow_problem(getattr(_az, "account_name", None),
                                workflow.storage_settings.default_storage_prefix):
        raise WorkflowError(_msg)


def ds(name):
    return config["datasets"][name]


def check_datasets():
    """What the schema cannot say: settings that would silently do nothing."""
    for name, d in config["datasets"].items():
        if (d["engine_mode"] == "neural") != bool(d.get("model")):
            raise WorkflowError(f"dataset {name}: engine_mode neural and model go together "
                                f"(engine_mode {d['engine_mode']}, model "
                                f"{'set' if d.get('model') else 'missing'})")
        if d.get("swap_rule") and d["num_players"] != 2:
            raise WorkflowError(f"dataset {name}: swap_rule needs num_players 2 (the pie "
                                f"rule is a 2-player rule), got {d['num_players']}")



# The settings that decide which games a dataset holds (and so each part's
# bytes). Everything else is scheduling (workers) or downstream of the parts
# (jsonl, ...), so changing it reruns only what it feeds.
GAME_SETTINGS = ("board_type", "num_players", "engine_mode", "difficulty_band",
                 "sample_every_n_moves", "max_moves", "seed", "swap_rule")


def num_parts(name):
    d = ds(name)
    return -(-d["total_games"] // d["games_per_part"])


def part_games(name, k):
    """(first global game index, games) of part k: a pure function of k,
    games_per_part and (for the last, partial part only) total_games. So raising
    total_games adds parts and leaves every full part as it is."""
    d = ds(name)
    first = k * d["games_per_part"]
    return first, min(d["games_per_part"], d["total_games"] - first)


def part_worker(name, k):
    """The worker_NN folder of part k (the seed's layout): round-robin, so a
    grown dataset keeps every old part where it was."""
    return k % ds(name)["workers"]


def part_path(name, k):
    return f"{PREFIX}/selfplay/{name}/worker_{part_worker(name, k):02d}/part_{k:05d}.parquet"


def part_log(name, k):
    return f"logs/selfplay/{name}/worker_{part_worker(name, k):02d}/part_{k:05d}.log"


def dataset_parts(wildcards):
    """Every part of a dataset in game order (the aggregate's input order does
    not depend on the number of workers)."""
    return [part_path(wildcards.dataset, k) for k in range(num_parts(wildcards.dataset))]


def part_info(wildcards):
    name, k = wildcards.dataset, int(wildcards.part)
    if k >= num_parts(name) or int(wildcards.worker) != part_worker(name, k):
        raise ValueError(f"dataset {name} has no part {wildcards.worker}/{k:05d}")
    first, games = part_games(name, k)
    return {"first": first, "games": games}


def game_settings(wildcards):
    d = ds(wildcards.dataset)
    return {key: d[key] for key in GAME_SETTINGS}


def players_version_arg(d):
    """' --players-version V' for a dataset whose band seats a level past
    play version 1 (ringrift/players/ladder.py), else ''."""
    from ringrift.players.ladder import players_version

    v = players_version(d["engine_mode"], d["difficulty_band"])
    return f" --players-version {v}" if v > 1 else ""


@functools.cache
def profile_digest(uri, board_type):
    """Digest of a heuristic profile's weights: a param of self-play, so
    editing the profile's weights reruns the parts that used it."""
    if not uri:
        return ""
    from ringrift.players.ladder import load_profile, weights_digest

    try:
        return weights_digest(load_profile(uri, board_type))
    except ValueError as exc:
        raise WorkflowError(str(exc)) from None


@functools.cache
def model_digest(uri):
    """Digest of a model file's bytes: a param of self-play, so replacing the
    model reruns the parts that used it."""
    from ringrift.neural.model import model_digest as digest, read_model_bytes

    try:
        return digest(read_model_bytes(uri))
    except ValueError as exc:
        raise WorkflowError(str(exc)) from None


NEURAL_FLAGS = ("visits", "cpuct", "temperature", "temp_steps", "dirichlet_alpha",
                "dirichlet_eps", "max_nodes", "batch", "threads", "provider")


def model_args(wc):
    """The selfplay flags of a neural dataset ("" otherwise)."""
    m = ds(wc.dataset).get("model")
    if not m:
        return ""
    out = [f"--model {shlex.quote(m['uri'])} --model-digest {model_digest(m['uri'])}"]
    out += [f"--nn-{k.replace('_', '-')} {m[k]}" for k in NEURAL_FLAGS if k in m]
    return " ".join(out)


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
        raise WorkflowError(f"worker_range {spec!r}: expected LO-HI with LO <= HI")
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
            out += [part_path(name, k) for k in range(num_parts(name)) if part_worker(name, k) in ws]
            continue
        out.append(f"{PREFIX}/{name}/combined_training.parquet")
        out.append(f"{PREFIX}/{name}/summary.json")
        out += [f"{PREFIX}/{name}/plots/{p}.png" for p in PLOTS]
        if d.get("jsonl", False):
            out.append(f"{PREFIX}/{name}/combined_training.jsonl.gz")
        if d.get("tensors"):
            out.append(f"{PREFIX}/{name}/tensors")
    if not out:
        workers = ", ".join(f"{n}: {d['workers']}" for n, d in config["datasets"].items())
        raise WorkflowError(f"worker_range {config.get('worker_range')!r} selects no worker of any "
                            f"dataset (workers per dataset: {workers}): this run would play nothing")
    return out


# ---- training tensors (rules/tensors.smk) ----


def tensor_settings(name):
    t = ds(name).get("tensors") or {}
    return t if isinstance(t, dict) else {}


def tensor_flags(wc):
    t = tensor_settings(wc.dataset)
    return (f"--encoder {t.get('encoder', 'v2')} --sample-every {t.get('sample_every', 1)}"
            f" --history {t.get('history', 3)} --policy {t.get('policy', 'soft')}")


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
    return [tfile(run, TF.result_file(g)) for g in range(it * k, (it + 1) * k)]


def t_ask_inputs(wc):
    g = int(wc.gen)
    k = tuning(wc.run)["generations"]
    it = g // k
    earlier = [tfile(wc.run, TF.result_file(e)) for e in range(it * k, g)]
    return [tfile(wc.run, TF.SETTINGS), tfile(wc.run, TF.baseline_file(it))] + earlier


def t_baseline(wc):
    return tfile(wc.run, TF.baseline_file(int(wc.gen) // tuning(wc.run)["generations"]))


def t_baselines(wc):
    return [tfile(wc.run, TF.baseline_file(i)) for i in range(tuning(wc.run)["iterations"] + 1)]


def t_evals(wc):
    g = int(wc.gen)
    return [tfile(wc.run, TF.eval_file(g, i)) for i in range(tuning(wc.run)["population"])]


def tuning_targets():
    return [tfile(run, n) for run in config.get("tuning", {}) for n in TF.FINAL]


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    worker="[0-9]{2}",
    part="[0-9]{5}",
