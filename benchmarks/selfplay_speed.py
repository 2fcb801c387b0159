"""Self-play speed: games per hour per core for each engine mode and band.

Plays complete games with the real players (one process, one core), as the
worker does, and prints games/hour/core. The issue's target for mixed/light on
square8 2p is 40,000 games/hour/core (1000x the seed's 40).

    python benchmarks/selfplay_speed.py [--seconds 10] [--boards square8 hex8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ringrift.engine.api import Rules
from ringrift.players.ladder import BANDS, ENGINE_MODES, seat_levels
from ringrift.selfplay.game import play_game
from ringrift.selfplay.worker import game_seed, params_for

TARGET = 40_000


def measure(board: str, mode: str, band: str, seconds: float) -> tuple[float, float, int]:
    rules = Rules(board, 2)
    s0 = rules.new_game()

    def one(g):
        seed = game_seed(99, g)
        levels = seat_levels(mode, band, 2, np.random.default_rng(seed))
        kinds, ip, fp, w = params_for(levels, board)
        res = play_game(rules.geo, s0, kinds, ip, fp, w, seed, 10_000)
        return int(np.count_nonzero(res[2]))

    one(0)  # compile / load cache
    games = decisions = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds or games < 3:
        decisions += one(games + 1)
        games += 1
    dt = time.perf_counter() - t0
    return games / dt * 3600, decisions / games, games


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--boards", nargs="+", default=["square8", "hex8"])
    # neural needs a model: benchmarks/neural.py measures it
    ap.add_argument("--modes", nargs="+", default=[m for m in ENGINE_MODES if m != "neural"])
    ap.add_argument("--bands", nargs="+", default=list(BANDS))
    args = ap.parse_args(argv)
    print("| board | mode | band | games/hour/core | decisions/game | games timed |")
    print("|---|---|---|---|---|---|")
    for board in args.boards:
        for mode in args.modes:
            for band in args.bands:
                gph, dpg, n = measure(board, mode, band, args.seconds)
                print(
                    f"| {board} 2p | {mode} | {band} | {gph:,.0f} | {dpg:.0f} | {n} |", flush=True
                )
    print(f"\ntarget: mixed/light on square8 2p >= {TARGET:,} games/hour/core")


if __name__ == "__main__":
    main()
