"""Fill Numba's on-disk cache with everything self-play and the dataset jobs
run, one layer of the call graph per child process, bottom up.

Why layers: Numba keeps every function a process compiled, with its LLVM
state, until the process ends. Compiling self-play in one process (square8,
cold cache) peaked at ~1.2 GB RSS, over the 1000 MB of a self-play job; and on
Slurm a node's first job warms the cache inside its own allocation
(workflow/scripts/node_warmup.py). In a fresh process per layer, each layer
finds the layers below in the cache (object code, plus the bitcode Numba links
into callers) and holds only its own compile: no layer went over ~460 MB
(benchmarks/warmup_memory.py), and the compiled code is the same.

A layer below the game loop calls its functions with the argument types the
game loop (ringrift/selfplay/game.py) passes them, so the game loop's layer
reuses their compiled code instead of compiling other specialisations
(tests/test_warmup.py checks the types, and that no dataset job compiles
anything after the warm-up).

    python -m ringrift.warmup LAYER FOLDER  # one layer, in this process
    ringrift warmup                         # every layer, each in a child process
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Bottom up: each layer only calls compiled code of the layers before it. The
# last three run the dataset jobs' commands on two games the "games" layer
# wrote, so no job of the workflow compiles anything (parallel export chunks
# would each compile the export kernels, ~95 s and ~870 MB apiece).
CALL_LAYERS = ("engine", "heuristic", "minimax", "mcts")  # layer_calls
LAYERS = (*CALL_LAYERS, "games", "moves", "export", "tensors")


def _midgame(rules):
    """A square8 state a few random moves in, with several legal moves."""
    rng = np.random.default_rng(0)
    s = rules.new_game()
    for _ in range(12):
        legal = rules.legal(s)
        s = rules.apply(s, legal[rng.integers(len(legal))])
    return s


def layer_calls(layer: str) -> list:
    """[(jitted function, args)] of a layer below the game loop: the calls
    whose compiled code the game loop reuses, with its argument types."""
    from .engine import layout as L
    from .engine.api import Rules
    from .engine.rules import MAX_MOVES_BUFFER, apply_in_place, legal_moves_into
    from .players import params as P
    from .players.ladder import profile_weights

    rules = Rules("square8", 2)
    geo = rules.geo
    s = _midgame(rules) if layer != "engine" else rules.new_game()
    moves = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)  # the loop's buffer
    k = legal_moves_into(geo, s, moves) if layer != "engine" else 0
    w = np.array(profile_weights("square8"), dtype=np.float64)
    iparams = np.zeros((2, P.NI), dtype=np.int64)  # one row per seat, as the loop's
    fparams = np.zeros((2, P.NF), dtype=np.float64)
    iparams[:, P.I_DEPTH], iparams[:, P.I_NODES] = 2, 40
    iparams[:, P.I_VISITS], iparams[:, P.I_MAX_NODES] = 8, 300
    fparams[:, P.F_CPUCT], fparams[:, P.F_PRIOR_TEMP], fparams[:, P.F_VALUE_SCALE] = 1.5, 8.0, 30.0
    if layer == "engine":  # moves[0] is a view: the first call fills it
        return [
            (legal_moves_into, (geo, s.copy(), moves)),
            (apply_in_place, (geo, s.copy(), moves[0])),
        ]
    if layer == "heuristic":
        from .players.basic import greedy_index

        return [(greedy_index, (geo, s, moves, k, w, s[L.CUR], np.zeros(L.PSLOTS), np.empty(k)))]
    if layer == "minimax":
        from .players.minimax import minimax_choose

        return [(minimax_choose, (geo, s, moves, k, iparams[0], w, np.empty(k)))]
    if layer == "mcts":
        from .players.mcts import mcts_choose, new_memo

        kinds = np.full(2, P.K_MCTS, dtype=np.int32)
        memo = new_memo(kinds, iparams, s[L.NP])
        pol = np.empty(MAX_MOVES_BUFFER, dtype=np.float64)
        return [(mcts_choose, (geo, s, moves, k, iparams[0], fparams[0], w, pol, memo))]
    raise ValueError(f"unknown warm-up layer {layer!r} (one of {', '.join(CALL_LAYERS)})")


def _games() -> None:
    """The game loop: one short game of every engine mode (neural needs a
    model; its kernels compile on first use)."""
    from .dataset.schema import arrow_schema
    from .engine.api import Rules
    from .players.ladder import ENGINE_MODES
    from .selfplay.worker import WorkerConfig, play_one

    rules = Rules("square8", 2)
    for mode in ENGINE_MODES:
        if mode == "neural":
            continue
        cfg = WorkerConfig(
            num_games=1,
            board_type="square8",
            num_players=2,
            output="unused.parquet",
            engine_mode=mode,
            difficulty_band="full",
            max_moves=60,
            worker_id="warmup",
        )
        play_one(rules, cfg, 0, arrow_schema())


def layer_commands(layer: str, folder: str) -> list[list[str]]:
    """The `ringrift` commands a layer runs, on files in ``folder``."""
    part, hexes, combined, moves, out = (
        os.path.join(folder, n)
        for n in ("part.parquet", "hex.parquet", "c.parquet", "m.parquet", "out")
    )
    play = ["selfplay", "--quiet", "--num-games", "2", "--engine-mode", "random", "--output"]
    return {
        "games": [
            [*play, part],
            [*play, hexes, "--board-type", "hex8"],  # for the hex encoder
            ["aggregate", part, "--output", combined, "--seed", "0"],
        ],
        "moves": [["moves", part, "--output", moves]],
        "export": [
            ["export", combined, "--output", f"{out}.jsonl.gz"],
            ["export", combined, "--output", f"{out}.jsonl.gz", "--moves", moves],
        ],
        "tensors": [  # a part's NPZ, a combined file's shards, the hex encoder
            ["tensors", "--output", f"{out}.npz", part],
            ["tensors", "--seed", "0", "--output", out, combined],
            ["tensors", "--encoder", "v3", "--output", f"{out}.npz", hexes],
        ],
    }.get(layer, [])


def warm_layer(layer: str, folder: str) -> None:
    """Compile one layer; the data layers' files are in ``folder``."""
    from .cli import main

    if layer not in LAYERS:
        raise SystemExit(f"ringrift warmup: no layer {layer!r} (one of {', '.join(LAYERS)})")
    if layer == "games":
        _games()
    elif layer in CALL_LAYERS:
        for fn, args in layer_calls(layer):
            fn(*args)
    for argv in layer_commands(layer, folder):
        if main(argv) != 0:
            raise SystemExit(f"ringrift warmup: `ringrift {' '.join(argv)}` failed")


