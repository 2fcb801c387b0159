"""`ringrift cost`: what a dataset costs, from this machine's measured speed.

Measures games/hour on one core for the chosen board, players and engine mode
through the real worker path (``run_worker``: full games with real players,
sample extraction, and a Parquet part written to a temporary folder), then
prints for a few worker counts the wall time and the spot cost at a given
price per vCPU-hour (one game stream per vCPU).
"""

from __future__ import annotations

import os
import tempfile
import time

from .selfplay.worker import WorkerConfig, run_worker

# Spot prices move; the default is a typical compute-optimised spot price per
# vCPU-hour (pass your own with --price-per-vcpu-hour).
DEFAULT_PRICE = 0.02


def measure_worker(
    board: str,
    players: int,
    mode: str,
    band: str,
    seconds: float,
    *,
    sample_every_n_moves: int = 10,
    max_moves: int = 10_000,
) -> dict:
    """Time ``run_worker`` as a self-play job runs it (play, extract samples,
    write one part). One warm-up game loads the compiled code; then parts
    grow until one takes at least half of ``seconds`` (sized from the pace of
    the one before); that last call is the measurement, the write included."""
    with tempfile.TemporaryDirectory(prefix="ringrift-cost-") as tmp:

        def part(games: int, offset: int):
            cfg = WorkerConfig(
                num_games=games,
                board_type=board,
                num_players=players,
                output=os.path.join(tmp, f"part_{offset}.parquet"),
                seed=12345,
                engine_mode=mode,
                difficulty_band=band,
                sample_every_n_moves=sample_every_n_moves,
                max_moves=max_moves,
                worker_id="cost",
                game_offset=offset,
            )
            t0 = time.perf_counter()
            st = run_worker(cfg)
            return time.perf_counter() - t0, st, os.path.getsize(cfg.output)

        part(1, 0)  # loads (or compiles) the jitted code
        games, offset = 2, 1
        while True:  # grow the part until it fills half the time
            dt, st, nbytes = part(games, offset)
            offset += games
            if dt >= seconds / 2 or games >= 1_000_000:
                break
            games = min(games * 64, max(games + 1, int(games * seconds / max(dt, 1e-3))))
    return {
        "games": games,
        "seconds": dt,
        "games_per_hour": games / dt * 3600,
        "samples": st["samples"],
        "samples_per_game": st["samples"] / games,
        "bytes_per_sample": nbytes / max(st["samples"], 1),
    }


def measure_games_per_hour(
    board: str, players: int, mode: str, band: str, seconds: float
) -> tuple[float, int]:
    m = measure_worker(board, players, mode, band, seconds)
    return m["games_per_hour"], m["games"]


def cost_table(games: int, gph: float, workers: list[int], price: float) -> list[dict]:
    rows = []
    for w in workers:
        hours = games / (gph * w)
        rows.append(
            {
                "workers": w,
                "vcpus": w,
                "hours": hours,
                "vcpu_hours": hours * w,
                "spot_cost": hours * w * price,
            }
        )
    return rows


def _size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1000:
            return f"{nbytes:,.0f} {unit}"
        nbytes /= 1000
    return f"{nbytes:,.1f} TB"


def format_report(args, m: dict, rows: list[dict]) -> str:
    gph = m["games_per_hour"]
    size = args.games * m["samples_per_game"] * m["bytes_per_sample"]
    out = [
        f"measured: {gph:,.0f} games/hour per vCPU ({args.board_type} {args.num_players}p, "
        f"{args.engine_mode}/{args.difficulty_band}, {m['games']} games timed on this machine "
        "through the self-play worker: play, sample, write a part)",
        f"samples: {m['samples_per_game']:.1f} per game, {m['bytes_per_sample']:.0f} "
        f"bytes/sample in Parquet (about {_size(size)} for the target)",
        f"target: {args.games:,} games at ${args.price_per_vcpu_hour:.4f} per vCPU-hour (spot)",
        "",
        "| workers (vCPUs) | wall hours | vCPU-hours | spot cost |",
        "|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['workers']} | {r['hours']:,.2f} | {r['vcpu_hours']:,.1f} | "
            f"${r['spot_cost']:,.2f} |"
        )
    return "\n".join(out)
