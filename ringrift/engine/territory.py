"""Jitted territory: disconnected regions, their border markers, processability.

Regions are found the way the reference does it: one flood fill per marker
colour with that colour's markers as walls, plus one fill with every marker as
a wall; a region qualifies when the players controlling stacks inside it are a
strict subset of the players with any ring on the board. Regions are returned
deduplicated, as sorted cell lists packed in (cells, offsets).
"""

import numpy as np
from numba import njit, uint64
from numba.cpython.unsafe.numbers import trailing_zeros

from .bitrows import row_span, shape
from .jit import kernel, stack_empty, stack_rows
from .layout import (
    G_BORDER,
    G_TER,
    ISHEX,
    MAX_CELLS,
    MAX_PLAYERS,
    NCELL,
    NP,
    NTDIR,
    PSLOTS,
    o_collapsed,
    o_height,
    o_marker,
    o_pool,
    o_start,
)
from .stacks import height, marker, ring_base, rings_total, top

# the marker passes' index for "every marker is a wall" (after players 1..MAX_PLAYERS)
ALL_MARKERS = PSLOTS


@kernel
def _ring_colours(s):
    op = o_pool(s[NCELL])
    mask = 0
    for j in range(op, op + rings_total(s)):
        mask |= 1 << s[j]
    return mask


@kernel
def _popcount(x):
    k = 0
    while x:
        k += x & 1
        x >>= 1
    return k


# ---- fast "no region" test ----------------------------------------------------
#
# Most calls find no region at all, and proving that is cheaper than the fill
# below. Cells are taken as bit rows: square, row x holds bit y; hex, row x
# (cube x + radius) holds bit y + radius, and the territory neighbours of (x, y)
# are (x, y +- 1), (x + 1, y), (x + 1, y - 1), (x - 1, y), (x - 1, y + 1).
# Components are flood-filled a whole row at a time.
#
# Why "no region" follows: a region of a pass qualifies only if the players
# controlling stacks inside it are fewer than the ring colours on the board.
# Every stack stands on an open, marker-free cell, so when every colour with a
# ring controls some stack, a pass whose wall-free cells form ONE component
# yields nothing; the all-markers pass also drops every region touching a
# marker, so there it is enough that each component touches one.


@njit(cache=True, inline="always")
def _row_runs(g, m):
    """The runs of the bit row m that hold a bit of g (g within m): g spread
    both ways through m, 1 + 2 + 4 + 8 + 16 places (rows are < 32 bits)."""
    up = g
    p = m
    for k in range(5):
        sh = uint64(1 << k)
        up |= p & (up << sh)
        p &= p << sh
    down = g
    p = m
    for k in range(5):
        sh = uint64(1 << k)
        down |= p & (down >> sh)
        p &= p >> sh
    return up | down


# square8 as one 64-bit word: row x in bits 8x .. 8x + 7
WORD_ROWS = 8
_NOT_FIRST = uint64(0xFEFEFEFEFEFEFEFE)  # cells with a neighbour at y - 1
_NOT_LAST = uint64(0x7F7F7F7F7F7F7F7F)  # cells with a neighbour at y + 1


@kernel
def _flood_word(a, f, r0, seed):
    """_flood for a square board of at most WORD_ROWS rows of WORD_ROWS
    cells (square8), packed in one word: f grows one step in all four
    directions at a time, a few instructions a step. On square8 this is ~35%
    faster than the row sweeps per region search, and faster than growing
    whole runs per step (Kogge-Stone fills: 30-38 ns against 19-26 ns a
    flood on random sets)."""
    w = uint64(WORD_ROWS)
    aw = uint64(0)
    for r in range(len(a)):
        aw |= a[r] << (w * uint64(r))
    fw = seed << (w * uint64(r0))
    while True:
        g = fw | ((fw << uint64(1)) & _NOT_FIRST) | ((fw >> uint64(1)) & _NOT_LAST)
        g = (g | (fw << w) | (fw >> w)) & aw
        if g == fw:
            break
        fw = g
    mask = (uint64(1) << w) - uint64(1)
    for r in range(len(f)):
        f[r] = (fw >> (w * uint64(r))) & mask


