"""Tree reuse: does an MCTS level that keeps its subtree (I_REUSE = 1, the
ladder's setting) play as well as the same level searching every decision
from scratch, and how much faster is it?

Seeded games of one level against itself on square8 2p, one seat reusing
and the other not, seats alternated game by game. Prints the reusing seat's
score (win 1, draw 0.5) with a 95% interval, and the CPU seconds of the same
games played by two plain seats and by two reusing seats (self-play cost).

    python benchmarks/mcts_reuse.py [--levels 8 10] [--games 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringrift.engine import layout as L  # noqa: E402
from ringrift.engine.api import Rules  # noqa: E402
from ringrift.players import params as P  # noqa: E402
from ringrift.selfplay.game import play_game  # noqa: E402
from ringrift.selfplay.worker import game_seed, params_for  # noqa: E402


def play(rules, level, reuse, seed):
    """Winner (0: none) of one game; reuse[i] is seat i+1's I_REUSE."""
    kinds, ip, fp, w = params_for([level, level], rules.board_type)
    for p, r in enumerate(reuse, start=1):
        ip[p, P.I_REUSE] = r
    s = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, seed, 10_000)[0]
    return int(s[L.WINNER]) if s[L.STATUS] == L.ST_COMPLETED else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[8, 10])
    ap.add_argument("--games", type=int, default=100, help="games per level (even)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rules = Rules("square8", 2)
    play(rules, 5, (1, 0), 1)  # compile
    print(
        "| level | games | reusing seat's score | 95% interval "
        "| CPU s, both plain | CPU s, both reusing | speed-up |"
    )
    print("|---|---|---|---|---|---|---|")
    for lv in args.levels:
        score = 0.0
        for g in range(args.games):
            seed = game_seed(args.seed, lv * 100_000 + g)
            reuse = (1, 0) if g % 2 == 0 else (0, 1)
            wn = play(rules, lv, reuse, seed)
            score += 0.5 if wn == 0 else float(reuse[wn - 1])
        cpu = []
        for both in ((0, 0), (1, 1)):
            t = time.process_time()
            for g in range(args.games):
                play(rules, lv, both, game_seed(args.seed, lv * 100_000 + g))
            cpu.append(time.process_time() - t)
        m = score / args.games
        half = 1.96 * math.sqrt(max(m * (1 - m), 1e-9) / args.games)
        print(
            f"| {lv} | {args.games} | {m:.3f} | {max(m - half, 0):.3f}-{min(m + half, 1):.3f} "
            f"| {cpu[0]:.2f} | {cpu[1]:.2f} | {cpu[0] / cpu[1]:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
