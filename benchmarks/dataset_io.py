"""Dataset I/O: samples/s written and bytes per sample, Parquet vs JSONL.gz.

Plays games (mixed/light by default) into rows once, then times writing them
as a Parquet part and exporting that part to the seed's JSONL.gz format.

    python benchmarks/dataset_io.py [--games 200] [--board-type square8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from ringrift.dataset.parts import write_part
from ringrift.engine.api import Rules
from ringrift.export.jsonl import main_export
from ringrift.selfplay.worker import GameRows, WorkerConfig, play_one


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=200)
    ap.add_argument("--board-type", default="square8")
    ap.add_argument("--num-players", type=int, default=2)
    ap.add_argument("--engine-mode", default="mixed")
    args = ap.parse_args(argv)
    rules = Rules(args.board_type, args.num_players)
    with tempfile.TemporaryDirectory() as tmp:
        part = os.path.join(tmp, "p.parquet")
        cfg = WorkerConfig(
            num_games=args.games,
            board_type=args.board_type,
            num_players=args.num_players,
            output=part,
            engine_mode=args.engine_mode,
            worker_id="bench",
        )
        rows = GameRows()
        t0 = time.perf_counter()
        for g in range(args.games):
            play_one(rules, cfg, g, rows)
        play_s = time.perf_counter() - t0
        n = len(rows)
        t0 = time.perf_counter()
        write_part(part, rows, rules.board.ncell, {"games": args.games, "samples": n})
        pq_s = time.perf_counter() - t0
        out = os.path.join(tmp, "p.jsonl.gz")
        t0 = time.perf_counter()
        main_export([part], out)
        js_s = time.perf_counter() - t0
        pq_b = os.path.getsize(part)
        js_b = os.path.getsize(out)
    print(
        f"{args.games} {args.engine_mode} games on {args.board_type} {args.num_players}p: "
        f"{n} samples, played in {play_s:.1f} s ({n / play_s:,.0f} samples/s incl. play)"
    )
    print("| format | write samples/s | bytes/sample | file MB |")
    print("|---|---|---|---|")
    print(f"| Parquet (zstd) | {n / pq_s:,.0f} | {pq_b / n:,.0f} | {pq_b / 1e6:.2f} |")
    print(
        f"| JSONL.gz (seed format, full state + history) | {n / js_s:,.0f} | {js_b / n:,.0f} "
        f"| {js_b / 1e6:.2f} |"
    )


if __name__ == "__main__":
    main()