@kernel
def _flood(a, f, nrows, ishex, r0, seed):
    """f := the component of the cell set a (bit rows) that holds the bits
    seed of row r0. square8 is one word (_flood_word); other boards sweep
    down and up until a sweep adds nothing (each sweep leaves f closed in
    its own direction)."""
    if not ishex and nrows <= WORD_ROWS:
        _flood_word(a, f, r0, seed)
        return
    one = uint64(1)
    for r in range(nrows):
        f[r] = uint64(0)
    f[r0] = _row_runs(seed, a[r0])
    lo = r0
    hi = r0
    while True:
        for r in range(max(lo, 1), nrows):
            q = f[r - 1]
            if q == 0 and r > hi:
                break
            if ishex:
                q |= q >> one  # row r - 1's bit y touches row r's y and y - 1
            g = q & a[r] & ~f[r]
            if g != 0:
                f[r] = _row_runs(f[r] | g, a[r])
                hi = max(hi, r)
        grew = False
        for r in range(min(hi, nrows - 2), -1, -1):
            q = f[r + 1]
            if q == 0 and r < lo:
                break
            if ishex:
                q |= q << one  # row r + 1's bit y touches row r's y and y + 1
            g = q & a[r] & ~f[r]
            if g != 0:
                f[r] = _row_runs(f[r] | g, a[r])
                lo = min(lo, r)
                grew = True
        if not grew:
            return


@kernel
def _flood_first(a, f, nrows, ishex, r0):
    """f := the component of the first cell of a (its rows before r0 are
    empty); returns that cell's row, or nrows when a is empty. Taking the
    first cell each time meets the components in the order of their first
    cells, the order a fill started from cell 0 meets them."""
    while r0 < nrows and a[r0] == 0:
        r0 += 1
    if r0 < nrows:
        x = a[r0]
        _flood(a, f, nrows, ishex, r0, x & (~x + uint64(1)))
    return r0


@kernel
def _connected(a, t, f, nrows, ishex, use_t):
    """Is the cell set a (bit rows) empty or connected, or, with use_t, does
    each of its components meet the set t? a is consumed; f is scratch."""
    r0 = 0
    while True:
        r0 = _flood_first(a, f, nrows, ishex, r0)
        if r0 == nrows:
            return True
        rest = False
        meets = False
        for r in range(nrows):
            if f[r] != a[r]:
                rest = True
            if f[r] & t[r]:
                meets = True
        if not rest:
            return True
        if not use_t or not meets:
            return False
        for r in range(nrows):  # on with the next component
            a[r] &= ~f[r]


# rows of the scratch block _board_rows fills (one allocation per call)
R_OPEN = 0  # open cells without a marker; 1..MAX_PLAYERS: markers of player b
R_MARKERS = ALL_MARKERS  # every marker
R_NEAR = ALL_MARKERS + 1  # cells next to (or on) a marker
R_A = ALL_MARKERS + 2  # a pass's cells
R_T = ALL_MARKERS + 3  # a pass's targets
R_F = ALL_MARKERS + 4  # a flood
R_STACKS = ALL_MARKERS + 5  # + p: stacks whose top ring is p's
N_ROWS = R_STACKS + PSLOTS
if MAX_PLAYERS != 4:
    raise ImportError("_board_rows keeps one marker mask per player: update it for MAX_PLAYERS")


