"""Ladder round-robin: do higher levels win more?

Seeded round-robin between ladder levels on square8 2p (and a smaller one on
hex8 2p): every pair plays --games-per-pair games with seats alternated
(each level plays first in half of them). Prints the score matrix (row
level's score against the column level; win 1, draw 0.5), each level's total
score, and an Elo table fitted by Bradley-Terry maximum likelihood (one
virtual draw per pair keeps perfect records finite; level 1 = 0 Elo).

With --speed it also prints, per level, engine steps and decisions per second
in self-play (square8 2p) and games per hour per core for the mixed/light
mix, both in the bare game loop and through the self-play worker (replay,
sampling and Parquet output included).

    python benchmarks/ladder.py [--games-per-pair 10] [--levels 1,2,3,4,5,6]
                                [--hex-games-per-pair 4] [--hex-levels 1,2,3,4,5]
                                [--speed] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringrift.engine import layout as L  # noqa: E402
from ringrift.engine.api import Rules  # noqa: E402
from ringrift.players.ladder import LEVELS, describe_level  # noqa: E402
from ringrift.selfplay.game import play_game  # noqa: E402
from ringrift.selfplay.worker import game_seed, params_for  # noqa: E402


def play(rules, levels, seed, max_moves):
    kinds, ip, fp, w = params_for(levels, rules.board_type)
    out = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, seed, max_moves)
    s = out[0]
    winner = int(s[L.WINNER]) if s[L.STATUS] == L.ST_COMPLETED else 0
    return winner, len(out[1]), int(out[2].sum())


def round_robin(board, levels, games_per_pair, seed, max_moves, log):
    rules = Rules(board, 2)
    n = len(levels)
    score = np.zeros((n, n))
    games = np.zeros((n, n))
    t0 = time.perf_counter()
    for (i, a), (j, b) in itertools.combinations(enumerate(levels), 2):
        t = time.perf_counter()
        sa = 0.0
        for g in range(games_per_pair):
            seats = (a, b) if g % 2 == 0 else (b, a)
            gs = game_seed(seed, (a * 100 + b) * 10_000 + g)
            winner, _, _ = play(rules, list(seats), gs, max_moves)
            if winner == 0:
                pa = 0.5
            else:
                pa = 1.0 if seats[winner - 1] == a else 0.0
            sa += pa
        score[i, j] += sa
        score[j, i] += games_per_pair - sa
        games[i, j] += games_per_pair
        games[j, i] += games_per_pair
        log(
            f"  {board} L{a} vs L{b}: {sa:g}-{games_per_pair - sa:g} "
            f"({time.perf_counter() - t:.1f} s)"
        )
    return score, games, time.perf_counter() - t0


def fit_elo(score, games, iters=2000):
    """Bradley-Terry MLE (MM algorithm) with one virtual draw per pair."""
    n = len(score)
    s = score + 0.5 * (games > 0)
    g = games + 1.0 * (games > 0)
    r = np.ones(n)
    for _ in range(iters):
        new = np.empty(n)
        for i in range(n):
            den = sum(g[i, j] / (r[i] + r[j]) for j in range(n) if j != i and g[i, j] > 0)
            new[i] = s[i].sum() / den if den > 0 else r[i]
        new /= new[0]
        if np.allclose(new, r, rtol=1e-10):
            r = new
            break
        r = new
    return 400.0 * np.log10(r / r[0])


def print_table(board, levels, score, games, elo, out=print):
    out(f"\n{board} 2p: score of row level against column level")
    out("       " + "".join(f"{'L' + str(b):>7}" for b in levels) + "   total    Elo")
    for i, a in enumerate(levels):
        cells = []
        for j in range(len(levels)):
            cells.append("      -" if i == j else f"{score[i, j] / games[i, j]:7.2f}")
        tot = score[i].sum() / games[i].sum()
        out(
            f"{'L' + str(a):>6} " + "".join(cells) + f"  {tot:6.3f}  {elo[i]:5.0f}  "
            f"{describe_level(a)}"
        )


def level_speed(levels, seconds, seed):
    """Self-play L vs L on square8 2p: steps/s and decisions/s."""
    rules = Rules("square8", 2)
    rows = []
    for lv in levels:
        play(rules, [lv, lv], seed, 60)  # compile / warm
        steps = decisions = games = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds or games == 0:
            _, st, dc = play(rules, [lv, lv], game_seed(seed, games), 10_000)
            steps += st
            decisions += dc
            games += 1
        dt = time.perf_counter() - t0
        rows.append(
            {
                "level": lv,
                "games": games,
                "steps_per_s": steps / dt,
                "decisions_per_s": decisions / dt,
                "games_per_s": games / dt,
                "steps_per_game": steps / games,
            }
        )
    return rows


def mixed_light_speed(seconds, seed):
    """Games/hour/core for engine mode mixed, band light on square8 2p."""
    import tempfile

    from ringrift.players.ladder import seat_levels
    from ringrift.selfplay.worker import WorkerConfig, run_worker

    rules = Rules("square8", 2)
    games = steps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        gs = game_seed(seed, games)
        lv = seat_levels("mixed", "light", 2, np.random.default_rng(gs))
        _, st, _ = play(rules, lv, gs, 10_000)
        games += 1
        steps += st
    loop = games / (time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        n = max(50, int(loop * seconds))
        cfg = WorkerConfig(
            num_games=n,
            board_type="square8",
            num_players=2,
            output=f"{tmp}/part.parquet",
            seed=seed,
            engine_mode="mixed",
            difficulty_band="light",
            worker_id="bench",
        )
        st = run_worker(cfg)
    return {
        "loop_games_per_hour": loop * 3600,
        "loop_steps_per_game": steps / games,
        "worker_games_per_hour": st["games_per_s"] * 3600,
        "worker_games": n,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games-per-pair", type=int, default=10)
    ap.add_argument(
        "--levels",
        default="1,2,3,4,5,6,7,8",
        help="comma-separated ladder levels (square8 round-robin)",
    )
    ap.add_argument(
        "--hex-games-per-pair",
        type=int,
        default=4,
        help="games per pair in the hex8 round-robin (0 = skip it)",
    )
    ap.add_argument("--hex-levels", default="1,2,3,4,5,6")
    ap.add_argument("--max-moves", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--speed",
        action="store_true",
        help="also measure per-level speed and mixed/light games per hour",
    )
    ap.add_argument("--speed-seconds", type=float, default=3.0)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)

    def parse(text):
        lv = sorted({int(x) for x in text.split(",") if x.strip()})
        bad = [x for x in lv if x not in LEVELS]
        if bad or len(lv) < 2:
            ap.error(f"levels must be at least two of 1-10, got {text!r}")
        return lv

    levels = parse(args.levels)
    result = {"seed": args.seed, "games_per_pair": args.games_per_pair, "tables": {}}
    runs = [("square8", levels, args.games_per_pair)]
    if args.hex_games_per_pair > 0:
        runs.append(("hex8", parse(args.hex_levels), args.hex_games_per_pair))
    for board, lv, gpp in runs:
        print(f"{board}: round-robin of levels {lv}, {gpp} games per pair", flush=True)
        score, games, dt = round_robin(
            board, lv, gpp, args.seed, args.max_moves, lambda m: print(m, flush=True)
        )
        elo = fit_elo(score, games)
        print_table(board, lv, score, games, elo)
        print(f"({int(games.sum() / 2)} games in {dt:.0f} s)")
        result["tables"][board] = {
            "levels": lv,
            "score": score.tolist(),
            "games": games.tolist(),
            "elo": [round(float(e), 1) for e in elo],
            "monotone": bool(all(elo[i] < elo[i + 1] for i in range(len(lv) - 1))),
        }
    if args.speed:
        print("\nsquare8 2p self-play speed per level (L vs L, one core)")
        rows = level_speed(sorted(set(levels)), args.speed_seconds, args.seed)
        for r in rows:
            print(
                f"  L{r['level']:<3} {r['decisions_per_s']:10,.0f} decisions/s "
                f"{r['steps_per_s']:10,.0f} steps/s {r['games_per_s']:8.2f} games/s "
                f"({r['steps_per_game']:.0f} steps/game)  {describe_level(r['level'])}"
            )
        ml = mixed_light_speed(args.speed_seconds * 3, args.seed)
        print(
            f"  mixed/light: {ml['loop_games_per_hour']:,.0f} games/hour/core in the game "
            f"loop ({ml['loop_steps_per_game']:.0f} steps/game), "
            f"{ml['worker_games_per_hour']:,.0f} through the worker "
            f"({ml['worker_games']} games, Parquet included)"
        )
        result["speed"] = {"levels": rows, "mixed_light": ml}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
