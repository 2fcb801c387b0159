"""Jitted static evaluation: one weighted score per player, in one board pass.

``player_scores`` fills ``sc[1..NP]`` with absolute scores (higher is better
for that player); ``relative_value`` turns them into the value of one player:
its score minus the best opponent's (2 players: the plain difference; 3-4:
paranoid towards the leader). Finished games score +/- WIN_SCORE.

Terms (weights in WEIGHT_NAMES order, see params.py) per player: stacks,
cap heights and rings controlled, own rings on the board and buried under
opponents, rings in hand, eliminated-ring credit and territory (linear plus a
cubic proximity term towards the victory thresholds), markers, mobility (open
neighbours of controlled stacks), stuck stacks, marker runs one short of a
line and complete lines, overtaking threats (attacks / vulnerable stacks,
checked with the real capture geometry), and - during the mover's line and
territory steps - the regions the mover could claim now.
"""

import numpy as np
from numba import njit

from ..engine.jit import kernel, stack_empty
from ..engine.layout import (
    CUR,
    ELIM,
    G_RAY,
    HAND,
    LINELEN,
    NCELL,
    NDIR,
    NO_REGIONS,
    NP,
    PH_CAPTURE,
    PH_CHAIN_CAPTURE,
    PH_LINE,
    PH_TERRITORY,
    PHASE,
    PSLOTS,
    ST_ACTIVE,
    STATUS,
    TERR,
    TTHR,
    VTHR,
    WINNER,
    o_collapsed,
    o_height,
    o_marker,
    o_pool,
    o_start,
)
from ..engine.rules import turn_had_recovery
from ..engine.territory import can_process, find_regions_into, region_buffers
from .params import (
    W_ATTACK,
    W_BOARD,
    W_BURIED,
    W_CAP,
    W_CTRL,
    W_ELIM,
    W_ELIM_PROX,
    W_HAND,
    W_LINE_NEAR,
    W_LINES,
    W_MARKERS,
    W_MOBILITY,
    W_NO_STACKS,
    W_REGION,
    W_STACKS,
    W_STUCK,
    W_TERR,
    W_TERR_PROX,
    W_VULN,
    WIN_SCORE,
)

DEAD = -1.0e9  # score of a player with no rings left (out of the game)


@kernel
def _cap(s, base, h):
    t = s[base + h - 1]
    k = 1
    while k < h and s[base + h - 1 - k] == t:
        k += 1
    return k


@kernel
def _cell_terms(geo, s, w, sc, nstacks, nrings):
    """The terms of one pass over the cells, in cell order: a marker's weight
    and the marker runs starting at it (lines and near-lines); a stack's
    stack, cap and control terms for its owner and buried-ring terms for the
    others, then mobility and overtaking threats along each of its rays.
    Counts stacks and rings per player. One loop on purpose: per-cell helper
    functions (inlined or not) measured 4-40% slower, and the additions into
    sc must keep this order (the scores decide the heuristic's moves)."""
    n = s[NCELL]
    nd = s[NDIR]
    half = nd // 2
    ll = s[LINELEN]
    op = o_pool(n)  # the ring pool; c's rings start at op + s[ost + c]
    ost = o_start(n)
    om = o_marker(n)
    oc = o_collapsed(n)
    w_mark = w[W_MARKERS]
    w_near = w[W_LINE_NEAR]
    w_lines = w[W_LINES]
    for c in range(n):
        h = s[o_height(n) + c]
        if h == 0:
            # a marker: its weight, and the runs of its owner's markers
            # that start here (a complete line, or one marker short of it)
            mk = s[om + c]
            if mk == 0:
                continue
            sc[mk] += w_mark
            if w_near == 0.0 and w_lines == 0.0:
                continue
            for a in range(half):
                prev = geo[c, G_RAY + a + half]
                if prev >= 0 and s[o_height(n) + prev] == 0 and s[om + prev] == mk:
                    continue  # not the start of the run
                ln = 1
                cur = geo[c, G_RAY + a]
                while cur >= 0 and s[o_height(n) + cur] == 0 and s[om + cur] == mk:
                    ln += 1
                    cur = geo[cur, G_RAY + a]
                if ln >= ll:
                    sc[mk] += w_lines
                elif ln == ll - 1:
                    sc[mk] += w_near
            continue
        # a stack: its owner's terms, the buried rings of the others
        base = op + s[ost + c]
        t = s[base + h - 1]
        ch = _cap(s, base, h)
        nstacks[t] += 1
        sc[t] += w[W_STACKS] + w[W_CAP] * ch + w[W_CTRL] * h
        for i in range(h):
            col = s[base + i]
            nrings[col] += 1
            if col != t:
                sc[col] += w[W_BURIED]
        # mobility and overtaking threats along every ray
        mob = 0
        for d in range(nd):
            cur = geo[c, G_RAY + d]
            if cur < 0 or s[oc + cur] != 0:
                continue
            step = 1
            if s[o_height(n) + cur] == 0:
                mob += 1
                while True:
                    nxt = geo[cur, G_RAY + d]
                    if nxt < 0 or s[oc + nxt] != 0:
                        cur = -1
                        break
                    cur = nxt
                    step += 1
                    if s[o_height(n) + cur] > 0:
                        break
                if cur < 0:
                    continue
            # cur holds the first stack on the ray
            h2 = s[o_height(n) + cur]
            b2 = op + s[ost + cur]
            t2 = s[b2 + h2 - 1]
            if t2 == t or ch < _cap(s, b2, h2):
                continue
            land = cur
            ok = False
            while True:
                land = geo[land, G_RAY + d]
                step += 1
                if land < 0 or s[oc + land] != 0 or s[o_height(n) + land] > 0:
                    break
                if step >= h:
                    ok = True
                    break
            if ok:
                sc[t] += w[W_ATTACK]
                sc[t2] += w[W_VULN]
        sc[t] += w[W_MOBILITY] * mob
        if mob == 0:
            sc[t] += w[W_STUCK]