@kernel
def _board_rows(s, rows, rad, nrows, ishex):
    """Fill rows R_OPEN, 1..MAX_PLAYERS, R_MARKERS and R_STACKS + p of s;
    returns the players controlling a stack on an open cell (a bit mask).

    A row's masks are built branch-free, a cell a lane: LLVM vectorises the
    loop only when its indices are unsigned (a signed index costs a
    negative-index check per load). Stacks are then visited bit by bit for
    their top ring. Board and stack rows together take half the time of
    the cell-by-cell branches before (1.8-2.1x faster on every board)."""
    n = s[NCELL]
    oh = uint64(o_height(n))
    om = uint64(o_marker(n))
    oc = uint64(o_collapsed(n))
    ost = o_start(n)
    op = o_pool(n)
    one = uint64(1)
    ctrl = 0
    c = uint64(0)
    for r in range(nrows):
        b0, ln = row_span(r, rad, nrows, ishex)
        o = uint64(0)  # open: not collapsed, no marker
        m1 = uint64(0)  # markers by player (MAX_PLAYERS == 4)
        m2 = uint64(0)
        m3 = uint64(0)
        m4 = uint64(0)
        hs = uint64(0)  # stacks
        for y in range(uint64(ln)):
            live = s[oc + c + y] == 0
            m = s[om + c + y]
            o |= uint64(live & (m == 0)) << y
            m1 |= uint64(live & (m == 1)) << y
            m2 |= uint64(live & (m == 2)) << y
            m3 |= uint64(live & (m == 3)) << y
            m4 |= uint64(live & (m == 4)) << y
            hs |= uint64(s[oh + c + y] > 0) << y
        sh = uint64(b0)
        x = hs
        while x != 0:
            y = trailing_zeros(x)
            cc = int(c) + int(y)
            t = s[op + s[ost + cc] + s[int(oh) + cc] - 1]
            rows[R_STACKS + t, r] |= (one << y) << sh
            if (o >> y) & one:
                ctrl |= 1 << t
            x &= x - one
        c += uint64(ln)
        rows[R_OPEN, r] = o << sh
        rows[1, r] = m1 << sh
        rows[2, r] = m2 << sh
        rows[3, r] = m3 << sh
        rows[4, r] = m4 << sh
        rows[R_MARKERS, r] = (m1 | m2 | m3 | m4) << sh
    return ctrl


@kernel
def _near_rows(rows, nrows, ishex):
    """Row R_NEAR: the cells next to (or on) a marker."""
    one = uint64(1)
    for r in range(nrows):
        m = rows[R_MARKERS, r]
        d = m | (m << one) | (m >> one)
        if r > 0:
            q = rows[R_MARKERS, r - 1]
            d |= q
            if ishex:
                d |= q >> one
        if r + 1 < nrows:
            q = rows[R_MARKERS, r + 1]
            d |= q
            if ishex:
                d |= q << one
        rows[R_NEAR, r] = d


@njit(cache=True, inline="always")
def _rows_of(s):
    """(rows, rad, nrows, ishex, ctrl): the bit rows _board_rows fills for s,
    on the caller's stack, and its result."""
    ishex = s[ISHEX] != 0
    rad, nrows = shape(s[NCELL], ishex)
    rows = stack_rows(N_ROWS, nrows)
    ctrl = _board_rows(s, rows, rad, nrows, ishex)
    return rows, rad, nrows, ishex, ctrl


@kernel
def surely_no_regions(s):
    """True only when find_regions(geo, s) is certainly empty (False: unknown)."""
    rows, rad, nrows, ishex, ctrl = _rows_of(s)
    return _surely_none(s, rows, nrows, ishex, ctrl)


@kernel
def _surely_none(s, rows, nrows, ishex, ctrl):
    """surely_no_regions on the rows _board_rows filled (ctrl: its result).
    Writes only the scratch rows (R_NEAR, R_A, R_T, R_F), so a fill can
    follow on the same rows."""
    if ctrl != _ring_colours(s):
        return False
    a = rows[R_A]
    t = rows[R_T]
    f = rows[R_F]
    anym = False
    for r in range(nrows):
        if rows[R_MARKERS, r] != 0:
            anym = True
    # one pass per marker colour present: that colour's markers are walls
    for b in range(1, PSLOTS):
        anyb = False
        for r in range(nrows):
            a[r] = rows[R_OPEN, r] | (rows[R_MARKERS, r] & ~rows[b, r])
            if rows[b, r] != 0:
                anyb = True
        if anyb and not _connected(a, t, f, nrows, ishex, False):
            return False
    # every marker a wall: t = open cells next to a marker
    _near_rows(rows, nrows, ishex)
    for r in range(nrows):
        t[r] = rows[R_NEAR, r] & rows[R_OPEN, r]
        a[r] = rows[R_OPEN, r]
    return _connected(a, t, f, nrows, ishex, anym)


