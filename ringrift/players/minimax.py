"""Jitted alpha-beta over the static evaluation, with depth and node budgets.

Max or min at a node is decided by s[CUR] (a turn is several steps of one
player): the searching player maximises its relative value, every other
player minimises it (paranoid search for 3-4 players). Depth counts decision
steps only; steps with a single legal move (bookkeeping or forced) are
applied for free.

The root's moves are always all scored statically (the one-ply answer and
the ordering); the node budget then caps the apply_move calls of the deeper
search, and once it is spent nodes are scored statically. The root, and
every interior node two or more plies above the leaves whose children the
budget can still pay to score, order their children by static value and
search only the best ``beam`` of them deeper (0 = all). Other nodes (just
above the leaves, or short of budget) order by move type (captures first),
so cutoffs come early without scoring every child twice, and search all
their children while budget remains.
Ties at the root are broken at random; otherwise the search is deterministic.
The search is iterative (Numba cannot cache recursive functions).
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ..engine.layout import CUR, F_TYPE, MF, MT_PLACE_RING, PSLOTS, ST_ACTIVE, STATUS
from ..engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from .basic import move_type_priority
from .params import I_BEAM, I_DEPTH, I_NODES, WIN_SCORE
from .scan import (
    position_value,
    scan_alloc,
    scan_fill,
    scan_value,
    scan_values,
    worth_scanning,
)

# A search's per-ply frames (row `ply` belongs to the node open at that ply)
# and what every node reads: the searching player, the weights, a scratch for
# player scores, the apply_move counter against its budget, the beam.
Frames = namedtuple(
    "Frames",
    [
        "moves",  # int32 (maxply, MAX_MOVES_BUFFER, MF): the node's legal moves
        "vals",  # float64 (maxply, MAX_MOVES_BUFFER): ordering keys
        "order",  # int64 (maxply, MAX_MOVES_BUFFER): move indices, search order
        "nsearch",  # int64 (maxply,): children to search
        "states",  # int32 (maxply, S): the node's state
    ],
)
Budget = namedtuple(
    "Budget",
    [
        "me",  # the searching player
        "w",  # float64 (NW,): heuristic weights
        "sc",  # float64 (PSLOTS,): scratch for player scores
        "ctr",  # int64 (1,): apply_move calls so far
        "budget",  # int64: ... allowed
        "beam",  # int64: children searched deeper per interior node (0 = all)
        "sn",  # scan.Scan: the board pass of the node whose children are leaves ...
        "sn_state",  # int64 (1,): ... 0 not recorded yet, 1 recorded, 2 not worth it
    ],
)


@njit(cache=True)
def _enter(geo, s, depth, ply, fr, bg, leafv):
    """Open the node s at `ply`: returns True with its frame set up (moves in
    fr.moves[ply], search order in fr.order[ply], children to search in
    fr.nsearch[ply], state in fr.states[ply]), or False with its value in
    leafv[0]."""
    if s[STATUS] != ST_ACTIVE or depth <= 0 or bg.ctr[0] >= bg.budget:
        leafv[0] = position_value(geo, s, bg.w, bg.me, bg.sc, ply)
        return False
    out = fr.moves[ply]
    k = legal_moves_into(geo, s, out)
    while k == 1:  # forced steps do not count as depth
        s = apply_move(geo, s, out[0])
        bg.ctr[0] += 1
        if s[STATUS] != ST_ACTIVE or bg.ctr[0] >= bg.budget:
            leafv[0] = position_value(geo, s, bg.w, bg.me, bg.sc, ply)
            return False
        k = legal_moves_into(geo, s, out)
    fr.states[ply, :] = s
    maximize = s[CUR] == bg.me
    v = fr.vals[ply]
    order = fr.order[ply]
    n = k
    if depth >= 2 and bg.ctr[0] + k <= bg.budget:
        # order by static value, keep the best `beam` for the deeper search
        scan_values(geo, s, out, k, bg.w, bg.me, bg.sc, v, ply + 1)
        if maximize:
            for i in range(k):
                v[i] = -v[i]
        bg.ctr[0] += k
        o = np.argsort(v[:k], kind="mergesort")
        if bg.beam > 0 and n > bg.beam:
            n = bg.beam
    else:
        for i in range(k):
            v[i] = move_type_priority(out[i, F_TYPE]) * 1.0
        o = np.argsort(v[:k], kind="mergesort")
    for i in range(k):
        order[i] = o[i]
    fr.nsearch[ply] = n
    return True


@njit(cache=True, inline="always")
def _report(ply, r, ismax, best, al, be):
    """A child's value r reaches the node open at ply."""
    if ismax[ply]:
        if r > best[ply]:
            best[ply] = r
        if best[ply] > al[ply]:
            al[ply] = best[ply]
    else:
        if r < best[ply]:
            best[ply] = r
        if best[ply] < be[ply]:
            be[ply] = best[ply]