PACKAGE = Path(__file__).resolve().parent


def source_stamp(root: Path = PACKAGE) -> str:
    """A digest of what Numba checks before it loads a cached function: each
    source file's path, modification time and size. The cache folder is
    named by a digest of the source alone, so the same code cloned again,
    checked out anew or installed elsewhere finds that folder, and markers
    in it, while every cached function in it is stale to Numba."""
    h = hashlib.blake2b(digest_size=8)
    for p in sorted(root.rglob("*.py")):
        st = p.stat()
        h.update(f"{p}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
    return h.hexdigest()


def is_marked(marker: Path, stamp: str) -> bool:
    """Whether ``marker`` was written for this source (its first line)."""
    try:
        return marker.read_text().split("\n", 1)[0] == stamp
    except OSError:
        return False


def warm_all() -> str | None:
    """Every layer in its own child process, once per machine and cache
    folder: None, or a line naming the layer that failed (its output went to
    our stderr).

    A marker per host name, holding the source stamp, makes later calls
    return at once: the workflow's start hook calls this on every run.
    Concurrent callers wait on a file lock for the first one's compile."""
    warm = Path(os.environ["NUMBA_CACHE_DIR"]) / "warm"
    marker = warm / socket.gethostname()
    stamp = source_stamp()
    if is_marked(marker, stamp):
        return None
    warm.mkdir(parents=True, exist_ok=True)
    with open(warm / ".lock", "a") as lock, tempfile.TemporaryDirectory() as folder:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if is_marked(marker, stamp):  # warmed by another caller while we waited
            return None
        for layer in LAYERS:
            cmd = [sys.executable, "-m", "ringrift.warmup", layer, folder]
            rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
            if rc != 0:
                return f"ringrift warmup: layer {layer} failed (exit {rc})"
        marker.write_text(f"{stamp}\n{' '.join(LAYERS)}\n")
    return None


if __name__ == "__main__":
    warm_layer(sys.argv[1], sys.argv[2])
