"""The territory regions (``fill_regions``, bit-row floods, and
``find_regions``, the same after the "no region" shortcut) equal the regions
an obvious cell-by-cell flood fill over the geometry table finds, region for
region and in the same order, on every state of seeded random games on every
board and player count. The games are counted so that states with regions,
with several regions and with none were all seen.
"""

# ringrift first: it keys the Numba cache by the engine's source (see
# tests/test_movegen_agreement.py for why this order matters)
import ringrift  # noqa: F401

# isort: split

import numpy as np
import pytest
from numba import njit

from ringrift.engine import Rules
from ringrift.engine.bitrows import row_span, shape
from ringrift.engine.layout import (
    G_TER,
    ISHEX,
    MF,
    MOVE_COUNT,
    NCELL,
    NP,
    NTDIR,
    ST_ACTIVE,
    STATUS,
)
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from ringrift.engine.stacks import collapsed, height, marker, top
from ringrift.engine.territory import (
    ALL_MARKERS,
    _flood,
    _popcount,
    _ring_colours,
    fill_regions,
    find_regions,
)


@njit(cache=True)
def _fill_by_cells(geo, s):
    """The regions found the obvious way: a queue flood fill from every
    unvisited cell in cell order, per pass, over the geometry table."""
    n = s[NCELL]
    nt = s[NTDIR]
    active = _ring_colours(s)
    cells = np.empty(n * (s[NP] + 2), dtype=np.int32)
    offs = np.zeros(n * (s[NP] + 2) + 1, dtype=np.int32)
    nreg = 0
    if active == 0:
        return cells[:0], offs[:1]
    mcols = 0
    for c in range(n):
        if marker(s, c) != 0:
            mcols |= 1 << marker(s, c)
    nact = _popcount(active)
    visited = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int32)
    region = np.empty(n, dtype=np.int32)
    # passes: border colour b = 1..MAX_PLAYERS (if present), then b =
    # ALL_MARKERS (every marker a wall)
    for b in range(1, ALL_MARKERS + 1):
        if b < ALL_MARKERS:
            if not (mcols >> b) & 1:
                continue
        for c in range(n):
            mc = marker(s, c)
            visited[c] = collapsed(s, c) != 0 or (mc != 0 and (b == ALL_MARKERS or mc == b))
        for start in range(n):
            if visited[start]:
                continue
            visited[start] = True
            qh = 0
            qt = 0
            queue[qt] = start
            qt += 1
            rn = 0
            touches_marker = False
            while qh < qt:
                x = queue[qh]
                qh += 1
                region[rn] = x
                rn += 1
                for j in range(nt):
                    y = geo[x, G_TER + j]
                    if y < 0:
                        continue
                    if b == ALL_MARKERS and marker(s, y) != 0:
                        touches_marker = True
                    if visited[y]:
                        continue
                    visited[y] = True
                    queue[qt] = y
                    qt += 1
            if b == ALL_MARKERS and touches_marker:
                continue
            ctrl = 0
            for i in range(rn):
                if height(s, region[i]) > 0:
                    ctrl |= 1 << top(s, region[i])
            nctrl = _popcount(ctrl)
            if nctrl >= nact:
                continue
            if b == ALL_MARKERS and nctrl != 1:
                continue
            reg = np.sort(region[:rn])  # only qualifying regions pay for the sort
            # deduplicate against regions already found
            dup = False
            for r in range(nreg):
                a0 = offs[r]
                if offs[r + 1] - a0 != rn:
                    continue
                same = True
                for i in range(rn):
                    if cells[a0 + i] != reg[i]:
                        same = False
                        break
                if same:
                    dup = True
                    break
            if dup:
                continue
            a0 = offs[nreg]
            cells[a0 : a0 + rn] = reg
            offs[nreg + 1] = a0 + rn
            nreg += 1
    return cells[: offs[nreg]], offs[: nreg + 1]


