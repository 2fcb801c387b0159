"""The data path at scale: `ringrift aggregate` of 1M and 10M square8 samples
(wall and CPU time, rows/s, peak RSS), and the self-play worker's peak RSS.

Real parts: one `ringrift selfplay --engine-mode random --sample-every-n-moves 1`
part (7000 games, ~512k samples: long games, every position sampled, so the
largest rows), or with ``--base default`` one part of the workflow's default
self-play (mixed/light, a sample every 10 moves: config/config.yaml; e.g.
``--base-games 100000``, ~1.4M samples). Larger datasets replicate it: copy k is
rewritten through the part writer as other games (worker id, game ids, game
indices and game seeds changed, so no game repeats; a fresh digest), so the
aggregate reads, checks and shuffles k distinct games' worth of real rows.
Every command runs as a child process; its peak RSS and CPU time come from
wait4 (the machine may be shared: CPU time is the fair measure).

    python benchmarks/aggregate_scale.py [--rows 1000000 10000000] [--workdir DIR]
        [--base random|default] [--base-games 7000]
        [--selfplay-random 7000] [--selfplay-mixed 4000]
        [--baseline /path/to/other/checkout [--reps 3]]

A workdir holds one base part: use another workdir for the other ``--base``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ringrift.dataset.parts import PartWriter, iter_checked_batches, verify_file
from ringrift.engine.geometry import board


def run_measured(cmd: list[str], pythonpath: str | None = None) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds and peak RSS (bytes) of the child."""
    env = dict(os.environ)
    env["PYTHONPATH"] = (
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if pythonpath is None
        else pythonpath
    )
    t0 = time.perf_counter()
    # from / : `python -m` puts the working folder first on sys.path, which
    # would shadow PYTHONPATH (the checkout being measured)
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, cwd="/")
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix all)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read().decode(), fe.read().decode()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{err[-2000:]}")
    return {
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss": ru.ru_maxrss * 1024,
        "out": out.strip(),
    }


def ringrift(*args) -> list[str]:
    return [sys.executable, "-m", "ringrift", *map(str, args)]


