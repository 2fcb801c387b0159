"""Where self-play time goes: per player level, and inside minimax per operation.

Numba code is opaque to cProfile, so this plays the benchmark's games with
the game loop in Python (the same jitted calls in the same order, so the same
games as play_game) and times every call, then replays each minimax decision
with minimax's search run as plain Python (``_search.py_func``) whose jitted
calls are recorded (operation, arguments); every recorded call is then timed
again in jitted loops, one per operation, so the table gives each operation's
time without Python's overhead.

    python benchmarks/profile_selfplay.py --board square19 --games 3
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

# ringrift before numba: importing it points NUMBA_CACHE_DIR at a folder keyed
# by the package's source; numba imported first would keep its default cache
# beside each file, keyed by that file's time only, and could run machine code
# of callees that have since changed (seen here: a 2x slower stale
# _any_territory_move after territory.py changed)
import ringrift  # noqa: F401

# isort: split

import numpy as np
from numba import njit

import ringrift.players.minimax as MM
from ringrift.engine.api import Rules
from ringrift.engine.layout import (
    CUR,
    F_TYPE,
    MF,
    MOVE_COUNT,
    MT_PLACE_RING,
    NCELL,
    ST_ACTIVE,
    STATUS,
)
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from ringrift.engine.stacks import height, top
from ringrift.engine.territory import surely_no_regions
from ringrift.players.evaluate import _regions_count, evaluate
from ringrift.players.ladder import seat_levels
from ringrift.players.mcts import memo_step, new_memo
from ringrift.players.params import K_MINIMAX, W_REGION
from ringrift.players.scan import (
    position_value,
    scan_alloc,
    scan_fill,
    scan_value,
    scan_values,
    worth_scanning,
)
from ringrift.players.select import select_move
from ringrift.selfplay.game import is_bookkeeping
from ringrift.selfplay.worker import game_seed, params_for


@njit(cache=True)
def _seed(x):
    np.random.seed(x)


def play(rules, g, mode, band, board, dec):
    """One benchmark game (seed 99, index g), timing each step; appends the
    minimax decisions (state, moves, iparams, weights) to dec."""
    seed = game_seed(99, g)
    levels = seat_levels(mode, band, rules.num_players, np.random.default_rng(seed))
    kinds, ip, fp, w = params_for(levels, board)
    geo = rules.geo
    _seed(seed)
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    pol = np.empty(MAX_MOVES_BUFFER, dtype=np.float64)
    s = rules.new_game()
    memo = new_memo(kinds, ip, rules.num_players)
    t = defaultdict(float)
    n = defaultdict(int)
    while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < 10_000:
        t0 = time.perf_counter()
        k = legal_moves_into(geo, s, out)
        t1 = time.perf_counter()
        t["legal (game loop)"] += t1 - t0
        if k == 1 and is_bookkeeping(out[0, F_TYPE]):
            i = 0
        else:
            p = s[CUR]
            lv = levels[p - 1]
            if kinds[p] == K_MINIMAX:
                dec.append((s.copy(), out[:k].copy(), ip[p].copy(), w[p].copy()))
            i = select_move(geo, s, out, k, kinds[p], ip[p], fp[p], w[p], pol, memo)
            t2 = time.perf_counter()
            key = f"level {lv} decisions" + (" (k=1)" if k == 1 else "")
            t[key] += t2 - t1
            n[key] += 1
        t3 = time.perf_counter()
        s = apply_move(geo, s, out[i])
        memo_step(memo, i)
        t["apply (game loop)"] += time.perf_counter() - t3
        n["steps"] += 1
    return t, n, levels


# --- minimax replayed as Python with its jitted calls recorded ---------------
REC = defaultdict(list)


def _rec_apply(geo, s, mv):
    REC["apply_move " + ("placement" if mv[F_TYPE] == MT_PLACE_RING else "other")].append(
        (s.copy(), mv.copy())
    )
    return apply_move(geo, s, mv)


def _rec_legal(geo, s, out):
    REC["legal_moves_into (search)"].append(s.copy())
    return legal_moves_into(geo, s, out)


def _rec_eval(geo, s, w, me, sc):
    if s[STATUS] == ST_ACTIVE:
        REC["evaluate (leaf)"].append((s.copy(), w, me))
    return evaluate(geo, s, w, me, sc)


def _rec_position_value(geo, s, w, me, sc, ply):
    if s[STATUS] == ST_ACTIVE:  # a leaf evaluated: recorded
        return _rec_eval(geo, s, w, me, sc)
    return position_value(geo, s, w, me, sc, ply)


def _rec_scan_values(geo, s, moves, k, w, me, sc, vals, ply):
    kind = "placements" if worth_scanning(s, moves, k) else "other moves"
    REC[f"scan_values (root and ordering), {kind}"].append((s.copy(), moves[:k].copy(), w, me, ply))
    return scan_values(geo, s, moves, k, w, me, sc, vals, ply)


def _rec_scan_fill(geo, s, w, sn):
    REC["scan_fill (leaf nodes)"].append((s.copy(), w))
    return scan_fill(geo, s, w, sn)


def _rec_scan_value(geo, s, sn, mv, w, me, sc, ply):
    REC["scan_value (leaves)"].append((s.copy(), mv.copy(), w, me, ply))
    return scan_value(geo, s, sn, mv, w, me, sc, ply)


def instrumented(fn):
    MM.apply_move = _rec_apply
    MM.legal_moves_into = _rec_legal
    MM.position_value = _rec_position_value
    MM.scan_values = _rec_scan_values
    MM.scan_fill = _rec_scan_fill
    MM.scan_value = _rec_scan_value
    MM._enter = MM._enter.py_func
    MM._search = MM._search.py_func
    MM._report = MM._report.py_func
    return fn.py_func


@njit(cache=True)
def _t_apply(geo, states, moves):
    x = 0
    for i in range(states.shape[0]):
        x += apply_move(geo, states[i], moves[i])[0]
    return x


@njit(cache=True)
def _t_legal(geo, states):
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    x = 0
    for i in range(states.shape[0]):
        x += legal_moves_into(geo, states[i], out)
    return x


@njit(cache=True)
def _t_eval(geo, states, ws, mes):
    sc = np.zeros(8)
    x = 0.0
    for i in range(states.shape[0]):
        x += evaluate(geo, states[i], ws[i], mes[i], sc)
    return x


@njit(cache=True)
def _t_surely(states):
    x = 0
    for i in range(states.shape[0]):
        x += surely_no_regions(states[i])
    return x


def _stacks(s):
    """Stacks controlled per player (evaluate's count, for _regions_count)."""
    n = s[NCELL]
    out = np.zeros(8, dtype=np.int64)
    for c in range(n):
        if height(s, c) > 0:
            out[top(s, c)] += 1
    return out


@njit(cache=True)
def _t_scan_fill(geo, states, ws):
    sn = scan_alloc(states[0])
    for i in range(states.shape[0]):
        scan_fill(geo, states[i], ws[i], sn)
    return sn.no[0]


@njit(cache=True)
def _t_scan_value(geo, states, moves, ws, mes, plies, fill):
    """scan_value per call; fill[i]: record states[i] first (its time is
    measured apart, so the total subtracts a fill-only run)."""
    sn = scan_alloc(states[0])
    sc = np.zeros(8)
    x = 0.0
    for i in range(states.shape[0]):
        if fill[i]:
            scan_fill(geo, states[i], ws[i], sn)
        x += scan_value(geo, states[i], sn, moves[i], ws[i], mes[i], sc, plies[i])
    return x


@njit(cache=True)
def _t_scan_values(geo, s, moves, w, me, ply):
    sc = np.zeros(8)
    vals = np.empty(moves.shape[0])
    scan_values(geo, s, moves, moves.shape[0], w, me, sc, vals, ply)
    return vals[0]


def _best(f, reps=3):
    b = 1e9
    for _ in range(reps):
        t0 = time.process_time()
        f()
        b = min(b, time.process_time() - t0)
    return b


def time_recorded(geo):
    """Seconds per recorded operation (min of 3 runs)."""
    res = {}
    for key, lst in REC.items():
        if not lst:
            continue
        if key.startswith("apply_move"):
            st = np.stack([a for a, _ in lst])
            mv = np.stack([b for _, b in lst])
            res[key] = (len(lst), _best(lambda: _t_apply(geo, st, mv)))
        elif key.startswith("legal"):
            st = np.stack(lst)
            res[key] = (len(lst), _best(lambda: _t_legal(geo, st)))
        elif key.startswith("evaluate"):
            st = np.stack([a for a, _, _ in lst])
            ws = np.stack([b for _, b, _ in lst])
            me = np.array([c for _, _, c in lst])
            full = _best(lambda: _t_eval(geo, st, ws, me))
            # the same leaves without the region terms (weight 0 skips them)
            ws0 = ws.copy()
            ws0[:, W_REGION] = 0.0
            cells = min(_best(lambda: _t_eval(geo, st, ws0, me)), full)
            res[key + ": cell pass and material"] = (len(lst), cells)
            res[key + ": region terms"] = (len(lst), full - cells)
            # ... of which the "no region" proof (find_regions' first step)
            reg = np.array([_regions_count(a, b, _stacks(a)) for a, b, _ in lst], dtype=np.bool_)
            if reg.any():
                sr = st[reg]
                res[key + ": region terms: surely_no_regions"] = (
                    int(reg.sum()),
                    _best(lambda: _t_surely(sr)),
                )
        elif key.startswith("scan_fill"):
            st = np.stack([a for a, _ in lst])
            ws = np.stack([b for _, b in lst])
            res[key] = (len(lst), _best(lambda: _t_scan_fill(geo, st, ws)))
        elif key.startswith("scan_value "):
            st = np.stack([a[0] for a in lst])
            mv = np.stack([a[1] for a in lst])
            ws = np.stack([a[2] for a in lst])
            me = np.array([a[3] for a in lst])
            pl = np.array([a[4] for a in lst])
            fill = np.ones(len(lst), dtype=np.bool_)
            for i in range(1, len(lst)):
                fill[i] = not np.array_equal(st[i], st[i - 1])
            both = _best(lambda: _t_scan_value(geo, st, mv, ws, me, pl, fill))
            fills = st[fill]
            only = _best(lambda: _t_scan_fill(geo, fills, ws[fill]))
            res[key] = (len(lst), max(both - only, 0.0))
        elif key.startswith("scan_values"):

            def run():
                for s, mv, w, me, ply in lst:
                    _t_scan_values(geo, s, mv, w, me, ply)

            res[key] = (len(lst), _best(run))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square19")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--games", type=int, default=3)
    ap.add_argument("--mode", default="mixed")
    ap.add_argument("--band", default="light")
    a = ap.parse_args(argv)
    rules = Rules(a.board, a.players)
    dec = []
    play(rules, 0, a.mode, a.band, a.board, [])  # compile / load the cache
    tt = defaultdict(float)
    nn = defaultdict(int)
    for g in range(1, a.games + 1):
        t, n, lv = play(rules, g, a.mode, a.band, a.board, dec)
        print(f"game {g}: levels {lv}, {n['steps']} steps, {sum(t.values()):.2f} s")
        for k, v in t.items():
            tt[k] += v
        for k, v in n.items():
            nn[k] += v
    tot = sum(tt.values())
    print(f"\n{a.board} {a.players}p {a.mode}/{a.band}, {a.games} games, {tot:.2f} s wall")
    print("| part | calls | s | share | ms/call |\n|---|---|---|---|---|")
    for k in sorted(tt, key=lambda k: -tt[k]):
        c = nn.get(k, nn["steps"])
        print(f"| {k} | {c} | {tt[k]:.3f} | {tt[k] / tot:.1%} | {1000 * tt[k] / max(c, 1):.3f} |")
    if not dec:
        return
    # minimax decisions again, as Python with the jitted calls recorded
    choose = instrumented(MM.minimax_choose)
    for s, moves, ip, w in dec:
        vals = np.empty(moves.shape[0])
        choose(rules.geo, s, moves, moves.shape[0], ip, w, vals)
    res = time_recorded(rules.geo)
    tot = sum(v for _, v in res.values())
    print(f"\nminimax: {len(dec)} decisions; recorded jitted calls timed alone: {tot:.3f} s")
    print("| operation | calls | s | share | us/call |\n|---|---|---|---|---|")
    for k in sorted(res, key=lambda k: -res[k][1]):
        c, v = res[k]
        print(f"| {k} | {c} | {v:.3f} | {v / tot:.1%} | {1e6 * v / c:.1f} |")


if __name__ == "__main__":
    main()
