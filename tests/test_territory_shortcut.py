"""The territory shortcut is sound: whenever ``surely_no_regions`` claims a
state has no qualifying region, the full flood fill (``fill_regions``) finds
none. Checked on every state of seeded random games on every board and player
count; the counts make sure both answers of the shortcut and states with
regions were actually seen, so the check cannot pass on trivial states.
"""

# ringrift first: it keys the Numba cache by the engine's source (see
# tests/test_movegen_agreement.py for why this order matters)
import ringrift  # noqa: F401

# isort: split

import numpy as np
import pytest
from numba import njit

from ringrift.engine import Rules
from ringrift.engine.layout import (
    G_TER,
    MF,
    MOVE_COUNT,
    NCELL,
    NTDIR,
    ST_ACTIVE,
    STATUS,
    block,
    o_collapsed,
    o_height,
    o_marker,
    pool,
)
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from ringrift.engine.stacks import top
from ringrift.engine.territory import fill_regions, surely_no_regions


@njit(cache=True)
def _check(geo, s0, games, seed0, counts):
    """counts: [proved none, not proved, states with regions, unsound];
    returns the (game, move) of the first unsound claim or (-1, -1)."""
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    for g in range(games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < 100_000:
            _cells, offs = fill_regions(geo, s)
            regions = len(offs) - 1
            if regions > 0:
                counts[2] += 1
            if surely_no_regions(s):
                counts[0] += 1
                if regions > 0:
                    counts[3] += 1
                    return g, s[MOVE_COUNT]
            else:
                counts[1] += 1
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])
    return -1, -1


@pytest.mark.parametrize(
    "board,n,games",
    [
        ("square8", 2, 60),
        ("square8", 4, 40),
        ("hex8", 3, 60),
        ("square19", 2, 4),
        ("hexagonal", 3, 2),
    ],
)
def test_no_region_claim_is_never_wrong(board, n, games):
    r = Rules(board, n)
    counts = np.zeros(4, dtype=np.int64)
    g, move = _check(r.geo, r.new_game(), games, 500, counts)
    assert g < 0, (
        f"{board} {n}p game seed {500 + g} move {move}: shortcut says no region, fill finds one"
    )
    assert counts[0] > 0 and counts[1] > 0, counts  # both answers exercised
    if board in ("square8", "hex8"):
        assert counts[2] > 0, counts  # small boards form regions in these games


def _pass_components(geo, nt, cells):
    """Components of a cell set by territory adjacency (plain BFS)."""
    left = set(cells)
    comps = []
    while left:
        todo = [left.pop()]
        comp = set(todo)
        while todo:
            x = todo.pop()
            for j in range(nt):
                y = int(geo[x, G_TER + j])
                if y in left:
                    left.remove(y)
                    comp.add(y)
                    todo.append(y)
        comps.append(comp)
    return comps


def _shortcut_oracle(geo, s):
    """The shortcut's claim, computed the obvious way on the geometry table:
    every ring colour controls a stack, every marker-colour pass is one
    component, and each component of the every-marker pass is the only one
    or touches a marker."""
    n = int(s[NCELL])
    nt = int(s[NTDIR])
    col = block(s, o_collapsed)
    mk = block(s, o_marker)
    hts = block(s, o_height)
    rings = pool(s)[: int(hts.sum())]
    open_ = [c for c in range(n) if col[c] == 0 and mk[c] == 0]
    ctrl = {int(top(s, c)) for c in open_ if hts[c] > 0}
    if ctrl != {int(v) for v in rings}:
        return False
    colours = {int(mk[c]) for c in range(n) if col[c] == 0 and mk[c] != 0}
    for b in colours:
        cells = open_ + [c for c in range(n) if col[c] == 0 and mk[c] not in (0, b)]
        if len(_pass_components(geo, nt, cells)) > 1:
            return False
    comps = _pass_components(geo, nt, open_)
    if len(comps) <= 1:
        return True
    if not colours:
        return False
    return all(
        any(
            geo[x, G_TER + j] >= 0 and mk[geo[x, G_TER + j]] != 0 and col[geo[x, G_TER + j]] == 0
            for x in comp
            for j in range(nt)
        )
        for comp in comps
    )


@njit(cache=True)
def _sample_states(geo, s0, games, seed0, every):
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    states = []
    for g in range(games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < 100_000:
            if s[MOVE_COUNT] % every == 0:
                states.append(s.copy())
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])
    return states


@pytest.mark.parametrize(
    "board,n,games,every",
    [("square8", 4, 20, 3), ("hex8", 3, 20, 3), ("square19", 2, 2, 5), ("hexagonal", 4, 1, 7)],
)
def test_shortcut_equals_its_plain_oracle(board, n, games, every):
    """The bit-row flood fill answers exactly what its plain-Python oracle
    (BFS on the geometry table) answers, on every sampled state."""
    r = Rules(board, n)
    states = _sample_states(r.geo, r.new_game(), games, 900, every)
    answers = [bool(surely_no_regions(s)) for s in states]
    for s, got in zip(states, answers):
        assert got == _shortcut_oracle(r.geo, s), f"{board} {n}p move {s[MOVE_COUNT]}"
    assert 0 < sum(answers) < len(answers)  # both answers were checked