def replicate(base: str, dst: str, k: int, games: int) -> None:
    """Copy ``k`` of ``base``: the same rows as other games (ids, indices and
    seeds moved past every other copy's), written as a fresh part."""
    if os.path.exists(dst):
        return
    meta = verify_file(base)
    stats = json.loads(meta.metadata[b"ringrift.stats"])
    worker = f"{stats['worker_id']}_copy{k}"
    w = PartWriter(dst, board(stats["board_type"]).ncell)
    try:
        for batch in iter_checked_batches(base):
            t = pa.Table.from_batches([batch])
            gi = t.column("game_index").to_numpy() + k * games
            gid = [
                f"{worker}_{i}_{old.rsplit('_', 1)[-1]}"
                for i, old in zip(gi.tolist(), t.column("game_id").to_pylist())
            ]
            cols = {name: t.column(name).combine_chunks() for name in t.column_names}
            cols["game_id"] = pa.array(gid)
            cols["game_index"] = pa.array(gi.astype(np.int32))
            cols["game_seed"] = pa.array(t.column("game_seed").to_numpy() + k * (1 << 31))
            cols["worker_id"] = pa.array([worker] * t.num_rows)
            w.add(pa.Table.from_pydict(cols, schema=w.schema))
        w.close(
            {
                **stats,
                "worker_id": worker,
                "game_offset": stats.get("game_offset", 0) + k * games,
                "replica_of": os.path.basename(base),
            }
        )
    except BaseException as exc:
        w.abort(exc)
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--workdir", default="/tmp/ringrift-aggregate-scale")
    ap.add_argument("--base-games", type=int, default=7000)
    ap.add_argument(
        "--base",
        choices=("random", "default"),
        default="random",
        help="the base part's self-play: random, every move sampled; or the "
        "workflow's default (mixed/light, a sample every 10 moves)",
    )
    ap.add_argument(
        "--selfplay-random",
        type=int,
        default=7000,
        help="games of the measured random worker (0: skip); it is the base part",
    )
    ap.add_argument(
        "--selfplay-mixed",
        type=int,
        default=4000,
        help="games of the measured mixed worker (0: skip)",
    )
    ap.add_argument(
        "--baseline",
        default=None,
        help="another checkout whose `ringrift aggregate` is timed at the first "
        "size too (e.g. the previous implementation)",
    )
    ap.add_argument(
        "--reps",
        type=int,
        default=1,
        help="with --baseline: this many pairs of runs at the first size, each "
        "pair this checkout then the baseline, and their ratios (a shared "
        "machine's drift between pairs cancels out within one)",
    )
    args = ap.parse_args(argv)
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    rows_out = []
    ratios = []  # baseline CPU time / this checkout's, per pair of runs

    base = os.path.join(args.workdir, "part_base.parquet")
    if not os.path.exists(base):
        r = run_measured(
            ringrift(
                "selfplay",
                "--num-games",
                args.base_games,
                "--board-type",
                "square8",
                *(
                    ("--engine-mode", "random", "--sample-every-n-moves", 1)
                    if args.base == "random"
                    else (
                        "--engine-mode",
                        "mixed",
                        "--difficulty-band",
                        "light",
                        "--sample-every-n-moves",
                        10,
                    )
                ),
                "--seed",
                11,
                "--worker-id",
                "w0",
                "--quiet",
                "--output",
                base,
            )
        )
        if args.base == "random" and args.selfplay_random == args.base_games:
            rows_out.append(
                (
                    f"selfplay {args.base_games} random games, every move sampled",
                    pq.read_metadata(base).num_rows,
                    r,
                )
            )
    elif args.selfplay_random:
        r = run_measured(
            ringrift(
                "selfplay",
                "--num-games",
                args.selfplay_random,
                "--board-type",
                "square8",
                "--engine-mode",
                "random",
                "--sample-every-n-moves",
                1,
                "--seed",
                11,
                "--worker-id",
                "w0",
                "--quiet",
                "--output",
                os.path.join(args.workdir, "r.parquet"),
            )
        )
        rows_out.append(
            (
                f"selfplay {args.selfplay_random} random games, every move sampled",
                pq.read_metadata(os.path.join(args.workdir, "r.parquet")).num_rows,
                r,
            )
        )
    if args.selfplay_mixed:
        out = os.path.join(args.workdir, "mixed.parquet")
        r = run_measured(
            ringrift(
                "selfplay",
                "--num-games",
                args.selfplay_mixed,
                "--board-type",
                "square8",
                "--engine-mode",
                "mixed",
                "--seed",
                12,
                "--worker-id",
                "m",
                "--quiet",
                "--output",
                out,
            )
        )
        rows_out.append(
            (f"selfplay {args.selfplay_mixed} mixed games", pq.read_metadata(out).num_rows, r)
        )

    per_part = pq.read_metadata(base).num_rows
    base_stats = part_stats_of(base)
    games = base_stats["games"]
    for i, want in enumerate(args.rows):
        k = max(1, math.ceil(want / per_part))
        parts = [base]
        for j in range(1, k):
            dst = os.path.join(args.workdir, f"part_copy{j:03d}.parquet")
            replicate(base, dst, j, games)
            parts.append(dst)
        out = os.path.join(args.workdir, f"agg_{k}.parquet")
        n = k * per_part
        cmd = ringrift("aggregate", "--seed", 1, "--output", out, "--scratch", args.workdir, *parts)
        whos = (None, args.baseline) if i == 0 and args.baseline else (None,)
        pairs = args.reps if len(whos) == 2 else 1
        for rep in range(pairs):
            pair = []
            for who in whos:
                r = run_measured(cmd, pythonpath=who)
                r["bytes"] = os.path.getsize(out)
                os.unlink(out)
                name = f"baseline ({who})" if who else f"aggregate {k} parts ({k - 1} replicas)"
                rows_out.append((name + (f", pair {rep + 1}" if pairs > 1 else ""), n, r))
                pair.append(r["cpu"])
            if len(pair) == 2:
                ratios.append(pair[1] / pair[0])

    print(
        "| step | rows | wall s | CPU s | rows/s (wall) | rows/s per CPU-s | peak RSS | "
        "output B/row |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, n, r in rows_out:
        size = f"{r['bytes'] / n:.0f}" if "bytes" in r else ""
        print(
            f"| {name} | {n:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {n / r['wall']:,.0f} | "
            f"{n / r['cpu']:,.0f} | {r['rss'] / 2**20:,.0f} MB | {size} |"
        )
    if ratios:
        print(
            f"\nrows per CPU-second, this checkout over the baseline ({args.baseline}), "
            f"per pair: {', '.join(f'{x:.3f}' for x in ratios)}; "
            f"median {float(np.median(ratios)):.3f}"
        )
    print(
        f"\nparts: one real part of {per_part:,} samples ({games} square8 games, "
        f"{base_stats.get('engine_mode')}/{base_stats.get('difficulty_band')}); "
        "larger datasets add copies of it rewritten as distinct games (new worker id, game "
        "ids, indices and seeds; valid digests)."
    )


def part_stats_of(path: str) -> dict:
    return json.loads(pq.read_metadata(path).metadata[b"ringrift.stats"])


if __name__ == "__main__":
    main()
