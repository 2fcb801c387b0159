"""Neural self-play speed against batch size: positions/s and games/hour per
core for a small random-weight conv net, and the share of CPU time spent in
the network call (onnxruntime) versus everything else (engine, search,
encoders in Numba; the Python driver).

Every seat plays the net (PUCT with --visits simulations, 0 = policy only).
Each batch size plays max(4, 2 x batch) games, so finished games' slots are
refilled and batches stay full until the tail. One process, one core
(onnxruntime with one thread): CPU seconds (time.process_time) are per core.

    python benchmarks/neural.py [--visits 16] [--batches 1 4 16 64] [--boards square8 hex8]
"""

from __future__ import annotations

import argparse
import time

from ringrift.engine.api import Rules
from ringrift.neural.build import conv_model
from ringrift.neural.driver import NeuralPlay
from ringrift.neural.model import load_model
from ringrift.neural.options import NeuralOptions
from ringrift.selfplay.worker import game_seed, params_for


def measure(board: str, batch: int, visits: int, width: int):
    rules = Rules(board, 2)
    model = load_model(f"<conv {board}>", board, data=conv_model(board, seed=0, width=width))
    opts = NeuralOptions(visits=visits)
    kinds, ip, fp, w = params_for([11, 11], board, None, opts)

    def play(games, slots, first):
        jobs = [(g, game_seed(7, g), kinds, ip, fp, w) for g in range(first, first + games)]
        p = NeuralPlay(rules, model, slots, slots, 10_000, visits)
        t0 = time.process_time()
        n = sum(1 for _ in p.run(jobs))
        return p, n, time.process_time() - t0

    play(1, 1, 10**6)  # compile / load the Numba cache
    p, games, cpu = play(max(4, 2 * batch), batch, 0)
    return {
        "pos_s": p.positions / cpu,
        "games_h": games / cpu * 3600,
        "net": p.seconds_net / cpu,
        "engine": p.seconds_engine / cpu,
        "rows": p.positions / p.calls,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=16)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--boards", nargs="+", default=["square8", "hex8"])
    ap.add_argument("--width", type=int, default=8, help="conv channels of the net")
    a = ap.parse_args()
    print(f"conv net: 3x3 conv {a.width} channels + dense heads; PUCT {a.visits} visits")
    print(
        f"{'board':8} {'batch':>5} {'rows/call':>9} {'positions/s':>11} {'games/h':>8} "
        f"{'net':>5} {'engine':>6} {'python':>6}"
    )
    for board in a.boards:
        for b in a.batches:
            r = measure(board, b, a.visits, a.width)
            print(
                f"{board:8} {b:5d} {r['rows']:9.1f} {r['pos_s']:11.0f} {r['games_h']:8.0f} "
                f"{r['net']:5.0%} {r['engine']:6.0%} {1 - r['net'] - r['engine']:6.0%}"
            )


if __name__ == "__main__":
    main()
