"""Peak RSS of a self-play worker (`ringrift selfplay`) per board and part length.

Each case runs the CLI in a child process, after `ringrift warmup` (so no
compile shows in the peak), and reports the child's maximum resident set, its
rows and row groups. A baseline row, the interpreter with the worker's modules
imported and one game played, shows what the imports and the loaded compiled
code take before any rows are held.

    python benchmarks/worker_memory.py [--cases square8:random:2000 ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq

CASES = (
    "square8:random:2000",
    "square8:random:6000",
    "square8:mixed:600",
    "square19:random:60",
    "hexagonal:random:40",
)
BASELINE = (
    "from ringrift.engine.api import Rules\n"
    "from ringrift.dataset.schema import arrow_schema\n"
    "from ringrift.selfplay.worker import WorkerConfig, play_one\n"
    "cfg = WorkerConfig(num_games=1, board_type='square8', num_players=2,\n"
    "                   output='x.parquet', engine_mode='random', worker_id='b')\n"
    "play_one(Rules('square8', 2), cfg, 0, arrow_schema())\n"
)


def peak_mb(cmd: list[str], env: dict) -> tuple[float, float]:
    """(peak RSS MB, wall s) of a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return ru.ru_maxrss / 1024, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), help="board:engine_mode:games")
    ap.add_argument("--sample-every-n-moves", type=int, default=1)
    args = ap.parse_args(argv)
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "ringrift", "warmup"], env=env, check=True)
    base, _ = peak_mb([sys.executable, "-c", BASELINE], env)
    print("| case | samples | row groups | peak RSS MB | wall s |")
    print("|---|---|---|---|---|")
    print(f"| imports + compiled code + one game (baseline) | - | - | {base:.0f} | - |")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            board, mode, games = case.split(":")
            out = os.path.join(tmp, f"{board}_{mode}_{games}.parquet")
            cmd = [sys.executable, "-m", "ringrift", "selfplay", "--quiet", "--num-games", games]
            cmd += ["--board-type", board, "--engine-mode", mode, "--difficulty-band", "light"]
            cmd += ["--sample-every-n-moves", str(args.sample_every_n_moves), "--seed", "5"]
            mb, wall = peak_mb([*cmd, "--worker-id", "b", "--output", out], env)
            meta = pq.read_metadata(out)
            print(
                f"| {board} {mode}, {games} games | {meta.num_rows:,} | {meta.num_row_groups} "
                f"| {mb:.0f} | {wall:.1f} |"
            )


if __name__ == "__main__":
    main()