@njit(cache=True)
def find_regions(geo, s):
    """The qualifying regions as (cells, offsets), in the reference's order."""
    cells, offs = region_buffers(s)
    nreg = find_regions_into(geo, s, cells, offs)
    return cells[: offs[nreg]].copy(), offs[: nreg + 1].copy()


@njit(cache=True)
def fill_regions(geo, s):
    """find_regions without the fast "no region" test (fill_regions_into)."""
    cells, offs = region_buffers(s)
    nreg = fill_regions_into(geo, s, cells, offs)
    return cells[: offs[nreg]].copy(), offs[: nreg + 1].copy()


@kernel
def find_regions_into(geo, s, cells, offs):
    """find_regions into (cells, offs) (region_buffers); returns their number."""
    offs[0] = 0
    rows, rad, nrows, ishex, ctrl = _rows_of(s)
    if _surely_none(s, rows, nrows, ishex, ctrl):
        return 0
    return _fill_into(s, cells, offs, rows, rad, nrows, ishex)


# Region buffers: a region is a component of one pass and a pass's components
# are disjoint, so the passes (a border colour per player + "every marker a
# wall") find at most n * (players + 1) cells and regions; the buffers hold
# n * (players + 2).
REGION_CAP = MAX_CELLS * (MAX_PLAYERS + 2)
OFFSET_CAP = REGION_CAP + 1  # (a plain constant, as Numba needs)


@njit(cache=True, inline="always")
def region_buffers(s):
    """(cells, offsets) buffers for fill_regions_into, on the caller's stack."""
    size = s[NCELL] * (s[NP] + 2)
    return stack_empty(REGION_CAP, size, np.int32), stack_empty(OFFSET_CAP, size + 1, np.int32)


@kernel
def fill_regions_into(geo, s, cells, offs):
    """The regions into (cells, offs) (region_buffers), without the fast "no
    region" test, for callers that know a region exists (the territory phase
    after its entry check found one); returns their number: region r is
    cells[offs[r]:offs[r + 1]].

    Each pass's components are flood-filled as bit rows, in the order of
    their first cell (the order a cell-by-cell fill started from cell 0 meets
    them); only a qualifying one is turned into its (sorted) cell list."""
    rows, rad, nrows, ishex, _ = _rows_of(s)
    return _fill_into(s, cells, offs, rows, rad, nrows, ishex)


