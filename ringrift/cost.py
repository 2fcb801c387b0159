"""`ringrift cost`: what a dataset costs, from this machine's measured speed.

Measures games/hour on one core for the chosen board, players and engine mode
(real players, full games), then prints for a few worker counts the wall time
and the spot cost at a given price per vCPU-hour (one game stream per vCPU).
"""
from __future__ import annotations

import time

import numpy as np

from .engine.api import Rules
from .players.ladder import seat_levels
from .selfplay.game import play_game
from .selfplay.worker import params_for, game_seed

# Spot prices move; the default is a typical compute-optimised spot price per
# vCPU-hour (pass your own with --price-per-vcpu-hour).
DEFAULT_PRICE = 0.02


def measure_games_per_hour(board: str, players: int, mode: str, band: str,
                           seconds: float) -> tuple[float, int]:
    rules = Rules(board, players)
    s0 = rules.new_game()

    def one(g):
        seed = game_seed(12345, g)
        levels = seat_levels(mode, band, players, np.random.default_rng(seed))
        kinds, ip, fp, w = params_for(levels, board)
        play_game(rules.geo, s0, kinds, ip, fp, w, seed, 10_000)

    one(0)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        n += 1
        one(n)
    return n / (time.perf_counter() - t0) * 3600, n


def cost_table(games: int, gph: float, workers: list[int], price: float) -> list[dict]:
    rows = []
    for w in workers:
        hours = games / (gph * w)
        rows.append({"workers": w, "vcpus": w, "hours": hours,
                     "vcpu_hours": hours * w, "spot_cost": hours * w * price})
    return rows


def format_report(args, gph: float, timed: int, rows: list[dict]) -> str:
    out = [f"measured: {gph:,.0f} games/hour per vCPU ({args.board_type} {args.num_players}p, "
           f"{args.engine_mode}/{args.difficulty_band}, {timed} games timed on this machine)",
           f"target: {args.games:,} games at ${args.price_per_vcpu_hour:.4f} per vCPU-hour (spot)",
           "",
           "| workers (vCPUs) | wall hours | vCPU-hours | spot cost |",
           "|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['workers']} | {r['hours']:,.2f} | {r['vcpu_hours']:,.1f} | "
                   f"${r['spot_cost']:,.2f} |")
    return "\n".join(out)
