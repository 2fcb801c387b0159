"""Jitted rule invariants, and a random-play loop that checks them every step.

Ring conservation: for each colour, hand + rings on board <= rings per player,
and over all colours the missing rings are exactly the eliminated ones.
Progress S = markers + collapsed cells + eliminated rings never decreases, and
every movement or capture raises it. Territory counters equal collapsed cells.
The ring pool is packed as layout.py says.
"""

import numpy as np
from numba import njit

from .layout import (
    F_TYPE,
    HAND,
    MAXH,
    MF,
    MOVE_COUNT,
    MT_CONTINUE_CAPTURE,
    MT_MOVE_STACK,
    MT_OVERTAKING_CAPTURE,
    NCELL,
    NP,
    RPP,
    ST_ACTIVE,
    STATUS,
    TERR,
    TOTAL_ELIM,
    o_height,
    o_pool,
    o_start,
)
from .rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from .stacks import collapsed, marker, rings_on_board

OK = 0
BAD_CONSERVATION = 1
BAD_TERRITORY = 5
BAD_PROGRESS = 2
NO_LEGAL_MOVE = 3
TOO_LONG = 4
BAD_POOL = 6


@njit(cache=True)
def progress(s):
    k = s[TOTAL_ELIM]
    for c in range(s[NCELL]):
        if marker(s, c) != 0:
            k += 1
        if collapsed(s, c) != 0:
            k += 1
    return k


@njit(cache=True)
def rings_conserved(s):
    missing = 0
    for p in range(1, s[NP] + 1):
        have = s[HAND + p] + rings_on_board(s, p)
        if have > s[RPP]:
            return False
        missing += s[RPP] - have
    return missing == s[TOTAL_ELIM]


@njit(cache=True)
def pool_consistent(s):
    """The ring pool as layout.py defines it: each start is the sum of the
    heights before it, owners 1..NP up to the last ring, zeros after."""
    n = s[NCELL]
    ost = o_start(n)
    op = o_pool(n)
    total = 0
    for c in range(n):
        if s[ost + c] != total:
            return False
        total += s[o_height(n) + c]
    if total > s[MAXH]:
        return False
    for j in range(op, op + total):
        if s[j] < 1 or s[j] > s[NP]:
            return False
    for j in range(op + total, op + s[MAXH]):
        if s[j] != 0:
            return False
    return True


@njit(cache=True)
def territory_counts_match(s):
    """TERR+p equals the cells collapsed to p (victory checks rely on it)."""
    for p in range(1, s[NP] + 1):
        k = 0
        for c in range(s[NCELL]):
            if collapsed(s, c) == p:
                k += 1
        if k != s[TERR + p]:
            return False
    return True


@njit(cache=True)
def random_games_checked(geo, s0, n_games, seed, max_moves):
    """Play n_games uniformly random games; return (games, moves, error code,
    game index of the first error)."""
    np.random.seed(seed)
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    moves = 0
    for g in range(n_games):
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE:
            if s[MOVE_COUNT] >= max_moves:
                return g, moves, TOO_LONG, g
            k = legal_moves_into(geo, s, out)
            if k == 0:
                return g, moves, NO_LEGAL_MOVE, g
            mv = out[np.random.randint(k)]
            before = progress(s)
            s = apply_move(geo, s, mv)
            moves += 1
            after = progress(s)
            t = mv[F_TYPE]
            if after < before:
                return g, moves, BAD_PROGRESS, g
            if (
                t == MT_MOVE_STACK or t == MT_OVERTAKING_CAPTURE or t == MT_CONTINUE_CAPTURE
            ) and after <= before:
                return g, moves, BAD_PROGRESS, g
            if not rings_conserved(s):
                return g, moves, BAD_CONSERVATION, g
            if not territory_counts_match(s):
                return g, moves, BAD_TERRITORY, g
            if not pool_consistent(s):
                return g, moves, BAD_POOL, g
    return n_games, moves, OK, -1