@kernel
def _material_terms(s, w, nstacks, nrings, sc):
    """Per player: rings on the board and in hand, eliminations and territory
    (linear, and cubic in the fraction of the victory threshold), and the
    penalty for controlling no stack."""
    vthr = float(s[VTHR])
    tthr = float(s[TTHR])
    for p in range(1, s[NP] + 1):
        hand = s[HAND + p]
        e = s[ELIM + p]
        tr = s[TERR + p]
        fe = e / vthr
        ft = tr / tthr
        sc[p] += (
            w[W_BOARD] * nrings[p]
            + w[W_HAND] * hand
            + w[W_ELIM] * e
            + w[W_ELIM_PROX] * fe * fe * fe
            + w[W_TERR] * tr
            + w[W_TERR_PROX] * ft * ft * ft
        )
        if nstacks[p] == 0:
            sc[p] += w[W_NO_STACKS]


@kernel
def _region_terms(geo, s, w, sc):
    """The regions the player to move could claim now: size plus rings each
    (regions without rings count only while some marker is on the board)."""
    n = s[NCELL]
    om = o_marker(n)
    cur_p = s[CUR]
    cells, offs = region_buffers(s)
    nreg = find_regions_into(geo, s, cells, offs)
    anym = False
    for c in range(n):
        if s[om + c] != 0:
            anym = True
            break
    for r in range(nreg):
        a0 = offs[r]
        a1 = offs[r + 1]
        rings = 0
        for i in range(a0, a1):
            rings += s[o_height(n) + cells[i]]
        if not anym and rings == 0:
            continue
        if can_process(s, cells, a0, a1, cur_p, False):
            sc[cur_p] += w[W_REGION] * ((a1 - a0) + rings)


@njit(cache=True, inline="always")
def _regions_count(s, w, nstacks):
    """Region threats are scored during the mover's capture, line and
    territory steps, when it controls a stack (it must be able to pay)."""
    if w[W_REGION] == 0.0 or nstacks[s[CUR]] == 0:
        return False
    ph = s[PHASE]
    if ph == PH_TERRITORY and s[NO_REGIONS] != 0:
        # the line phase's exit has just looked for a region the mover could
        # process and found none; _region_terms would find the same regions
        # and score none of them, unless this is a recovery turn (that search
        # counted buried rings as payment, _region_terms does not)
        return turn_had_recovery(s, s[CUR])
    return ph == PH_LINE or ph == PH_TERRITORY or ph == PH_CAPTURE or ph == PH_CHAIN_CAPTURE


@kernel
def player_scores(geo, s, w, sc):
    """sc[p] for p in 1..NP (sc must have >= PSLOTS entries): the cell pass,
    then material per player, then the regions the mover could claim;
    players with no ring left score DEAD."""
    for p in range(PSLOTS):
        sc[p] = 0.0
    nstacks = stack_empty(PSLOTS, PSLOTS, np.int64)
    nrings = stack_empty(PSLOTS, PSLOTS, np.int64)
    nstacks[:] = 0
    nrings[:] = 0
    _cell_terms(geo, s, w, sc, nstacks, nrings)
    _material_terms(s, w, nstacks, nrings, sc)
    if _regions_count(s, w, nstacks):
        _region_terms(geo, s, w, sc)
    for p in range(1, s[NP] + 1):
        if nrings[p] == 0 and s[HAND + p] == 0:
            sc[p] = DEAD


@kernel
def relative_value(sc, np_, me):
    best = -1.0e300
    for q in range(1, np_ + 1):
        if q != me and sc[q] > best:
            best = sc[q]
    return sc[me] - best


@kernel
def terminal_value(s, me):
    wn = s[WINNER]
    if wn == me:
        return WIN_SCORE
    if wn == 0:
        return 0.0
    return -WIN_SCORE


@kernel
def evaluate(geo, s, w, me, sc):
    """Value of s for player me (sc: scratch of >= PSLOTS floats)."""
    if s[STATUS] != ST_ACTIVE:
        return terminal_value(s, me)
    player_scores(geo, s, w, sc)
    return relative_value(sc, s[NP], me)
