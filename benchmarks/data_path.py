"""The data path at scale: self-play vs export, samples/s per core and peak RSS.

Runs the real commands one after the other, each a single-threaded process:

1. ``ringrift selfplay`` writes one part of ~100k samples (7,200 mixed/light
   square8 2p games at one sample per 10 moves);
2. ``ringrift export`` of that part (game order: the samples of a game share
   one replay);
3. ``ringrift aggregate`` of the part, then ``ringrift export`` of the
   aggregate (shuffled rows: nearly every sample replays its game alone, the
   case of the workflow's export of a large aggregate);
4. today's reference path (plain Python, ``use_fast=False``) on the first
   2,000 rows of the part, in this process, for the speed-up.

"per core" rates divide by CPU time (user + system), so other load on the
machine does not count: for the exports the CPU time of the export itself
(its summary line; start-up and loading the Numba cache excluded), for
self-play the whole process's. "wall" rates are the commands' own reports.
Peak RSS is each process's maximum resident set.

    python benchmarks/data_path.py [--games 7200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq


def run_measured(cmd: list[str], env: dict) -> dict:
    """As run(), with the child's own resource usage (os.wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ringrift", *cmd],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # read the pipes to the end, then reap with wait4 for this child's rusage
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"ringrift {cmd[0]} failed: {err.strip()[-2000:]}")
    return {
        "out": out,
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss_mb": ru.ru_maxrss / 1024,
    }


def export_report(out: str) -> tuple[float, float]:
    """(samples/s, CPU seconds) from `ringrift export`'s summary line."""
    m = re.search(r", ([\d.]+) s CPU \(([\d,]+) samples/s\)", out)
    if not m:
        raise SystemExit(f"unexpected export output: {out!r}")
    return float(m.group(2).replace(",", "")), float(m.group(1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=7200)
    ap.add_argument("--board-type", default="square8")
    ap.add_argument("--num-players", type=int, default=2)
    ap.add_argument("--engine-mode", default="mixed")
    ap.add_argument("--difficulty-band", default="light")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reference-rows", type=int, default=2000)
    ap.add_argument("--keep", default=None, help="folder to keep the files in")
    args = ap.parse_args(argv)
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or tmp
        os.makedirs(d, exist_ok=True)
        part = os.path.join(d, "part.parquet")
        agg = os.path.join(d, "aggregate.parquet")
        rows = []

        sp = run_measured(
            [
                "selfplay",
                "--quiet",
                "--stats-json",
                "--num-games",
                str(args.games),
                "--board-type",
                args.board_type,
                "--num-players",
                str(args.num_players),
                "--engine-mode",
                args.engine_mode,
                "--difficulty-band",
                args.difficulty_band,
                "--seed",
                str(args.seed),
                "--worker-id",
                "bench",
                "--output",
                part,
            ],
            env,
        )
        stats = json.loads(sp["out"][sp["out"].index("{") :])
        n = int(stats["samples"])
        rows.append(
            ("self-play (ringrift selfplay)", n, sp, stats["samples_per_s"], os.path.getsize(part))
        )

        ex = run_measured(["export", "--output", os.path.join(d, "part.jsonl.gz"), part], env)
        rate, ex["own_cpu"] = export_report(ex["out"])
        rows.append(
            (
                "export of the part (game order)",
                n,
                ex,
                rate,
                os.path.getsize(os.path.join(d, "part.jsonl.gz")),
            )
        )

        run_measured(["aggregate", "--seed", "1", "--output", agg, part], env)
        ea = run_measured(["export", "--output", os.path.join(d, "agg.jsonl.gz"), agg], env)
        rate, ea["own_cpu"] = export_report(ea["out"])
        rows.append(
            (
                "export of the aggregate (shuffled)",
                n,
                ea,
                rate,
                os.path.getsize(os.path.join(d, "agg.jsonl.gz")),
            )
        )

        # today's path, in this process, on the first rows of the part
        from ringrift.export.jsonl import export_samples

        table = pq.read_table(part).slice(0, args.reference_rows)
        out = os.path.join(d, "ref.jsonl.gz")
        c0 = time.process_time()
        t0 = time.perf_counter()
        export_samples([table], out, use_fast=False)
        ref = {
            "wall": time.perf_counter() - t0,
            "cpu": time.process_time() - c0,
            "rss_mb": float("nan"),
        }
        ref["own_cpu"] = ref["cpu"]
        rows.append(
            (
                f"reference path (plain Python), first {table.num_rows} rows",
                table.num_rows,
                ref,
                table.num_rows / ref["wall"],
                os.path.getsize(out),
            )
        )

    print(
        f"{args.games} {args.engine_mode}/{args.difficulty_band} games on {args.board_type} "
        f"{args.num_players}p, {n:,} samples; one core per step (NUMBA_NUM_THREADS=1)\n"
    )
    print(
        "| step | samples | process wall s | process CPU s | samples/s (wall, own report) "
        "| samples/s per core (CPU of the work) | peak RSS MB | bytes/sample (gz) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, count, r, rate, size in rows:
        print(
            f"| {name} | {count:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {rate:,.0f} | "
            f"{count / r.get('own_cpu', r['cpu']):,.0f} | {r['rss_mb']:.0f} | "
            f"{size / count:,.0f} |"
        )
    sp_core = rows[0][1] / rows[0][2]["cpu"]
    print()
    for name, count, r, _, _ in rows[1:3]:
        core = count / r["own_cpu"]
        print(
            f"{name}: {core / sp_core:.1f} cores of self-play per core of export "
            f"({core:,.0f} vs {sp_core:,.0f} samples/s per core)"
        )
    ref_core = rows[3][1] / rows[3][2]["cpu"]
    print(
        f"speed-up over the reference path per core: "
        f"part {rows[1][1] / rows[1][2]['own_cpu'] / ref_core:.1f}x, "
        f"aggregate {rows[2][1] / rows[2][2]['own_cpu'] / ref_core:.1f}x"
    )


if __name__ == "__main__":
    main()
