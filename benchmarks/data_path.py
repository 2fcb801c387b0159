"""The data path at scale: samples/s per core and peak RSS of every step, each
against self-play's own rate (the data path must keep up with generation:
issue 14 asks for >= 3x self-play's samples/s per core).

Runs the real commands one after the other, each a child process:

1. ``ringrift selfplay``: one part of ``--samples`` samples (random square8
   2p games, every position sampled: the fastest generation, so the hardest
   ratio for the data path); and ``--default-games`` games of the workflow's
   default self-play (mixed/light, a sample every 10 steps: config/config.yaml),
   the rate a real dataset is made at; every row is shown against both;
2. Parquet write: the part's rows written again through the part writer
   (``PartWriter``, as a worker does), timing only the writing;
3. ``ringrift aggregate`` of ``--aggregate-samples`` rows: the part plus
   copies of it rewritten as other games (benchmarks/aggregate_scale.py; the
   copying is set-up, not timed), and of the part alone (the input of 4-5);
4. ``ringrift export`` (JSONL) of the part (game order) and of its aggregate
   (shuffled rows), then the workflow's way: the part's move table
   (``ringrift moves``) and the aggregate's export copying it (``--moves``);
5. ``ringrift tensors`` of the part's aggregate;
6. today's reference JSONL path (plain Python) on the first rows of the part,
   in this process, for the export's speed-up.

"per core" rates divide by CPU time (user + system, the child's own from
wait4), so other load on a shared machine does not count; for the exports the
CPU time of the export itself (its summary line; loading the Numba kernels
excluded, shown apart). Peak RSS is each process's maximum resident set.

The issue's full run (~25-40 min on one core):

    python benchmarks/data_path.py --samples 1000000 --aggregate-samples 10000000

The default is a quicker run (200k samples, aggregate of 2M).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# random square8 games sampled every move: ~73 samples a game
SAMPLES_PER_GAME = 73


def run_measured(cmd: list[str], env: dict) -> dict:
    """Run ``cmd`` (a ``python`` argument list) as a child; its wall, CPU
    (user + system) and peak RSS from wait4, and its stdout."""
    t0 = time.perf_counter()
    # from /: `python -m` puts the working folder first on sys.path, which
    # would shadow PYTHONPATH (the checkout measured)
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        proc = subprocess.Popen([sys.executable, *cmd], env=env, stdout=fo, stderr=fe, cwd="/")
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read().decode(), fe.read().decode()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed: {err.strip()[-2000:]}")
    return {
        "out": out,
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "rss_mb": ru.ru_maxrss / 1024,
    }


def ringrift(*args) -> list[str]:
    return ["-m", "ringrift", *map(str, args)]


def export_report(out: str) -> tuple[float, float]:
    """(CPU seconds of the export, CPU seconds loading the kernels) from
    `ringrift export`'s summary line."""
    m = re.search(r", ([\d.]+) s CPU \([\d,]+ samples/s\) after ([\d.]+) s CPU loading", out)
    if not m:
        raise SystemExit(f"unexpected export output: {out!r}")
    return float(m.group(1)), float(m.group(2))


def run_selfplay(out: str, games: int, mode: str, every: int, seed: int, env: dict):
    """`ringrift selfplay` of square8 2p games (band light), measured; returns
    (measurement, its stats)."""
    r = run_measured(
        ringrift(
            "selfplay", "--quiet", "--stats-json", "--num-games", games,
            "--board-type", "square8", "--engine-mode", mode, "--difficulty-band", "light",
            "--sample-every-n-moves", every, "--seed", seed, "--worker-id", "bench",
            "--output", out,
        ),
        env,
    )  # fmt: skip
    return r, json.loads(r["out"][r["out"].index("{") :])