@njit(cache=True)
def _search(geo, s, depth, alpha, beta, ply0, fr, bg):
    """Alpha-beta value of s for bg.me (iterative: Numba cannot cache
    recursive functions). A node's window and best value so far live in the
    arrays below, indexed by ply."""
    maxply = fr.moves.shape[0]
    nextj = np.zeros(maxply, dtype=np.int64)  # next child to search
    dep = np.zeros(maxply, dtype=np.int64)
    al = np.empty(maxply, dtype=np.float64)
    be = np.empty(maxply, dtype=np.float64)
    best = np.empty(maxply, dtype=np.float64)
    ismax = np.zeros(maxply, dtype=np.bool_)
    leafv = np.zeros(1)
    if not _enter(geo, s, depth, ply0, fr, bg, leafv):
        return leafv[0]
    ply = ply0
    dep[ply] = depth
    al[ply] = alpha
    be[ply] = beta
    ismax[ply] = fr.states[ply, CUR] == bg.me
    best[ply] = -np.inf if ismax[ply] else np.inf
    nextj[ply] = 0
    ctr = bg.ctr
    while True:
        j = nextj[ply]
        if j < fr.nsearch[ply] and al[ply] < be[ply] and not (j > 0 and ctr[0] >= bg.budget):
            nextj[ply] = j + 1
            mv = fr.moves[ply, fr.order[ply, j]]
            q = ply + 1
            if dep[ply] <= 1:
                # the children are leaves: placements are scored from the
                # node's recorded board pass (the same float as position_value after
                # apply_move), the board pass made at the first one
                if j == 0:
                    bg.sn_state[0] = 0
                if mv[F_TYPE] == MT_PLACE_RING and bg.sn_state[0] != 2:
                    if bg.sn_state[0] == 0:
                        st = fr.states[ply]
                        if worth_scanning(st, fr.moves[ply], fr.nsearch[ply]):
                            scan_fill(geo, st, bg.w, bg.sn)
                            bg.sn_state[0] = 1
                        else:
                            bg.sn_state[0] = 2
                    if bg.sn_state[0] == 1:
                        ctr[0] += 1
                        r = scan_value(geo, fr.states[ply], bg.sn, mv, bg.w, bg.me, bg.sc, q)
                        _report(ply, r, ismax, best, al, be)
                        continue
            c = apply_move(geo, fr.states[ply], mv)
            ctr[0] += 1
            if _enter(geo, c, dep[ply] - 1, q, fr, bg, leafv):
                dep[q] = dep[ply] - 1
                al[q] = al[ply]
                be[q] = be[ply]
                ismax[q] = fr.states[q, CUR] == bg.me
                best[q] = -np.inf if ismax[q] else np.inf
                nextj[q] = 0
                ply = q
                continue
            r = leafv[0]
        else:
            r = best[ply]
            if ply == ply0:
                return r
            ply -= 1
        _report(ply, r, ismax, best, al, be)


@njit(cache=True)
def minimax_choose(geo, s, moves, k, iparams, w, vals_out):
    """(index of the best move, nodes used). vals_out[:k] gets each root
    move's value: the static one-ply values when depth is 1 or a move wins at
    once; otherwise the searched value of each move the search reached (inside
    the beam, within the budget) and -inf for the others."""
    depth = iparams[I_DEPTH]
    budget = iparams[I_NODES]
    beam = iparams[I_BEAM]
    if depth < 1:
        depth = 1
    me = s[CUR]
    sc = np.zeros(PSLOTS)
    ctr = np.zeros(1, dtype=np.int64)
    maxply = depth + 3
    fr = Frames(
        np.empty((maxply, MAX_MOVES_BUFFER, MF), dtype=np.int32),
        np.empty((maxply, MAX_MOVES_BUFFER), dtype=np.float64),
        np.empty((maxply, MAX_MOVES_BUFFER), dtype=np.int64),
        np.zeros(maxply, dtype=np.int64),
        np.empty((maxply, s.shape[0]), dtype=np.int32),
    )
    # root: static value of every move (the one-ply answer and the ordering)
    stat = np.empty(k, dtype=np.float64)
    scan_values(geo, s, moves, k, w, me, sc, stat, 1)  # = position_value after each move
    for i in range(k):
        vals_out[i] = stat[i]
    # the budget covers the search below the root's one-ply scan
    budget += k
    ctr[0] = k
    # a random permutation before the stable sort breaks ties at random
    perm = np.random.permutation(k)
    o = np.argsort(-stat[perm], kind="mergesort")
    order = perm[o]
    n = k
    if beam > 0 and n > beam:
        n = beam
    if depth == 1 or stat[order[0]] >= WIN_SCORE - 100.0:
        return order[0], ctr[0]
    for i in range(k):
        vals_out[i] = -np.inf
    best = order[0]
    bestv = -np.inf
    alpha = -np.inf
    bg = Budget(me, w, sc, ctr, budget, beam, scan_alloc(s), np.zeros(1, dtype=np.int64))
    for j in range(n):
        if j > 0 and ctr[0] >= budget:
            break
        i = order[j]
        c = apply_move(geo, s, moves[i])
        ctr[0] += 1
        r = _search(geo, c, depth - 1, alpha, np.inf, 1, fr, bg)
        vals_out[i] = r
        if r > bestv:
            bestv = r
            best = i
        if bestv > alpha:
            alpha = bestv
    return best, ctr[0]
