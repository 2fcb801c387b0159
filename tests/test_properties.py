"""Seeded random play: games end, rings are conserved, progress S never drops."""

import pytest

from ringrift.engine import Rules
from ringrift.engine.invariants import OK, random_games_checked

CASES = [
    ("square8", 2, 2000),
    ("square8", 3, 1000),
    ("square8", 4, 1000),
    ("hex8", 2, 2000),
    ("hex8", 3, 1000),
    ("hex8", 4, 1000),
    ("square19", 2, 40),
    ("square19", 4, 20),
    ("hexagonal", 2, 20),
    ("hexagonal", 3, 10),
]


@pytest.mark.parametrize("board,n,games", CASES)
def test_random_games_keep_invariants(board, n, games):
    r = Rules(board, n)
    done, moves, err, at = random_games_checked(r.geo, r.new_game(), games, 12345 + n, 50_000)
    assert err == OK, f"invariant {err} broken in game {at} after {moves} moves"
    assert done == games and moves > games * 30


def test_random_play_is_deterministic():
    r = Rules("hex8", 3)
    a = random_games_checked(r.geo, r.new_game(), 50, 99, 50_000)
    b = random_games_checked(r.geo, r.new_game(), 50, 99, 50_000)
    c = random_games_checked(r.geo, r.new_game(), 50, 100, 50_000)
    assert a == b and a[1] != c[1]
