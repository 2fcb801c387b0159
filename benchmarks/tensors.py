"""Training tensors: samples/s per core and peak RSS of `ringrift tensors`
(read Parquet + replay + encode + deflate + write), per board and encoder,
next to the reference exporter's figures.

Each case plays random games into one Parquet part (not timed), then runs
the export in a fresh single-threaded child process: a warm-up export of one
game (Numba cache load), then the timed export; peak RSS is the child's
maxrss over both.

    python benchmarks/tensors.py [--games 40] [--boards square8,hex8] [--sample-every 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

# the reference exporter (an0mium/RingRift export_replay_dataset_parallel.py),
# figures quoted in issue 15: samples/s, and 0.9 GB RSS for one hexagonal game
REFERENCE = {("square8", "v2"): 350.0, ("hexagonal", "v3"): 25.0}

CASES = (
    ("square8", "v2", 1.0),
    ("hex8", "v2", 1.0),
    ("hex8", "v3", 1.0),
    ("square19", "v2", 0.25),
    ("hexagonal", "v2", 0.1),
    ("hexagonal", "v3", 0.1),
)

CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
from ringrift.tensors.export import ExportConfig, export_tensors
a = json.loads(sys.argv[1])
cfg = ExportConfig(encoder=a["encoder"], sample_every=a["every"], policy=a["policy"])
export_tensors([a["warm"]], a["out"] + ".warm.npz", cfg)
t = time.perf_counter()
c = time.process_time()
res = export_tensors([a["part"]], a["out"], cfg)
dt = time.perf_counter() - t
cpu_s = time.process_time() - c
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"samples": res["samples"], "seconds": dt, "cpu_seconds": cpu_s,
                  "games": res["games"],
                  "rss_mb": cpu.ru_maxrss / 1024, "bytes": os.path.getsize(a["out"])}))
"""


def _part(path, board, games, seed):
    from ringrift.selfplay.worker import WorkerConfig, run_worker

    run_worker(
        WorkerConfig(
            num_games=games,
            board_type=board,
            num_players=2,
            output=path,
            seed=seed,
            engine_mode="random",
            worker_id=f"bench{seed}",
        )
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=100, help="games on square8 (others scaled)")
    ap.add_argument("--boards", default="square8,hex8,square19,hexagonal")
    ap.add_argument("--sample-every", type=int, default=1)
    ap.add_argument("--policy", default="onehot", choices=("soft", "onehot"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    boards = args.boards.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        parts = {}
        for board, enc, scale in CASES:
            if board not in boards:
                continue
            if board not in parts:
                p = os.path.join(tmp, f"{board}.parquet")
                w = os.path.join(tmp, f"{board}_warm.parquet")
                _part(p, board, max(1, round(args.games * scale)), 1)
                _part(w, board, 1, 2)
                parts[board] = (p, w)
            p, w = parts[board]
            a = {
                "part": p,
                "warm": w,
                "encoder": enc,
                "every": args.sample_every,
                "policy": args.policy,
                "out": os.path.join(tmp, f"{board}_{enc}.npz"),
            }
            env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, json.dumps(a)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r.update(board=board, encoder=enc if board.startswith("hex") else "square")
            # per core = per CPU-second of the (single-threaded) export: the wall
            # clock also counts time the process waited for a shared CPU
            r["samples_per_s"] = r["samples"] / r["cpu_seconds"]
            r["samples_per_wall_s"] = r["samples"] / r["seconds"]
            ref = REFERENCE.get((board, enc))
            r["reference"] = ref
            r["speedup"] = r["samples_per_s"] / ref if ref else None
            rows.append(r)
            os.unlink(a["out"])
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        "| board | encoder | games | samples | samples/s/core (CPU) | samples/s (wall) | "
        "reference samples/s | speed-up | peak RSS (MB) | NPZ bytes/sample |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ref = f"{r['reference']:.0f}" if r["reference"] else "n/a"
        sp = f"{r['speedup']:.0f}x" if r["speedup"] else "n/a"
        print(
            f"| {r['board']} | {r['encoder']} | {r['games']} | {r['samples']} | "
            f"{r['samples_per_s']:,.0f} | {r['samples_per_wall_s']:,.0f} | {ref} | {sp} | "
            f"{r['rss_mb']:.0f} | "
            f"{r['bytes'] / max(1, r['samples']):,.0f} |"
        )


if __name__ == "__main__":
    main()