@njit(cache=True)
def _same(c1, o1, c2, o2):
    if o1.shape[0] != o2.shape[0]:
        return False
    for i in range(o1.shape[0]):
        if o1[i] != o2[i]:
            return False
    for i in range(o1[-1]):
        if c1[i] != c2[i]:
            return False
    return True


@njit(cache=True)
def _check(geo, s0, games, seed0, counts):
    """counts: [states, with a region, with several]; returns the (game,
    move) of the first state where the two fills differ, or (-1, -1)."""
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    for g in range(games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < 100_000:
            c1, o1 = fill_regions(geo, s)
            c2, o2 = _fill_by_cells(geo, s)
            counts[0] += 1
            if o2.shape[0] > 1:
                counts[1] += 1
            if o2.shape[0] > 2:
                counts[2] += 1
            c3, o3 = find_regions(geo, s)
            if not _same(c1, o1, c2, o2) or not _same(c3, o3, c2, o2):
                return g, s[MOVE_COUNT]
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])
    return -1, -1


@pytest.mark.parametrize(
    "board,n,games",
    [
        ("square8", 2, 40),
        ("square8", 4, 30),
        ("hex8", 3, 40),
        ("square19", 2, 3),
        ("square19", 3, 2),
        ("hexagonal", 2, 2),
        ("hexagonal", 4, 1),
    ],
)
def test_fill_regions_equals_cell_by_cell_fill(board, n, games):
    r = Rules(board, n)
    counts = np.zeros(3, dtype=np.int64)
    g, move = _check(r.geo, r.new_game(), games, 700, counts)
    assert g < 0, f"{board} {n}p game seed {700 + g} move {move}: the fills differ"
    assert counts[1] > 0 and counts[1] < counts[0], counts  # regions seen, and none
    if board in ("square8", "hex8"):
        assert counts[2] > 0, counts  # several regions at once seen


def _cell_rows(n, ishex, cells):
    """Bit rows of a set of cells (the engine's cell order: row by row)."""
    rad, nrows = shape(n, ishex)
    rows = np.zeros(nrows, dtype=np.uint64)
    where = {}
    c = 0
    for r in range(nrows):
        b0, ln = row_span(r, rad, nrows, ishex)
        for y in range(ln):
            where[c] = (r, b0 + y)
            c += 1
    for c in cells:
        r, b = where[c]
        rows[r] |= np.uint64(1) << np.uint64(b)
    return rows, where


@pytest.mark.parametrize("board", ["square8", "hex8", "square19", "hexagonal"])
def test_flood_is_the_component_a_search_finds(board):
    """_flood (one word on square8, row sweeps elsewhere) returns exactly the
    component of the seed that a plain search over the geometry table's
    territory neighbours finds, on random cell sets of every density."""
    r = Rules(board, 2)
    s = r.new_game()
    n, ishex, nt = int(s[NCELL]), bool(s[ISHEX]), int(s[NTDIR])
    rng = np.random.default_rng(11)
    sizes = set()
    for density in (0.3, 0.5, 0.6, 0.75, 0.9, 1.0):
        for _ in range(40):
            cells = {c for c in range(n) if rng.random() < density}
            if not cells:
                continue
            seed = int(rng.choice(sorted(cells)))
            comp, todo = {seed}, [seed]
            while todo:
                x = todo.pop()
                for j in range(nt):
                    y = int(r.geo[x, G_TER + j])
                    if y >= 0 and y in cells and y not in comp:
                        comp.add(y)
                        todo.append(y)
            a, where = _cell_rows(n, ishex, cells)
            want, _ = _cell_rows(n, ishex, comp)
            f = np.zeros_like(a)
            row, bit = where[seed]
            _flood(a, f, len(a), ishex, row, np.uint64(1) << np.uint64(bit))
            assert np.array_equal(f, want), (board, density, seed)
            sizes.add(len(comp) == len(cells))
    assert sizes == {True, False}  # whole sets and proper components both seen
