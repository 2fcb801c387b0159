"""Peak RSS and CPU time of a cold Numba warm-up, layered (`ringrift warmup`:
one child process per layer of ringrift/warmup.py) against all layers in one
process, each on its own empty cache; what the dataset jobs compile when the
warm-up covers only self-play (as it did before the data layers); and the
self-play speed and data of the layered and one-process caches, which must
be the same.

    python benchmarks/warmup_memory.py [--games 60]     # ~15 min on one core
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq

from ringrift.warmup import LAYERS, layer_commands

ONE_PROCESS = (
    "import sys\nfrom ringrift import warmup\n"
    "for layer in warmup.LAYERS:\n    warmup.warm_layer(layer, sys.argv[1])\n"
)
SELFPLAY_LAYERS = LAYERS[: LAYERS.index("games") + 1]


def run(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """(peak RSS MB, CPU s, wall s) of a child process and its own children."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime, time.perf_counter() - t0


def row(name: str, mb: float, cpu: float, wall: float) -> str:
    return f"| {name} | {mb:.0f} | {cpu:.1f} | {wall:.1f} |"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=60, help="self-play games per speed case")
    args = ap.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:

        def env(name):
            os.makedirs(f"{tmp}/{name}/files", exist_ok=True)
            return dict(os.environ, NUMBA_CACHE_DIR=f"{tmp}/{name}/cache", NUMBA_NUM_THREADS="1")

        print("| warm-up, cold cache | peak RSS MB | CPU s | wall s |")
        print("|---|---|---|---|")
        peak, cpu_sum, wall_sum = 0.0, 0.0, 0.0
        for layer in LAYERS:  # what `ringrift warmup` runs, one child each
            mb, cpu, wall = run(
                [py, "-m", "ringrift.warmup", layer, f"{tmp}/layered/files"], env("layered")
            )
            peak, cpu_sum, wall_sum = max(peak, mb), cpu_sum + cpu, wall_sum + wall
            print(row(f"layer {layer}", mb, cpu, wall))
        print(row("**layered** (max, sum, sum)", peak, cpu_sum, wall_sum))
        one = run([py, "-c", ONE_PROCESS, f"{tmp}/one/files"], env("one"))
        print(row("**all layers in one process**", *one))
        print(f"\npeak RSS, one process / layered: {one[0] / peak:.2f}x\n")

        # before the data layers: the warm-up stopped at the game loop, and
        # every dataset job compiled its own kernels
        print("| dataset job, self-play layers warm only | peak RSS MB | CPU s | wall s |")
        print("|---|---|---|---|")
        folder = f"{tmp}/before/files"
        for layer in SELFPLAY_LAYERS:
            run([py, "-m", "ringrift.warmup", layer, folder], env("before"))
        for layer in LAYERS[len(SELFPLAY_LAYERS) :]:
            for argv in layer_commands(layer, folder):
                print(
                    row(
                        f"`ringrift {argv[0]}` ({layer} layer)",
                        *run([py, "-m", "ringrift", *argv], env("before")),
                    )
                )

        print(
            "\n| self-play, warm cache | layered CPU s | one process CPU s | ratio | samples |",
            end="",
        )
        print(" same rows |\n|---|---|---|---|---|---|")
        for mode in ("mixed", "mcts"):
            cpu, tables = {}, {}
            for name in ("layered", "one"):
                out = f"{tmp}/{name}/{mode}.parquet"
                cmd = [py, "-m", "ringrift", "selfplay", "--quiet", "--num-games", str(args.games)]
                cmd += ["--engine-mode", mode, "--difficulty-band", "full", "--worker-id", "b"]
                cpu[name] = run([*cmd, "--output", out], env(name))[1]
                tables[name] = pq.read_table(out)
            a, b = cpu["layered"], cpu["one"]
            same = tables["layered"].equals(tables["one"])
            rows = tables["layered"].num_rows
            print(
                f"| {mode}, {args.games} games | {a:.1f} | {b:.1f} | {b / a:.2f} | {rows:,}", end=""
            )
            print(f" | {same} |")


if __name__ == "__main__":
    main()
