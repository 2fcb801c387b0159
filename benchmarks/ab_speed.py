"""A/B speed of two checkouts on the same fixed work, in one run.

Wall-clock games/hour on a shared 2-core machine moves by +-40% between runs
of the same code, which hides a 20% change. This plays the SAME work in both
trees (this checkout and --baseline, another checkout such as a
`git worktree add ../base main`), alternating the trees round by round, and
takes each item's CPU time (process_time, minimum over the rounds):

* self-play: games 1..N of the worker's seeding for a mode/band (the games
  the worker plays), one board at a time;
* random play: `play_random_games` with fixed seeds (moves per CPU second).

Every item runs in a fresh subprocess per tree, after a warm-up call, so
compilation is never timed. Games must be identical in both trees (the
result digests are compared), unless --allow-different is given.

    python benchmarks/ab_speed.py --baseline ../base [--boards square8 square19]
                                  [--games 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = r"""
import ringrift  # before numba: the cache folder is keyed by this tree's source
import hashlib, json, sys, time
import numpy as np
from ringrift.engine.api import Rules
from ringrift.engine.randplay import play_random_games
from ringrift.players.ladder import seat_levels
from ringrift.selfplay.game import play_game
from ringrift.selfplay.worker import game_seed, params_for

board, mode, band = sys.argv[1:4]
games, rgames = int(sys.argv[4]), int(sys.argv[5])
rules = Rules(board, 2)
s0 = rules.new_game()

def one(g):
    seed = game_seed(99, g)
    levels = seat_levels(mode, band, 2, np.random.default_rng(seed))
    kinds, ip, fp, w = params_for(levels, board)
    return play_game(rules.geo, s0, kinds, ip, fp, w, seed, 10_000)

one(0)
play_random_games(rules.geo, s0, 1, 1, 100_000)
times, h = [], hashlib.blake2b(digest_size=8)
for g in range(1, games + 1):
    t0 = time.process_time()
    res = one(g)
    times.append(time.process_time() - t0)
    for a in res:
        h.update(np.ascontiguousarray(np.asarray(a)).tobytes())
t0 = time.process_time()
steps, _ = play_random_games(rules.geo, s0, rgames, 7, 100_000)
rt = time.process_time() - t0
print(json.dumps({"times": times, "digest": h.hexdigest(), "steps": int(steps), "rtime": rt}))
"""


def _run(tree: str, board: str, args) -> dict:
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            board,
            args.mode,
            args.band,
            str(args.games),
            str(args.random_games),
        ],
        env=env,
        # from /: `python -c` puts the working folder first on sys.path, which
        # would shadow PYTHONPATH (run from inside a checkout, both sides
        # would import that checkout)
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"ab_speed: the run in {tree} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="the other checkout (its repository root)")
    ap.add_argument("--boards", nargs="+", default=["square8", "square19", "hexagonal"])
    ap.add_argument("--mode", default="mixed")
    ap.add_argument("--band", default="light")
    ap.add_argument("--games", type=int, default=10, help="self-play games per board")
    ap.add_argument("--random-games", type=int, default=20, help="random-play games per board")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--allow-different", action="store_true", help="the trees may play different games"
    )
    args = ap.parse_args(argv)
    base = os.path.abspath(args.baseline)
    if not os.path.isdir(os.path.join(base, "ringrift")):
        sys.exit(f"ab_speed: --baseline {args.baseline!r} holds no ringrift package")
    trees = {"baseline": base, "this": REPO}
    print(f"baseline: {base}\nthis:     {REPO}\n")
    print(
        "| board | self-play CPU s baseline | this | speed-up "
        "| random moves/s baseline | this | speed-up | same games |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for board in args.boards:
        best = {k: None for k in trees}
        rbest = {k: None for k in trees}
        digests = {}
        for rnd in range(args.rounds):
            order = list(trees) if rnd % 2 == 0 else list(reversed(trees))
            for k in order:
                r = _run(trees[k], board, args)
                t = r["times"]
                best[k] = t if best[k] is None else [min(a, b) for a, b in zip(best[k], t)]
                rate = r["steps"] / r["rtime"]
                rbest[k] = rate if rbest[k] is None else max(rbest[k], rate)
                digests[k] = r["digest"]
        same = digests["baseline"] == digests["this"]
        if not same and not args.allow_different:
            sys.exit(f"ab_speed: {board}: the trees played different games (digests {digests})")
        b, t = sum(best["baseline"]), sum(best["this"])
        rb, rt = rbest["baseline"], rbest["this"]
        print(
            f"| {board} 2p {args.mode}/{args.band} ({args.games} games) "
            f"| {b:.3f} | {t:.3f} | {b / t:.2f}x | {rb:,.0f} | {rt:,.0f} | {rt / rb:.2f}x "
            f"| {'yes' if same else 'NO'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
