"""The Python API: setup, errors on bad input, states as values."""

import numpy as np
import pytest

from ringrift.engine import IllegalMoveError, Rules, new_state
from ringrift.engine import layout as L


def test_unknown_board_lists_valid_ones():
    with pytest.raises(ValueError) as exc:
        Rules("square9", 2)
    msg = str(exc.value)
    assert "square9" in msg and "square8, square19, hex8, hexagonal" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("n", [0, 1, 5])
def test_bad_player_count(n):
    with pytest.raises(ValueError, match="valid player counts: 2, 3, 4"):
        new_state("hex8", n)


@pytest.mark.parametrize(
    "board,cells,rings,thr",
    [
        ("square8", 64, 18, 18),
        ("square19", 361, 72, 72),
        ("hex8", 61, 18, 18),
        ("hexagonal", 469, 96, 96),
    ],
)
def test_setup(board, cells, rings, thr):
    r = Rules(board, 2)
    s = r.new_game()
    assert r.board.ncell == cells
    assert s[L.HAND + 1] == s[L.HAND + 2] == rings
    assert s[L.VTHR] == thr
    assert r.phase(s) == "ring_placement" and r.current_player(s) == 1
    # first move: 1-3 rings on any cell
    assert len(r.legal(s)) == 3 * cells


@pytest.mark.parametrize("n,thr,line", [(2, 18, 4), (3, 24, 3), (4, 30, 3)])
def test_thresholds_by_player_count(n, thr, line):
    s = new_state("square8", n)
    assert s[L.VTHR] == thr and s[L.LINELEN] == line


def test_illegal_move_raises_and_leaves_state_unchanged():
    r = Rules("square8", 2)
    s = r.new_game()
    before = s.copy()
    bad = np.array([L.MT_MOVE_STACK, 1, 0, 9, -1, 0, 0, 0], dtype=np.int32)
    with pytest.raises(IllegalMoveError) as exc:
        r.apply(s, bad)
    assert "move_stack" in str(exc.value) and "ring_placement" in str(exc.value)
    assert np.array_equal(s, before)
    with pytest.raises(IllegalMoveError, match="place_ring p2"):
        r.move_from_key(s, "place_ring p2 to=0,0 n=1")


def test_apply_returns_new_state_and_keeps_input():
    r = Rules("hex8", 2)
    s = r.new_game()
    before = s.copy()
    t = r.apply_key(s, "place_ring p1 to=0,0,0 n=2")
    assert np.array_equal(s, before)
    assert r.phase(t) == "movement" and t[L.HAND + 1] == 16
    assert all(k.startswith("move_stack p1 from=0,0,0 ") for k in r.keys(t))


def test_pie_rule_offered_once_to_player_two():
    r = Rules("square8", 2, swap_rule=True)
    s = r.new_game()
    for key in (
        "place_ring p1 to=3,3 n=1",
        "move_stack p1 from=3,3 to=3,4",
        "no_line_action p1",
        "no_territory_action p1",
    ):
        assert "swap_sides p2" not in r.keys(s)
        s = r.apply_key(s, key)
    assert r.current_player(s) == 2 and "swap_sides p2" in r.keys(s)
    t = r.apply_key(s, "swap_sides p2")
    assert r.current_player(t) == 2 and r.phase(t) == "ring_placement"
    assert "swap_sides p2" not in r.keys(t)
    plain = Rules("square8", 2)
    u = plain.new_game()
    for key in (
        "place_ring p1 to=3,3 n=1",
        "move_stack p1 from=3,3 to=3,4",
        "no_line_action p1",
        "no_territory_action p1",
    ):
        u = plain.apply_key(u, key)
    assert plain.current_player(u) == 2 and "swap_sides p2" not in plain.keys(u)


def test_final_ranks_winner_first_and_ties_share():
    from ringrift.engine.api import final_ranks

    s = new_state("square8", 4)
    s[L.STATUS] = L.ST_COMPLETED
    s[L.WINNER] = 3
    s[L.TERR + 1] = 5
    s[L.TERR + 2] = 9
    s[L.TERR + 4] = 5
    assert final_ranks(s) == [3, 2, 1, 3]
    s[L.ELIM + 4] = 1
    assert final_ranks(s) == [4, 2, 1, 3]
    # a seat that lost its last ring later beats one that lost it earlier
    s[L.ELIM + 4] = 0
    s[L.ELIMTURN + 1] = 40
    s[L.ELIMTURN + 4] = 20
    assert final_ranks(s) == [3, 2, 1, 4]
    s[L.ELIMTURN + 1] = 0
    assert final_ranks(s) == [3, 2, 1, 4]


@pytest.mark.parametrize("board,players", [("square8", 2), ("hex8", 3), ("square19", 4)])
def test_apply_move_keeps_its_input_and_equals_apply_in_place(board, players):
    """Game loops play in place (apply_in_place); searches rely on apply_move
    leaving the state it was given as it was. Both give the same state at every
    step of random games, through every phase and move type they reach."""
    from ringrift.engine.rules import apply_in_place, apply_move, legal_moves

    r = Rules(board, players)
    rng = np.random.default_rng(7)
    types = set()
    for _ in range(2):
        s = r.new_game()
        while s[L.STATUS] == L.ST_ACTIVE and s[L.MOVE_COUNT] < 400:
            ms = legal_moves(r.geo, s)
            mv = ms[rng.integers(len(ms))]
            before = s.copy()
            t = apply_move(r.geo, s, mv)
            assert np.array_equal(s, before), f"apply_move changed its input ({mv})"
            apply_in_place(r.geo, s, mv)
            assert np.array_equal(s, t), f"apply_in_place differs from apply_move ({mv})"
            types.add(int(mv[L.F_TYPE]))
    # placements, movements, captures and the bookkeeping steps were all played
    assert {L.MT_PLACE_RING, L.MT_MOVE_STACK, L.MT_NO_LINE, L.MT_NO_TERRITORY} <= types
    assert types & {L.MT_OVERTAKING_CAPTURE, L.MT_CONTINUE_CAPTURE}
