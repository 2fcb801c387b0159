"""Engine speed: uniformly random play, full legal list generated at every step.

Every step calls ``legal_moves_into`` and picks one move uniformly with a
seeded generator (``ringrift.engine.randplay.play_random_games``; the whole
game loop runs inside Numba). Each board / player count runs in its own
single-threaded subprocess, so the table is one core's throughput plus that
process's peak RSS. Also measured:

* cold JIT compile: a subprocess with a fresh, empty NUMBA_CACHE_DIR times
  import + the first call of legal_moves_into, legal_moves, apply_move and the
  play loop;
* warm start-up: new subprocesses with the same (now warm) cache, timed from
  just before the process is spawned (interpreter start + imports included) to
  the first legal move list; best and median of a few runs;
* peak RSS (ru_maxrss) of every benchmark subprocess.

    python benchmarks/engine.py [--seconds 3] [--boards square8 hex8]
                                [--players 2 3 4] [--json out.json]

The whole default run (cold compile ~1.5 min + 12 configs x ~4.5 s) stays
under ~3 minutes on a 2-core machine. The benchmark processes are
single-threaded; anything else running on the machine slows them down, so the
table also shows each run's CPU share (process CPU time / wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BOARDS = ("square8", "square19", "hex8", "hexagonal")
PLAYERS = (2, 3, 4)
# 2-player moves/s per board (issue #16); other boards and counts: no target
TARGET_MOVES = {"square8": 1_000_000, "square19": 400_000, "hexagonal": 400_000}
TARGET_RSS_MB = 300  # every board
TARGET_WARM_S = 2.0  # warm start, process start -> first legal list
SAFETY_CAP = 100_000  # moves per game; random games end long before

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Cold compile: every timing is a first call, so it includes compilation.
_COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves, legal_moves_into
from ringrift.engine.randplay import play_random_games
t1 = time.perf_counter()
r = Rules("square8", 2)
s = r.new_game()
out = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)
k = legal_moves_into(r.geo, s, out)
t2 = time.perf_counter()
legal_moves(r.geo, s)
t3 = time.perf_counter()
apply_move(r.geo, s, out[0])
t4 = time.perf_counter()
play_random_games(r.geo, s, 1, 0, int(sys.argv[1]))
t5 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "legal_moves_into_s": t2 - t1,
                  "legal_moves_s": t3 - t2, "apply_move_s": t4 - t3,
                  "play_loop_s": t5 - t4, "in_process_s": t5 - t0}))
"""

# Warm start: wall-clock stamps (time.time) so the parent can measure from
# before the spawn; perf_counter deltas for the in-process breakdown.
_WARM = r"""
import time
w0 = time.time(); t0 = time.perf_counter()
import json, sys
import numpy as np
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.rules import MAX_MOVES_BUFFER, legal_moves_into
t1 = time.perf_counter()
r = Rules("square8", 2)
s = r.new_game()
out = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)
k = legal_moves_into(r.geo, s, out)
w2 = time.time(); t2 = time.perf_counter()
from ringrift.engine.randplay import play_random_games
play_random_games(r.geo, s, 1, 0, int(sys.argv[1]))
t3 = time.perf_counter()
print(json.dumps({"interp_ready_wall": w0, "first_legal_wall": w2, "import_s": t1 - t0,
                  "first_legal_s": t2 - t0, "first_game_s": t3 - t0, "moves": int(k)}))
"""

# Throughput of one board / player count, in its own process.
_RUN = r"""
import json, resource, sys, time
from ringrift.engine.api import Rules
from ringrift.engine.randplay import play_random_games
board, n, seconds, cap, seed = (sys.argv[1], int(sys.argv[2]), float(sys.argv[3]),
                                 int(sys.argv[4]), int(sys.argv[5]))
r = Rules(board, n)
s0 = r.new_game()
t = time.perf_counter()
play_random_games(r.geo, s0, 1, seed, cap)           # load from cache, warm up
first = time.perf_counter() - t
games = steps = capped = 0
batch = 1
c0 = time.process_time()
t0 = time.perf_counter()
while True:
    st, cp = play_random_games(r.geo, s0, batch, seed + 1 + games, cap)
    games += batch
    steps += st
    capped += cp
    el = time.perf_counter() - t0
    if el >= seconds:
        break
    # batches of ~0.25 s: few Python round trips, small overshoot of the budget
    gps = games / el if el > 0 else 1.0
    batch = max(1, min(int(0.25 * gps), int((seconds - el) * gps) + 1))
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux
hwm = None
try:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
except OSError:
    pass
print(json.dumps({"board": board, "players": n, "games": games, "moves": steps,
                  "seconds": dt, "cpu_seconds": cpu, "moves_per_s": steps / dt,
                  "games_per_s": games / dt, "moves_per_game": steps / games,
                  "capped": capped, "first_game_s": first,
                  "peak_rss_mb": rss_mb, "vm_hwm_mb": hwm}))
"""


