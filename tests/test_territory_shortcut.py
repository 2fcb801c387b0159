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
from ringrift.engine.layout import MF, MOVE_COUNT, ST_ACTIVE, STATUS
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
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
