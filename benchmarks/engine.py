"""Engine speed: random play with the full legal list generated at every step.

Prints, per board and player count, moves/s and games/s on one core; the cold
JIT compile time (fresh NUMBA_CACHE_DIR), the warm start-up time (same cache,
new process: import + first legal list) and peak RSS per board.

    python benchmarks/engine.py [--seconds 3] [--boards square8 hex8] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

BOARDS = ("square8", "square19", "hex8", "hexagonal")
TARGET_MOVES = 300_000
TARGET_RSS_MB = 300
TARGET_WARM_S = 2.0

_STARTUP = r"""
import time, sys
t0 = time.perf_counter()
from ringrift.engine.api import Rules
from ringrift.engine.randplay import play_random_games
r = Rules("square8", 2)
s = r.new_game()
r.legal(s)
t1 = time.perf_counter()
play_random_games(r.geo, s, 1, 0, 100000)
print(t1 - t0, time.perf_counter() - t0)
"""

_RUN = r"""
import json, resource, sys, time
from ringrift.engine.api import Rules
from ringrift.engine.randplay import play_random_games
board, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
r = Rules(board, n)
s0 = r.new_game()
play_random_games(r.geo, s0, 1, 0, 100000)
games = steps = capped = 0
t0 = time.perf_counter()
batch = 1
while time.perf_counter() - t0 < seconds:
    st, cp = play_random_games(r.geo, s0, batch, 1000 + games, 100000)
    games += batch; steps += st; capped += cp
    batch = min(batch * 2, 256)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"board": board, "players": n, "games": games, "moves": steps,
                  "seconds": dt, "moves_per_s": steps / dt, "games_per_s": games / dt,
                  "capped": capped, "peak_rss_mb": rss}))
"""


def _py(code, *args, env=None):
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                         text=True, env=env, check=True)
    return out.stdout.strip().splitlines()[-1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--boards", nargs="+", default=list(BOARDS), choices=BOARDS)
    ap.add_argument("--players", nargs="+", type=int, default=[2, 3, 4])
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        t0 = time.perf_counter()
        _py(_STARTUP, env=env)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        first_legal, _ = map(float, _py(_STARTUP, env=env).split())
        warm = time.perf_counter() - t0
        rows = []
        for b in args.boards:
            for n in args.players:
                rows.append(json.loads(_py(_RUN, b, n, args.seconds, env=env)))
                print(f"  {b} {n}p: {rows[-1]['moves_per_s']:,.0f} moves/s", file=sys.stderr)

    print(f"cold compile (new process, empty cache, import + first game): {cold:.1f} s")
    print(f"warm start (new process, warm cache, to first legal list): "
          f"{first_legal:.2f} s in-process, {warm:.2f} s wall incl. interpreter "
          f"(target < {TARGET_WARM_S} s)")
    print()
    print("| board | players | moves/s | games/s | moves/game | peak RSS MB | capped |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['board']} | {r['players']} | {r['moves_per_s']:,.0f} | {r['games_per_s']:,.1f} "
              f"| {r['moves'] / r['games']:.0f} | {r['peak_rss_mb']:.0f} | {r['capped']} |")
    sq = [r for r in rows if r["board"] == "square8" and r["players"] == 2]
    if sq:
        print(f"\nsquare8 2p: {sq[0]['moves_per_s']:,.0f} moves/s (target >= {TARGET_MOVES:,})")
    print(f"max peak RSS: {max(r['peak_rss_mb'] for r in rows):.0f} MB (target < {TARGET_RSS_MB})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cold_compile_s": cold, "warm_start_s": first_legal,
                       "warm_start_wall_s": warm, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
