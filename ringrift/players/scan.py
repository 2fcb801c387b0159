"""One-ply scans: the static value of every legal move of one decision.

``scan_values`` gives, for each move, exactly the float that
``evaluate(geo, apply_move(geo, s, move), w, me, sc)`` gives (bit for bit), so
the greedy player and minimax's root ordering choose as before. Placements
(on big boards nearly every candidate: ~96% on square19) take a shortcut that
neither copies the state nor rescans the board:

* One pass over the decision's state records every float that
  ``_cell_terms`` would add into each player's score, cell by cell, in its
  order (``addends``), with the running sums before each occupied cell
  (``prefix``), each stack's attack target per direction and its mobility.
* A placement on cell c changes the addends of c, of the stacks next to c
  (mobility, only when c was empty) and of the stacks whose ray reaches c or
  whose landing run crosses c (one or two per direction). Tables of the open
  run after every cell along every direction (``_runs``) give their new
  attack targets without walking; every other cell's addends are unchanged.
* The value is then summed from the prefix before the first changed cell,
  adding the recorded or regenerated addends in cell order: the same float
  additions in the same order as the full pass, hence the same float.
* A cell's placements (1-3 rings, listed together by the move generator)
  change the same stacks but for attack targets: ``scan_scores`` walks the
  recorded addends once for all of them, each count summing into its own
  score row (the greedy player, minimax's root and MCTS's children).
  Minimax's leaves, visited one at a time, use ``scan_value``.

Material (hand, board rings, controllers) follows by counting; a placement
leaves the game active and in the movement phase (no region terms) unless the
after-move checks could end it (an elimination or territory winner, or one
player left controlling stacks): such candidates, and every non-placement,
take the plain apply_move + evaluate path.
tests/test_players.py checks the shortcut bit for bit against that path.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from ..engine.jit import copy_into, kernel, stack_empty
from ..engine.layout import (
    ELIM,
    F_A,
    F_PLAYER,
    F_TO,
    F_TYPE,
    G_RAY,
    HAND,
    LINELEN,
    MAX_CELLS,
    MAXH,
    MT_PLACE_RING,
    NCELL,
    NDIR,
    NP,
    PSLOTS,
    ST_ACTIVE,
    STATUS,
    TERR,
    TTHR,
    VTHR,
)
from ..engine.rules import apply_move
from ..engine.stacks import collapsed, height, marker, ring_base
from .evaluate import DEAD, _cap, evaluate, relative_value, terminal_value
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
    W_STACKS,
    W_STUCK,
    W_TERR,
    W_TERR_PROX,
    W_VULN,
)


@kernel
def position_value(geo, s, w, me, sc, ply):
    """The static value of position s for player me: evaluate, or the
    terminal value; ply > 0 (minimax's leaves) prefers quicker wins and later
    losses."""
    if s[STATUS] != ST_ACTIVE:
        v = terminal_value(s, me)
        if v > 0:
            return v - ply
        if v < 0:
            return v + ply
        return v
    return evaluate(geo, s, w, me, sc)


@njit(cache=True)
def exact_value(geo, s, mv, w, me, sc, ply):
    """The plain path: the value of the position after mv."""
    return position_value(geo, apply_move(geo, s, mv), w, me, sc, ply)


# cells of a run plus its end (a plain constant, as Numba's stack scratch needs)
PATH_CAP = MAX_CELLS + 1


@kernel
def _runs(geo, s, run, blk):
    """For every cell c and direction d: run[c, d] open cells (not collapsed,
    no stack; markers are open) follow c along d, then blk[c, d]: the stack
    that ends the run, or -1 (board edge or a collapsed cell)."""
    n = s[NCELL]
    nd = s[NDIR]
    path = stack_empty(PATH_CAP, n + 1, np.int64)
    for d in range(nd):
        for c in range(n):
            run[c, d] = -1
        for c0 in range(n):
            if run[c0, d] >= 0:
                continue
            # walk the open cells after c0 until a cell whose answer is known
            # or that ends the run, then fill the path back to c0
            m = 0
            c = c0
            while True:
                path[m] = c
                m += 1
                y = geo[c, G_RAY + d]
                if y < 0 or collapsed(s, y) != 0:
                    r = 0
                    b = -1
                    break
                if height(s, y) > 0:
                    r = 0
                    b = y
                    break
                if run[y, d] >= 0:
                    r = run[y, d] + 1
                    b = blk[y, d]
                    break
                c = y
            for j in range(m - 1, -1, -1):
                run[path[j], d] = r
                blk[path[j], d] = b
                r += 1


@njit(cache=True, inline="always")
def _target(t, ch, h, dist, t2, cap2, land):
    """_cell_terms' overtaking test: an attacker (owner t, cap ch, height h)
    whose first stack on a ray (owner t2, cap cap2) is dist steps away, with
    land open cells after it. Returns t2 when it can be overtaken, else 0."""
    if t2 == t or ch < cap2:
        return 0
    if land >= 1 and dist + land >= h:
        return t2
    return 0


@kernel
def _ray_target(run, blk, x, d, t, ch, h, ctop, ccap):
    """The player whose stack the stack on x can overtake along d, or 0."""
    y = blk[x, d]
    if y < 0:
        return 0
    return _target(t, ch, h, run[x, d] + 1, ctop[y], ccap[y], run[y, d])


@kernel
def _record(
    geo, s, w, run, blk, rec_p, rec_v, occ, aoff, prefix, before, ctop, ccap, cmob, catt, counts
):
    """The board pass of _cell_terms, recording instead of summing: occupied
    cells in order (occ), their addends (rec_p player, rec_v value; occ j's
    are aoff[j]..aoff[j+1]), the sums before each (prefix[j]), occupied cells
    before each cell (before), each stack's top, cap, mobility and attack
    target per direction. counts[0][p] stacks, counts[1][p] rings of p on
    the board. Returns the number of occupied cells."""
    n = s[NCELL]
    nd = s[NDIR]
    half = nd // 2
    ll = s[LINELEN]
    w_mark = w[W_MARKERS]
    w_near = w[W_LINE_NEAR]
    w_lines = w[W_LINES]
    # tops and caps first: the ray tests read them for stacks further on
    _runs(geo, s, run, blk)
    for c in range(n):
        h = height(s, c)
        if h > 0:
            base = ring_base(s, c)
            ctop[c] = s[base + h - 1]
            ccap[c] = _cap(s, base, h)
    no = 0
    na = 0
    for p in range(PSLOTS):
        prefix[0, p] = 0.0
    for c in range(n):
        before[c] = no
        h = height(s, c)
        if h == 0:
            mk = marker(s, c)
            if mk == 0:
                continue
            occ[no] = c
            aoff[no] = na
            rec_p[na] = mk
            rec_v[na] = w_mark
            na += 1
            if not (w_near == 0.0 and w_lines == 0.0):
                for a in range(half):
                    prev = geo[c, G_RAY + a + half]
                    if prev >= 0 and height(s, prev) == 0 and marker(s, prev) == mk:
                        continue
                    ln = 1
                    cur = geo[c, G_RAY + a]
                    while cur >= 0 and height(s, cur) == 0 and marker(s, cur) == mk:
                        ln += 1
                        cur = geo[cur, G_RAY + a]
                    if ln >= ll:
                        rec_p[na] = mk
                        rec_v[na] = w_lines
                        na += 1
                    elif ln == ll - 1:
                        rec_p[na] = mk
                        rec_v[na] = w_near
                        na += 1
        else:
            occ[no] = c
            aoff[no] = na
            base = ring_base(s, c)
            t = ctop[c]
            ch = ccap[c]
            counts[0, t] += 1
            rec_p[na] = t
            rec_v[na] = w[W_STACKS] + w[W_CAP] * ch + w[W_CTRL] * h
            na += 1
            for i in range(h):
                col = s[base + i]
                counts[1, col] += 1
                if col != t:
                    rec_p[na] = col
                    rec_v[na] = w[W_BURIED]
                    na += 1
            for d in range(nd):
                t2 = _ray_target(run, blk, c, d, t, ch, h, ctop, ccap)
                catt[c, d] = t2
                if t2 != 0:
                    rec_p[na] = t
                    rec_v[na] = w[W_ATTACK]
                    rec_p[na + 1] = t2
                    rec_v[na + 1] = w[W_VULN]
                    na += 2
            mob = 0
            for d in range(nd):
                if run[c, d] > 0:
                    mob += 1
            cmob[c] = mob
            rec_p[na] = t
            rec_v[na] = w[W_MOBILITY] * mob
            na += 1
            if mob == 0:
                rec_p[na] = t
                rec_v[na] = w[W_STUCK]
                na += 1
        for p in range(PSLOTS):
            prefix[no + 1, p] = prefix[no, p]
        for j in range(aoff[no], na):
            prefix[no + 1, rec_p[j]] += rec_v[j]
        no += 1
    aoff[no] = na
    return no


@kernel
def _emit_stack(s, w, sc, c, h0, r, t, ch, h, att, mob, p):
    """A stack's addends, as _cell_terms adds them: the base rings of cell c
    (h0 of them in s) with r rings of p on top (r = 0: the stack as it is),
    owner t, cap ch, height h, attack targets att[d], mobility mob."""
    sc[t] += w[W_STACKS] + w[W_CAP] * ch + w[W_CTRL] * h
    if h0 > 0:
        base = ring_base(s, c)
        for i in range(h0):
            col = s[base + i]
            if col != t:
                sc[col] += w[W_BURIED]
    if r > 0 and p != t:
        for i in range(r):
            sc[p] += w[W_BURIED]
    for d in range(att.shape[0]):
        t2 = att[d]
        if t2 != 0:
            sc[t] += w[W_ATTACK]
            sc[t2] += w[W_VULN]
    sc[t] += w[W_MOBILITY] * mob
    if mob == 0:
        sc[t] += w[W_STUCK]


@kernel
def _material(s, w, p, hand, nrings_p, nstacks_p):
    """_material_terms' addend for p (and whether p pays no_stacks)."""
    vthr = float(s[VTHR])
    tthr = float(s[TTHR])
    e = s[ELIM + p]
    tr = s[TERR + p]
    fe = e / vthr
    ft = tr / tthr
    return (
        w[W_BOARD] * nrings_p
        + w[W_HAND] * hand
        + w[W_ELIM] * e
        + w[W_ELIM_PROX] * fe * fe * fe
        + w[W_TERR] * tr
        + w[W_TERR_PROX] * ft * ft * ft
    )


# A decision's recorded board pass and the per-candidate scratch
Scan = namedtuple(
    "Scan",
    [
        "rec_p",  # int64: player of each recorded addend ...
        "rec_v",  # float64: ... and its value
        "occ",  # int64: occupied cells in order (markers and stacks)
        "aoff",  # int64: occ[j]'s addends are aoff[j] .. aoff[j + 1] - 1
        "prefix",  # float64 (n + 2, PSLOTS): scores before occ[j]
        "before",  # int64: occupied cells before each cell
        "ctop",  # int64: stack top, cap, mobility per cell
        "ccap",
        "cmob",
        "catt",  # int64 (n, nd): attack target per stack and direction (0: none)
        "counts",  # int64 (2, PSLOTS): stacks and board rings per player
        "run",  # int64 (n, nd): see _runs
        "blk",
        "no",  # int64 (1,): number of occupied cells
        "mark",  # int64 (1,): candidates scored so far (stamps)
        "stamp",  # int64 (n,): == mark for the cells the candidate changes
        "natt",  # int64 (n, nd), (n,): the candidate's rows (restored after)
        "nmob",
        "touched",  # int64: the changed cells
        "nstk",  # int64 (PSLOTS,): stacks and board rings after the move
        "nrg",
    ],
)

# Scratch for scoring one cell's placements at once (scan_scores), apart
# from Scan: scan_value's calls pass the whole Scan, and a bigger tuple
# measured slower per call
Group = namedtuple(
    "Group",
    [
        "att",  # int64 (GROUP, n, nd): per count, the changed stacks' attack rows
        "rs",  # int64 (GROUP,): per count: rings placed ...
        "hs",  # ... the new stack's height and cap
        "chs",
        "sc",  # float64 (GROUP, PSLOTS): player scores
    ],
)

# placements of one cell scored together: the move generator lists at most
# three counts per cell
GROUP = 3


@kernel
def _safe(s):
    """No ring-elimination or territory winner: the after-move checks a
    placement cannot change (when one holds, placements take the plain path)."""
    np_ = s[NP]
    tot = 0
    for p in range(1, np_ + 1):
        tot += s[TERR + p]
    for p in range(1, np_ + 1):
        if s[ELIM + p] >= s[VTHR] or (s[TERR + p] >= s[TTHR] and s[TERR + p] > tot - s[TERR + p]):
            return False
    return True


@njit(cache=True)
def scan_alloc(s):
    """Room for the recorded pass of any state shaped like s."""
    n = s[NCELL]
    nd = s[NDIR]
    cap_add = n * (3 + 2 * nd) + s[MAXH] + 8
    return Scan(
        np.empty(cap_add, dtype=np.int64),
        np.empty(cap_add, dtype=np.float64),
        np.empty(n + 1, dtype=np.int64),
        np.empty(n + 2, dtype=np.int64),
        np.empty((n + 2, PSLOTS), dtype=np.float64),
        np.empty(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros((n, nd), dtype=np.int64),
        np.zeros((2, PSLOTS), dtype=np.int64),
        np.empty((n, nd), dtype=np.int64),
        np.empty((n, nd), dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.empty((n, nd), dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(3 * nd + 1, dtype=np.int64),
        np.empty(PSLOTS, dtype=np.int64),
        np.empty(PSLOTS, dtype=np.int64),
    )


@njit(cache=True)
def group_alloc(s):
    """Room for scan_scores on any state shaped like s."""
    return Group(
        np.empty((GROUP, s[NCELL], s[NDIR]), dtype=np.int64),
        np.empty(GROUP, dtype=np.int64),
        np.empty(GROUP, dtype=np.int64),
        np.empty(GROUP, dtype=np.int64),
        np.empty((GROUP, PSLOTS), dtype=np.float64),
    )


@kernel
def scan_fill(geo, s, w, sn):
    """Record the board pass of s into sn (from scan_alloc) for scan_value.
    The stamps and their counter carry over, so no stamp is ever stale."""
    sn.ctop[:] = 0
    sn.ccap[:] = 0
    sn.cmob[:] = 0
    sn.catt[:, :] = 0
    sn.counts[:, :] = 0
    sn.no[0] = _record(
        geo,
        s,
        w,
        sn.run,
        sn.blk,
        sn.rec_p,
        sn.rec_v,
        sn.occ,
        sn.aoff,
        sn.prefix,
        sn.before,
        sn.ctop,
        sn.ccap,
        sn.cmob,
        sn.catt,
        sn.counts,
    )
    for i in range(sn.catt.shape[0]):
        copy_into(sn.natt[i], sn.catt[i])
    copy_into(sn.nmob, sn.cmob)


@njit(cache=True, inline="always")
def _touch(stamp, mark, touched, nt, before, j0, y):
    """Mark stack y as changed (once) and keep the first changed position."""
    if stamp[y] != mark:
        stamp[y] = mark
        touched[nt] = y
        nt += 1
        if before[y] < j0:
            j0 = before[y]
    return nt, j0


@njit(cache=True, inline="always")
def _touch_rows(stamp, mark, touched, nt, before, j0, y, catt, att, g):
    """_touch, first giving a newly changed stack y its recorded attack row
    for each of the g counts."""
    if stamp[y] != mark:
        for i in range(g):
            for d in range(catt.shape[1]):
                att[i, y, d] = catt[y, d]
    return _touch(stamp, mark, touched, nt, before, j0, y)


@kernel
def scan_scores(geo, s, sn, gr, c, p, g, w):
    """gr.sc[i] = player_scores after placing gr.rs[i] rings of p on c (no
    marker, not collapsed), i < g, bit for bit, from the recorded pass (s as
    scan_fill recorded it into sn with weights w). Returns False, filling
    nothing, when one player would be left controlling stacks, which the
    after-move checks must see (the plain path). The g placements of one
    cell change the same stacks but for their attack targets, so they share
    one walk of the recorded addends, each summing into its own row of
    gr.sc in the plain path's order (scan_value, one placement at a time,
    is the same walk)."""
    np_ = s[NP]
    nd = s[NDIR]
    half = nd // 2
    run = sn.run
    blk = sn.blk
    ctop = sn.ctop
    ccap = sn.ccap
    catt = sn.catt
    nmob = sn.nmob
    stamp = sn.stamp
    touched = sn.touched
    before = sn.before
    nstk = sn.nstk
    occ = sn.occ
    aoff = sn.aoff
    rec_p = sn.rec_p
    rec_v = sn.rec_v
    counts = sn.counts
    att = gr.att
    rs = gr.rs
    hs = gr.hs
    chs = gr.chs
    gsc = gr.sc
    h0 = height(s, c)
    t0 = ctop[c]
    # stacks after the move; a single controller could end the game
    for q in range(PSLOTS):
        nstk[q] = counts[0, q]
    if h0 > 0:
        nstk[t0] -= 1
    nstk[p] += 1
    ctrl = 0
    for q in range(1, np_ + 1):
        if nstk[q] > 0:
            ctrl += 1
    if ctrl < 2:
        return False
    for i in range(g):
        hs[i] = h0 + rs[i]
        chs[i] = rs[i]
        if h0 > 0 and t0 == p:
            chs[i] += ccap[c]
    sn.mark[0] += 1
    mark = sn.mark[0]
    nt = 0
    # the new stack: its rays and mobility
    stamp[c] = mark
    touched[nt] = c
    nt += 1
    for i in range(g):
        for d in range(nd):
            att[i, c, d] = _ray_target(run, blk, c, d, p, chs[i], hs[i], ctop, ccap)
    if h0 == 0:
        mob = 0
        for d in range(nd):
            if run[c, d] > 0:
                mob += 1
        nmob[c] = mob
    j0 = before[c]
    # stacks next to an emptied-now-filled cell lose one open neighbour
    if h0 == 0:
        for d in range(nd):
            y = geo[c, G_RAY + d]
            if y >= 0 and height(s, y) > 0:
                nmob[y] -= 1
                nt, j0 = _touch_rows(stamp, mark, touched, nt, before, j0, y, catt, att, g)
    # per direction d: the first stack y1 before c (its ray along d now
    # ends on c), and when c was empty the stack y2 before y1 (its
    # landing run beyond y1 now ends at c)
    for d in range(nd):
        od = d + half if d < half else d - half
        y = blk[c, od]
        if y < 0:
            continue
        gap = run[c, od]  # open cells between y1 and c
        for i in range(g):
            t2 = _target(ctop[y], ccap[y], height(s, y), gap + 1, p, chs[i], run[c, d])
            if t2 != catt[y, d]:
                nt, j0 = _touch_rows(stamp, mark, touched, nt, before, j0, y, catt, att, g)
                att[i, y, d] = t2
        if h0 > 0:
            continue
        z = blk[y, od]
        if z < 0:
            continue
        t2 = _target(ctop[z], ccap[z], height(s, z), run[y, od] + 1, ctop[y], ccap[y], gap)
        if t2 != catt[z, d]:
            nt, j0 = _touch_rows(stamp, mark, touched, nt, before, j0, z, catt, att, g)
            for i in range(g):
                att[i, z, d] = t2
    # sum from the prefix before the first changed cell, in cell order
    for i in range(g):
        for q in range(PSLOTS):
            gsc[i, q] = sn.prefix[j0, q]
    emitted = h0 > 0  # an occupied c is emitted at its own place in occ
    for j in range(j0, sn.no[0]):
        x = occ[j]
        if not emitted and x > c:
            for i in range(g):
                _emit_stack(s, w, gsc[i], c, h0, rs[i], p, chs[i], hs[i], att[i, c], nmob[c], p)
            emitted = True
        if stamp[x] == mark:
            if x == c:
                for i in range(g):
                    _emit_stack(s, w, gsc[i], c, h0, rs[i], p, chs[i], hs[i], att[i, c], nmob[c], p)
            else:
                hx = height(s, x)
                for i in range(g):
                    _emit_stack(s, w, gsc[i], x, hx, 0, ctop[x], ccap[x], hx, att[i, x], nmob[x], 0)
        elif g == 3:  # unrolled: the hot loop, most cells take 1-3 rings
            for a in range(aoff[j], aoff[j + 1]):
                q = rec_p[a]
                v = rec_v[a]
                gsc[0, q] += v
                gsc[1, q] += v
                gsc[2, q] += v
        else:
            for a in range(aoff[j], aoff[j + 1]):
                q = rec_p[a]
                v = rec_v[a]
                for i in range(g):
                    gsc[i, q] += v
    if not emitted:
        for i in range(g):
            _emit_stack(s, w, gsc[i], c, h0, rs[i], p, chs[i], hs[i], att[i, c], nmob[c], p)
    # material, no-stacks penalty and dead players (no region terms in
    # the movement phase a placement leads to)
    for i in range(g):
        sc = gsc[i]
        for q in range(1, np_ + 1):
            hand = s[HAND + q]
            nrg = counts[1, q]
            if q == p:
                hand -= rs[i]
                nrg += rs[i]
            sc[q] += _material(s, w, q, hand, nrg, nstk[q])
            if nstk[q] == 0:
                sc[q] += w[W_NO_STACKS]
        for q in range(1, np_ + 1):
            hand = s[HAND + q]
            nrg = counts[1, q]
            if q == p:
                hand -= rs[i]
                nrg += rs[i]
            if nrg == 0 and hand == 0:
                sc[q] = DEAD
    # restore the mobility of the changed stacks (attack rows are set anew
    # when a stack is touched)
    for a in range(nt):
        x = touched[a]
        nmob[x] = sn.cmob[x]
    return True


@njit(cache=True, inline="always")
def scan_value(geo, s, sn, mv, w, me, sc, ply):
    """exact_value(geo, s, mv, w, me, sc, ply) bit for bit, for s the state
    scan_fill recorded into sn (with the same weights w), mv one of its legal
    moves, and worth_scanning(s, ...) true (no winner a placement could
    reveal). scan_scores' walk for one placement, written apart: through
    scan_scores with one count it measured 870 against 593 ns a placement
    (square8), and minimax's leaves call it most. Inlined into minimax's
    search: passing the Scan tuple costs a leaf call much of its time."""
    c = mv[F_TO]
    if mv[F_TYPE] != MT_PLACE_RING or marker(s, c) != 0 or collapsed(s, c) != 0:
        return exact_value(geo, s, mv, w, me, sc, ply)
    np_ = s[NP]
    nd = s[NDIR]
    half = nd // 2
    run = sn.run
    blk = sn.blk
    ctop = sn.ctop
    ccap = sn.ccap
    catt = sn.catt
    natt = sn.natt
    nmob = sn.nmob
    stamp = sn.stamp
    touched = sn.touched
    before = sn.before
    nstk = sn.nstk
    nrg = sn.nrg
    p = mv[F_PLAYER]
    r = mv[F_A]
    h0 = height(s, c)
    t0 = ctop[c]
    # material after the move; a single controller could end the game
    for q in range(PSLOTS):
        nstk[q] = sn.counts[0, q]
        nrg[q] = sn.counts[1, q]
    if h0 > 0:
        nstk[t0] -= 1
    nstk[p] += 1
    nrg[p] += r
    ctrl = 0
    for q in range(1, np_ + 1):
        if nstk[q] > 0:
            ctrl += 1
    if ctrl < 2:
        return exact_value(geo, s, mv, w, me, sc, ply)
    h1 = h0 + r
    ch1 = r
    if h0 > 0 and t0 == p:
        ch1 += ccap[c]
    sn.mark[0] += 1
    mark = sn.mark[0]
    nt = 0
    # the new stack: its rays and mobility
    stamp[c] = mark
    touched[nt] = c
    nt += 1
    for d in range(nd):
        natt[c, d] = _ray_target(run, blk, c, d, p, ch1, h1, ctop, ccap)
    if h0 == 0:
        mob = 0
        for d in range(nd):
            if run[c, d] > 0:
                mob += 1
        nmob[c] = mob
    j0 = before[c]
    # stacks next to an emptied-now-filled cell lose one open neighbour
    if h0 == 0:
        for d in range(nd):
            y = geo[c, G_RAY + d]
            if y >= 0 and height(s, y) > 0:
                nmob[y] -= 1
                nt, j0 = _touch(stamp, mark, touched, nt, before, j0, y)
    # per direction d: the first stack y1 before c (its ray along d now
    # ends on c), and when c was empty the stack y2 before y1 (its
    # landing run beyond y1 now ends at c)
    for d in range(nd):
        od = d + half if d < half else d - half
        y = blk[c, od]
        if y < 0:
            continue
        gap = run[c, od]  # open cells between y1 and c
        t2 = _target(ctop[y], ccap[y], height(s, y), gap + 1, p, ch1, run[c, d])
        if t2 != catt[y, d]:
            natt[y, d] = t2
            nt, j0 = _touch(stamp, mark, touched, nt, before, j0, y)
        if h0 > 0:
            continue
        z = blk[y, od]
        if z < 0:
            continue
        t2 = _target(ctop[z], ccap[z], height(s, z), run[y, od] + 1, ctop[y], ccap[y], gap)
        if t2 != catt[z, d]:
            natt[z, d] = t2
            nt, j0 = _touch(stamp, mark, touched, nt, before, j0, z)
    # sum from the prefix before the first changed cell, in cell order
    for q in range(PSLOTS):
        sc[q] = sn.prefix[j0, q]
    emitted = h0 > 0  # an occupied c is emitted at its own place in occ
    for j in range(j0, sn.no[0]):
        x = sn.occ[j]
        if not emitted and x > c:
            _emit_stack(s, w, sc, c, h0, r, p, ch1, h1, natt[c], nmob[c], p)
            emitted = True
        if stamp[x] == mark:
            if x == c:
                _emit_stack(s, w, sc, c, h0, r, p, ch1, h1, natt[c], nmob[c], p)
            else:
                hx = height(s, x)
                _emit_stack(s, w, sc, x, hx, 0, ctop[x], ccap[x], hx, natt[x], nmob[x], 0)
        else:
            for a in range(sn.aoff[j], sn.aoff[j + 1]):
                sc[sn.rec_p[a]] += sn.rec_v[a]
    if not emitted:
        _emit_stack(s, w, sc, c, h0, r, p, ch1, h1, natt[c], nmob[c], p)
    # material, no-stacks penalty and dead players (no region terms in
    # the movement phase a placement leads to)
    for q in range(1, np_ + 1):
        hand = s[HAND + q]
        if q == p:
            hand -= r
        sc[q] += _material(s, w, q, hand, nrg[q], nstk[q])
        if nstk[q] == 0:
            sc[q] += w[W_NO_STACKS]
    for q in range(1, np_ + 1):
        hand = s[HAND + q]
        if q == p:
            hand -= r
        if nrg[q] == 0 and hand == 0:
            sc[q] = DEAD
    v = relative_value(sc, np_, me)
    # restore the changed rows
    for a in range(nt):
        x = touched[a]
        for d in range(nd):
            natt[x, d] = catt[x, d]
        nmob[x] = sn.cmob[x]
    return v


@kernel
def place_group(s, moves, i, k, rs):
    """The placements scan_scores can score at once from moves[i] on: those
    of the same player on the same cell (the move generator lists a cell's
    counts together), their ring counts into rs; 0 when moves[i] is not a
    placement on a cell without marker (the plain path)."""
    c = moves[i, F_TO]
    p = moves[i, F_PLAYER]
    if moves[i, F_TYPE] != MT_PLACE_RING or marker(s, c) != 0 or collapsed(s, c) != 0:
        return 0
    rs[0] = moves[i, F_A]
    g = 1
    while g < GROUP and i + g < k:
        j = i + g
        if moves[j, F_TYPE] != MT_PLACE_RING or moves[j, F_TO] != c or moves[j, F_PLAYER] != p:
            break
        rs[g] = moves[j, F_A]
        g += 1
    return g


@kernel
def worth_scanning(s, moves, k):
    """Enough placements to pay for scan_setup (about one full evaluation)."""
    nplace = 0
    for i in range(k):
        if moves[i, F_TYPE] == MT_PLACE_RING:
            nplace += 1
    return nplace >= 8 and _safe(s)


@njit(cache=True)
def scan_values(geo, s, moves, k, w, me, sc, vals, ply):
    """vals[i] = the value for me of the state after moves[i], for i < k:
    exact_value(geo, s, moves[i], w, me, sc, ply) bit for bit."""
    if not worth_scanning(s, moves, k):
        for i in range(k):
            vals[i] = exact_value(geo, s, moves[i], w, me, sc, ply)
        return
    sn = scan_alloc(s)
    gr = group_alloc(s)
    scan_fill(geo, s, w, sn)
    i = 0
    while i < k:
        g = place_group(s, moves, i, k, gr.rs)
        if g > 0 and scan_scores(geo, s, sn, gr, moves[i, F_TO], moves[i, F_PLAYER], g, w):
            for j in range(g):
                vals[i + j] = relative_value(gr.sc[j], s[NP], me)
            i += g
            continue
        for j in range(i, i + max(g, 1)):
            vals[j] = exact_value(geo, s, moves[j], w, me, sc, ply)
        i += max(g, 1)


__all__ = [
    "exact_value",
    "group_alloc",
    "place_group",
    "position_value",
    "scan_alloc",
    "scan_fill",
    "scan_scores",
    "scan_value",
    "scan_values",
    "worth_scanning",
]
