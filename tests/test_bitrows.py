"""Bit-row shortcuts (engine/bitrows.py) against the cell-by-cell code, for
every seat on every state of seeded random games on every board and player
count:

- placement lists made with the bit-row free-run test equal the lists a
  cell-by-cell liveness check makes, move for move and in order; the counts
  make sure the whole-board test both decided cells and left some to the
  cell-by-cell check;
- ``has_line`` says yes exactly when ``find_lines`` finds a line; the counts
  make sure both answers, and lines on every axis, were seen.
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
    F_A,
    F_TO,
    LINELEN,
    MF,
    MOVE_COUNT,
    MT_PLACE_RING,
    NCELL,
    NDIR,
    NP,
    ST_ACTIVE,
    STATUS,
    o_marker,
)
from ringrift.engine.lines import find_lines, has_line, line_cell
from ringrift.engine.movegen import _live_after_placing, _placement_budget, add, gen_placements
from ringrift.engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into
from ringrift.engine.stacks import collapsed, height, marker


@njit(cache=True)
def _placements_by_cell(geo, s, p, out):
    """The placement list the obvious way: per cell, the largest live count
    (3, 2, 1) asked of the stack it would make, then every count up to it."""
    k = 0
    budget = _placement_budget(s, p)
    if budget <= 0:
        return k
    for c in range(s[NCELL]):
        if collapsed(s, c) != 0 or marker(s, c) != 0:
            continue
        most = 1 if height(s, c) > 0 else min(3, budget)
        for n in range(most, 0, -1):
            if _live_after_placing(geo, s, p, c, n):
                for j in range(1, n + 1):
                    k = add(out, k, MT_PLACE_RING, p, -1, c, -1, j, 0, 0)
                break
    return k


@njit(cache=True)
def _check(geo, s0, games, seed0, counts):
    """counts: [lists compared, moves, lists with a cell of fewer than 3];
    returns (game, move, seat) of the first difference or (-1, -1, -1)."""
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    a = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    b = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    for g in range(games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < 100_000:
            for p in range(1, s[NP] + 1):
                ka = gen_placements(geo, s, p, a, 0)
                kb = _placements_by_cell(geo, s, p, b)
                if ka != kb:
                    return g, s[MOVE_COUNT], p
                short = False
                for i in range(ka):
                    for f in range(MF):
                        if a[i, f] != b[i, f]:
                            return g, s[MOVE_COUNT], p
                    last_of_cell = i + 1 < ka and a[i + 1, F_A] == 1
                    if last_of_cell and a[i, F_A] < 3 and height(s, a[i, F_TO]) == 0:
                        short = True
                counts[0] += 1
                counts[1] += ka
                if short:
                    counts[2] += 1
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])
    return -1, -1, -1


@pytest.mark.parametrize(
    "board,n,games",
    [
        ("square8", 2, 30),
        ("square8", 4, 20),
        ("hex8", 3, 30),
        ("square19", 2, 2),
        ("hexagonal", 3, 1),
    ],
)
def test_placements_equal_the_cell_by_cell_list(board, n, games):
    r = Rules(board, n)
    counts = np.zeros(3, dtype=np.int64)
    g, move, seat = _check(r.geo, r.new_game(), games, 300, counts)
    assert g < 0, f"{board} {n}p game seed {300 + g} move {move} seat {seat}: the lists differ"
    assert counts[1] > 0 and counts[2] > 0, counts  # cells below 3 rings were listed too


@njit(cache=True)
def _check_lines(geo, s0, games, seed0, counts):
    """counts: [answers compared, yes answers, lines per axis 0..]; returns
    (game, move, seat) of the first disagreement or (-1, -1, -1)."""
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    for g in range(games):
        np.random.seed(seed0 + g)
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE and s[MOVE_COUNT] < 100_000:
            for p in range(1, s[NP] + 1):
                lines = find_lines(geo, s, p)
                if has_line(s, p) != (lines.shape[0] > 0):
                    return g, s[MOVE_COUNT], p
                counts[0] += 1
                if lines.shape[0] > 0:
                    counts[1] += 1
                for i in range(lines.shape[0]):
                    counts[2 + lines[i, 1]] += 1
            k = legal_moves_into(geo, s, out)
            s = apply_move(geo, s, out[np.random.randint(k)])
    return -1, -1, -1


@pytest.mark.parametrize(
    "board,n,games",
    [
        ("square8", 2, 40),
        ("square8", 3, 30),
        ("hex8", 2, 40),
        ("hex8", 4, 30),
        ("square19", 3, 3),
        ("hexagonal", 2, 2),
    ],
)
def test_has_line_equals_find_lines(board, n, games):
    r = Rules(board, n)
    s0 = r.new_game()
    counts = np.zeros(2 + s0[NDIR] // 2, dtype=np.int64)
    g, move, seat = _check_lines(r.geo, s0, games, 500, counts)
    assert g < 0, f"{board} {n}p game seed {500 + g} move {move} seat {seat}: has_line is wrong"
    assert 0 < counts[1] < counts[0], counts  # both answers were checked
    if board in ("square8", "hex8"):  # big boards' random games make few lines
        assert (counts[2:] > 0).all(), counts


@pytest.mark.parametrize("board", ["square8", "hex8", "square19", "hexagonal"])
def test_has_line_finds_every_line_that_fits(board):
    """Every run of LINELEN markers that fits on the board, on every axis and
    from every cell, is a line; one marker short of it is none."""
    r = Rules(board, 2)
    s0 = r.new_game()
    n = s0[NCELL]
    om = o_marker(n)
    fits = 0
    for a in range(s0[NDIR] // 2):
        for c in range(n):
            cells = [c]
            while len(cells) < s0[LINELEN] and cells[-1] >= 0:
                cells.append(line_cell(r.geo, cells[-1], a, 1))
            if cells[-1] < 0:
                continue
            s = s0.copy()
            s[[om + x for x in cells]] = 1
            assert has_line(s, 1) and not has_line(s, 2), (board, a, c)
            assert find_lines(r.geo, s, 1).shape[0] == 1
            s[om + cells[-1]] = 0
            assert not has_line(s, 1), (board, a, c)
            fits += 1
    assert fits > n, fits