@kernel
def _fill_into(s, cells, offs, rows, rad, nrows, ishex):
    """fill_regions_into on the rows _board_rows filled."""
    active = _ring_colours(s)
    offs[0] = 0
    nreg = 0
    if active == 0:
        return 0
    nact = _popcount(active)
    _near_rows(rows, nrows, ishex)
    a = rows[R_A]
    f = rows[R_F]
    one = uint64(1)
    # passes: border colour b = 1..MAX_PLAYERS (if present), then b =
    # ALL_MARKERS (every marker a wall)
    for b in range(1, ALL_MARKERS + 1):
        anyb = False
        for r in range(nrows):
            if b < ALL_MARKERS:
                a[r] = rows[R_OPEN, r] | (rows[R_MARKERS, r] & ~rows[b, r])
            else:
                a[r] = rows[R_OPEN, r]
            if rows[b, r] != 0:
                anyb = True
        if b < ALL_MARKERS and not anyb:
            continue
        r0 = 0
        while True:
            r0 = _flood_first(a, f, nrows, ishex, r0)
            if r0 == nrows:
                break
            touches = False
            ctrl = 0
            rn = 0
            for r in range(nrows):
                a[r] &= ~f[r]  # the component is done with
                if f[r] & rows[R_NEAR, r]:
                    touches = True
                for p in range(1, PSLOTS):
                    if f[r] & rows[R_STACKS + p, r]:
                        ctrl |= 1 << p
            if b == ALL_MARKERS and touches:
                continue
            nctrl = _popcount(ctrl)
            if nctrl >= nact:
                continue
            if b == ALL_MARKERS and nctrl != 1:
                continue
            # its cells, in cell order (rows in order, bits low to high)
            a0 = offs[nreg]
            c = 0
            for r in range(nrows):
                b0, ln = row_span(r, rad, nrows, ishex)
                x = f[r] >> uint64(b0)
                for y in range(ln):
                    if x & one:
                        cells[a0 + rn] = c + y
                        rn += 1
                    x >>= one
                c += ln
            # deduplicate against regions already found
            dup = False
            for q in range(nreg):
                q0 = offs[q]
                if offs[q + 1] - q0 != rn:
                    continue
                same = True
                for i in range(rn):
                    if cells[q0 + i] != cells[a0 + i]:
                        same = False
                        break
                if same:
                    dup = True
                    break
            if dup:
                continue
            offs[nreg + 1] = a0 + rn
            nreg += 1
    return nreg


@kernel
def border_markers_into(geo, s, cells, a0, a1, queue):
    """Markers the reference collapses with a region: markers next to it (by
    territory adjacency), grown over markers by its border neighbourhood.
    Written to queue (n cells); returns their number."""
    inreg = _cell_flags(s)
    for i in range(a0, a1):
        inreg[cells[i]] = True
    seen = _cell_flags(s)
    qt = 0
    nt = s[NTDIR]
    for i in range(a0, a1):
        x = cells[i]
        for j in range(nt):
            y = geo[x, G_TER + j]
            if y >= 0 and not inreg[y] and not seen[y] and marker(s, y) != 0:
                seen[y] = True
                queue[qt] = y
                qt += 1
    qh = 0
    while qh < qt:
        x = queue[qh]
        qh += 1
        for j in range(8):
            y = geo[x, G_BORDER + j]
            if y < 0 or seen[y] or inreg[y] or marker(s, y) == 0:
                continue
            seen[y] = True
            queue[qt] = y
            qt += 1
    return qt


@njit(cache=True)
def border_markers(geo, s, cells, a0, a1):
    """border_markers_into as a new array."""
    queue = np.empty(s[NCELL], dtype=np.int32)
    return queue[: border_markers_into(geo, s, cells, a0, a1, queue)].copy()


@njit(cache=True, inline="always")
def _cell_flags(s):
    """n False flags, one per cell, on the caller's stack."""
    flags = stack_empty(MAX_CELLS, s[NCELL], np.bool_)
    flags[:] = False
    return flags


@kernel
def region_has_stack(s, cells, a0, a1):
    for i in range(a0, a1):
        if height(s, cells[i]) > 0:
            return True
    return False


@kernel
def can_process(s, cells, a0, a1, p, recovery_ctx):
    """Self-elimination prerequisite: a stack outside the region that can pay
    (a controlled stack; in a recovery turn, a stack with a buried ring of p)."""
    n = s[NCELL]
    inreg = _cell_flags(s)
    for i in range(a0, a1):
        inreg[cells[i]] = True
    for c in range(n):
        h = height(s, c)
        if h == 0 or inreg[c]:
            continue
        if recovery_ctx:
            base = ring_base(s, c)
            for i in range(h - 1):
                if s[base + i] == p:
                    return True
        elif top(s, c) == p:
            return True
    return False


@kernel
def any_marker(s):
    n = s[NCELL]
    for c in range(n):
        if marker(s, c) != 0:
            return True
    return False