def write_part(src: str, dst: str) -> None:
    """Child of step 2: ``src``'s rows through a PartWriter into ``dst``; prints
    the CPU seconds of the writing alone (reading ``src`` is not counted)."""
    import pyarrow as pa

    from ringrift.dataset.parts import PartWriter, iter_checked_batches, verify_file
    from ringrift.engine.geometry import board

    meta = verify_file(src)
    stats = json.loads(meta.metadata[b"ringrift.stats"])
    cpu = 0.0
    w = PartWriter(dst, board(stats["board_type"]).ncell)
    # batches of a worker's row group: what the worker hands the writer
    for batch in iter_checked_batches(src, batch_rows=8192):
        table = pa.Table.from_batches([batch])
        c0 = time.process_time()
        w.add(table)
        cpu += time.process_time() - c0
    c0 = time.process_time()
    w.close(stats)
    cpu += time.process_time() - c0
    print(json.dumps({"cpu": cpu}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200_000, help="samples of self-play")
    ap.add_argument(
        "--aggregate-samples",
        type=int,
        default=2_000_000,
        help="rows of the large aggregate (the part and copies of it)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reference-rows", type=int, default=2000)
    ap.add_argument(
        "--default-games",
        type=int,
        default=300,
        help="games of the workflow's default self-play (mixed/light), the second yardstick",
    )
    ap.add_argument("--workdir", default=None, help="folder for the files (default: a temp one)")
    ap.add_argument("--write-part", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.write_part:
        return write_part(*args.write_part)
    t_start = time.perf_counter()
    sys.path[:0] = [ROOT, HERE]  # ringrift and aggregate_scale, in this process too
    env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONPATH=ROOT)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as d:
        part = os.path.join(d, "part.parquet")
        agg = os.path.join(d, "aggregate.parquet")
        rows = []  # (step, samples, measurement, CPU s of the work, note)

        games = max(1, math.ceil(args.samples / SAMPLES_PER_GAME))
        sp, stats = run_selfplay(part, games, "random", 1, args.seed, env)
        n = int(stats["samples"])
        rows.append(("self-play (`ringrift selfplay`, incl. its part)", n, sp, sp["cpu"], ""))

        # what the workflow runs by default (config/config.yaml): the rate a
        # real dataset is generated at, the second yardstick
        dpart = os.path.join(d, "default.parquet")
        dsp, dstats = run_selfplay(dpart, args.default_games, "mixed", 10, args.seed, env)
        dn = int(dstats["samples"])
        note = f"{args.default_games:,} games; the workflow's default config"
        rows.append(("self-play mixed/light, a sample every 10 steps", dn, dsp, dsp["cpu"], note))
        os.unlink(dpart)

        wp = run_measured([os.path.abspath(__file__), "--write-part", part, part + ".w"], env)
        wcpu = json.loads(wp["out"])["cpu"]
        note = f"{os.path.getsize(part + '.w') / n:.0f} B/sample; RSS incl. reading"
        rows.append(("Parquet write (PartWriter)", n, wp, wcpu, note))
        os.unlink(part + ".w")

        ag = run_measured(
            ringrift("aggregate", "--seed", 1, "--output", agg, "--scratch", d, part), env
        )
        rows.append(("aggregate of the part", n, ag, ag["cpu"], _buckets(ag["out"])))

        k = max(1, math.ceil(args.aggregate_samples / n))
        if k > 1:
            from aggregate_scale import replicate

            t0 = time.perf_counter()
            copies = [part]
            for j in range(1, k):
                copies.append(os.path.join(d, f"copy{j:03d}.parquet"))
                replicate(part, copies[-1], j, int(stats["games"]))
            setup = time.perf_counter() - t0
            big = os.path.join(d, "big.parquet")
            ab = run_measured(
                ringrift("aggregate", "--seed", 1, "--output", big, "--scratch", d, *copies), env
            )
            rows.append(
                (
                    f"aggregate, {k} parts (the part + {k - 1} copies as other games)",
                    k * n,
                    ab,
                    ab["cpu"],
                    f"{_buckets(ab['out'])}, {os.path.getsize(big) / (k * n):.0f} B/row; "
                    f"copies made in {setup:.0f} s (not timed)",
                ),
            )
            for c in copies[1:] + [big]:
                os.unlink(c)

        for name, src in (("part, game order", part), ("aggregate, shuffled", agg)):
            out = os.path.join(d, "x.jsonl.gz")
            ex = run_measured(ringrift("export", "--output", out, src), env)
            cpu, load = export_report(ex["out"])
            note = (
                f"{os.path.getsize(out) / n:,.0f} B/sample gz; kernels loaded in {load:.1f} s CPU"
            )
            rows.append((f"JSONL export (`ringrift export`), {name}", n, ex, cpu, note))
            os.unlink(out)

        # the workflow's way: the part's move table, then the export copying it
        moves = os.path.join(d, "moves.parquet")
        mt = run_measured(ringrift("moves", part, "--output", moves), env)
        from ringrift.export.moves import STEP_BYTES, TABLE_KEY

        steps = json.loads(pq.read_schema(moves).metadata[TABLE_KEY])["steps"]
        note = (
            f"{os.path.getsize(moves) / n:.0f} B/sample, {os.path.getsize(moves) / steps:.1f} "
            f"B/step on file, {STEP_BYTES} B/step loaded; CPU incl. kernel load"
        )
        rows.append(("move table of the part (`ringrift moves`)", n, mt, mt["cpu"], note))
        out = os.path.join(d, "x.jsonl.gz")
        ex = run_measured(ringrift("export", "--output", out, agg, "--moves", moves), env)
        cpu, load = export_report(ex["out"])
        note = f"kernels loaded in {load:.1f} s CPU"
        rows.append(("JSONL export, aggregate, shuffled, with the move table", n, ex, cpu, note))
        os.unlink(out)

        tout = os.path.join(d, "t.npz")
        te = run_measured(ringrift("tensors", "--output", tout, agg), env)
        m = re.search(r"([\d,]+) samples, ", te["out"])
        note = f"{m.group(1) if m else '?'} tensor samples (every step); CPU incl. kernel load"
        rows.append(("tensor export (`ringrift tensors`), aggregate", n, te, te["cpu"], note))

        # today's reference path, in this process, on the first rows of the part
        from ringrift.export.jsonl import export_samples

        table = pq.read_table(part).slice(0, args.reference_rows)
        c0 = time.process_time()
        t0 = time.perf_counter()
        export_samples([table], os.path.join(d, "ref.jsonl.gz"), use_fast=False)
        ref = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "rss_mb": 0}
        rows.append(
            (
                f"reference JSONL path (plain Python), first {table.num_rows} rows",
                table.num_rows,
                ref,
                ref["cpu"],
                "in this process",
            )
        )

    sp_core = n / sp["cpu"]
    dsp_core = dn / dsp["cpu"]
    print(
        f"square8 2p random games sampled every move: {games:,} games, {n:,} samples; "
        f"one core per step (NUMBA_NUM_THREADS=1); whole run {time.perf_counter() - t_start:.0f} s "
        "wall\n"
    )
    print(
        "| step | samples | wall s | CPU s (process) | CPU s (work) | samples/s per core "
        "| x random self-play per core | x default self-play per core | peak RSS MB | notes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, count, r, cpu, note in rows:
        core = count / max(cpu, 1e-9)
        rss = f"{r['rss_mb']:,.0f}" if r["rss_mb"] else ""
        print(
            f"| {name} | {count:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {cpu:.1f} | "
            f"{core:,.0f} | {core / sp_core:.2f} | {core / dsp_core:.2f} | {rss} | {note} |"
        )
    # the path a sample takes after generation: aggregate, then JSONL or tensors
    big = [r for r in rows if r[0].startswith("aggregate")][-1]
    agg_cost = big[3] / big[1]
    table = [r for r in rows if r[0].startswith("move table")][0]
    with_table = [r for r in rows if "with the move table" in r[0]][0]
    for last, cost, extra in (
        ("JSONL export of the aggregate", [r for r in rows if "shuffled" in r[0]][0], 0.0),
        ("move tables + JSONL export with them", with_table, table[3] / table[1]),
        ("tensor export", [r for r in rows if r[0].startswith("tensor")][0], 0.0),
    ):
        total = agg_cost + extra + cost[3] / cost[1]
        print(
            f"\naggregate + {last}: {1 / total:,.0f} samples/s per core, "
            f"{1 / total / sp_core:.2f}x random self-play's {sp_core:,.0f}, "
            f"{1 / total / dsp_core:.2f}x default self-play's {dsp_core:,.0f}"
        )


def _buckets(out: str) -> str:
    m = re.search(r"\((\d+) buckets", out)
    return f"{m.group(1)} buckets" if m else ""


if __name__ == "__main__":
    main()