def _run_py(code: str, *args, env: dict) -> tuple[dict, float]:
    """Run `python -c code args` in a fresh process; return its last stdout
    line parsed as JSON and the spawn-to-exit wall time."""
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark subprocess failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def _warm_start(env: dict, cap: int) -> dict:
    spawn = time.time()
    res, wall = _run_py(_WARM, cap, env=env)
    res["spawn_to_first_legal_s"] = res["first_legal_wall"] - spawn
    res["interp_start_s"] = res["interp_ready_wall"] - spawn
    res["process_wall_s"] = wall
    return res


def _env(cache_dir: str | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds", type=float, default=3.0, help="timed play per board/player config (default 3)"
    )
    ap.add_argument("--boards", nargs="+", default=list(BOARDS), choices=BOARDS)
    ap.add_argument("--players", nargs="+", type=int, default=list(PLAYERS), choices=PLAYERS)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument(
        "--max-moves",
        type=int,
        default=SAFETY_CAP,
        help="safety cap on moves per game; capped games are reported",
    )
    ap.add_argument("--warm-runs", type=int, default=3, help="warm start-up repetitions")
    ap.add_argument(
        "--no-cold", action="store_true", help="skip the cold compile; use the normal Numba cache"
    )
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the numbers here")
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ringrift-numba-") as tmp:
        env = _env(None if args.no_cold else tmp)
        cold = None
        if not args.no_cold:
            log("cold compile (fresh NUMBA_CACHE_DIR) ...")
            cold, wall = _run_py(_COLD, args.max_moves, env=env)
            cold["process_wall_s"] = wall
            log(f"  {wall:.1f} s")
        else:
            _run_py(_WARM, args.max_moves, env=env)  # make sure the cache is populated
        warm_runs = [_warm_start(env, args.max_moves) for _ in range(max(1, args.warm_runs))]
        warm_vals = [w["spawn_to_first_legal_s"] for w in warm_runs]
        warm = {
            "best_s": min(warm_vals),
            "median_s": statistics.median(warm_vals),
            "runs": warm_runs,
        }
        log(f"warm start: best {warm['best_s']:.2f} s, median {warm['median_s']:.2f} s")

        rows = []
        for b in args.boards:
            for n in args.players:
                row, wall = _run_py(_RUN, b, n, args.seconds, args.max_moves, args.seed, env=env)
                row["process_wall_s"] = wall
                rows.append(row)
                log(
                    f"  {b} {n}p: {row['moves_per_s']:,.0f} moves/s, "
                    f"{row['games_per_s']:,.1f} games/s, {row['peak_rss_mb']:.0f} MB"
                )
    load1 = os.getloadavg()

    # ---- report ------------------------------------------------------------
    print("# RingRift engine benchmark: random play, full legal list every step, one core\n")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load0[0]:.2f} before / {load1[0]:.2f} after, "
        f"{args.seconds:g} s per config, safety cap {args.max_moves:,} moves/game\n"
    )
    if cold:
        print("## JIT compile and start-up\n")
        print("| measurement | seconds | target |")
        print("|---|---|---|")
        print(f"| cold: import ringrift.engine (empty cache) | {cold['import_s']:.2f} | |")
        print(f"| cold: first legal_moves_into (compile) | {cold['legal_moves_into_s']:.2f} | |")
        print(f"| cold: first legal_moves (compile) | {cold['legal_moves_s']:.2f} | |")
        print(f"| cold: first apply_move (compile) | {cold['apply_move_s']:.2f} | |")
        print(f"| cold: first play_random_games (compile) | {cold['play_loop_s']:.2f} | |")
        print(f"| cold: total in process | {cold['in_process_s']:.2f} | |")
        print(f"| cold: total process wall (incl. interpreter) | {cold['process_wall_s']:.2f} | |")
    else:
        print("## Start-up (cold compile skipped)\n")
        print("| measurement | seconds | target |")
        print("|---|---|---|")
    w0 = min(warm["runs"], key=lambda w: w["spawn_to_first_legal_s"])
    print(
        f"| warm: spawn -> first legal list, best of {len(warm_vals)} "
        f"| {warm['best_s']:.2f} | < {TARGET_WARM_S:g} ({_ok(warm['best_s'] < TARGET_WARM_S)}) |"
    )
    print(
        f"| warm: spawn -> first legal list, median "
        f"| {warm['median_s']:.2f} | < {TARGET_WARM_S:g} "
        f"({_ok(warm['median_s'] < TARGET_WARM_S)}) |"
    )
    print(f"| warm (best run): interpreter start | {w0['interp_start_s']:.2f} | |")
    print(f"| warm (best run): imports (numpy, numba, engine) | {w0['import_s']:.2f} | |")
    print(
        f"| warm (best run): imports + first legal list, in process | {w0['first_legal_s']:.2f} | |"
    )
    print(
        "| warm (best run): + first full random game (loads play loop) "
        f"| {w0['first_game_s']:.2f} | |"
    )

    print("\n## Random-play throughput (one core)\n")
    print(
        "| board | players | moves/s | target | games/s | moves/game | games timed "
        "| CPU share | moves/CPU-s | peak RSS MB | RSS target | capped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        want = TARGET_MOVES.get(r["board"]) if r["players"] == 2 else None
        if want:
            tgt = f">= {want:,} ({_ok(r['moves_per_s'] >= want)})"
        else:
            tgt = ""
        cap = str(r["capped"]) if r["capped"] == 0 else f"**{r['capped']} HIT CAP**"
        print(
            f"| {r['board']} | {r['players']} | {r['moves_per_s']:,.0f} | {tgt} "
            f"| {r['games_per_s']:,.1f} | {r['moves_per_game']:,.0f} | {r['games']:,} "
            f"| {r['cpu_seconds'] / r['seconds']:.0%} | {r['moves'] / r['cpu_seconds']:,.0f} "
            f"| {r['peak_rss_mb']:.0f} "
            f"| < {TARGET_RSS_MB} ({_ok(r['peak_rss_mb'] < TARGET_RSS_MB)}) | {cap} |"
        )

    print("\n## Targets\n")
    for r in rows:
        want = TARGET_MOVES.get(r["board"]) if r["players"] == 2 else None
        if want:
            print(
                f"- {r['board']} 2p: {r['moves_per_s']:,.0f} moves/s "
                f"(target >= {want:,}: {_ok(r['moves_per_s'] >= want)})"
            )
    per_board = {}
    for r in rows:
        per_board[r["board"]] = max(per_board.get(r["board"], 0.0), r["peak_rss_mb"])
    rss_txt = ", ".join(f"{b} {v:.0f} MB" for b, v in per_board.items())
    print(
        f"- peak RSS per board: {rss_txt} "
        f"(target < {TARGET_RSS_MB} MB: "
        f"{_ok(all(v < TARGET_RSS_MB for v in per_board.values()))})"
    )
    print(
        f"- warm start: {warm['best_s']:.2f} s best, {warm['median_s']:.2f} s median "
        f"(target < {TARGET_WARM_S:g} s: {_ok(warm['median_s'] < TARGET_WARM_S)})"
    )
    n_capped = sum(r["capped"] for r in rows)
    print(f"- games that hit the {args.max_moves:,}-move safety cap: {n_capped}")
    if any(r["cpu_seconds"] / r["seconds"] < 0.9 for r in rows):
        print(
            "- note: some runs got < 90% of a core (other load on the machine); "
            "their moves/s understate the engine (moves/CPU-s is the better estimate)"
        )

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "python": sys.version,
                    "cpus": os.cpu_count(),
                    "loadavg_before": load0,
                    "loadavg_after": load1,
                    "seconds_per_config": args.seconds,
                    "max_moves": args.max_moves,
                    "seed": args.seed,
                    "targets": {
                        "moves_per_s_2p": TARGET_MOVES,
                        "peak_rss_mb": TARGET_RSS_MB,
                        "warm_start_s": TARGET_WARM_S,
                    },
                    "cold_compile": cold,
                    "warm_start": warm,
                    "rows": rows,
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
