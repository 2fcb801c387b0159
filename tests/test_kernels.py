"""Kernels and stack scratch (ringrift/engine/jit.py).

- Nothing leaks: kernels run without reference counting (Numba refuses to
  compile a kernel whose callees allocate or return arrays, which is what
  keeps them from leaking). End to end, a subprocess with the runtime's
  statistics on plays random games on every board and player count, and
  self-play games of every ladder level, twice; the second round must free
  exactly what it allocates.
- A kernel returning an array, alone or in a tuple, is refused at compile
  time (its caller would drop a reference the kernel never took, and free
  the array under its owner).
- Every board fits the kernels' stack scratch (MAX_CELLS cells, MAX_ROWS bit
  rows): a larger one would write past it.
- Stack scratch: ``stack_rows`` is zeroed on every call, ``stack_empty`` has
  the asked length and dtype, both work inside a kernel, and asking either
  for more than its slot holds raises ValueError.
"""

# ringrift first: it keys the Numba cache by the engine's source (see
# tests/test_movegen_agreement.py for why this order matters)
import ringrift  # noqa: F401

# isort: split

import json
import os
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest
from numba import errors, njit

from ringrift.engine.bitrows import shape
from ringrift.engine.geometry import BOARD_TYPES, board
from ringrift.engine.jit import MAX_ROWS, copy_range, kernel, stack_empty, stack_rows
from ringrift.engine.layout import MAX_CELLS

LEAKS = r"""
import json
import ringrift
import numpy as np
from numba.core.runtime import rtsys
from ringrift.engine.api import Rules
from ringrift.engine.geometry import BOARD_TYPES
from ringrift.engine.randplay import play_random_games
from ringrift.players.ladder import LEVELS
from ringrift.selfplay.game import play_game
from ringrift.selfplay.worker import params_for


def games():
    steps = 0
    for name in BOARD_TYPES:
        for n in (2, 3, 4):
            rules = Rules(name, n)
            steps += play_random_games(rules.geo, rules.new_game(), 2, 7, 100_000)[0]
    for name, n in (("square8", 2), ("hex8", 3)):
        rules = Rules(name, n)
        for level in LEVELS:
            levels = [level] + [1 + (level + i) % 4 for i in range(n - 1)]
            kinds, ip, fp, w = params_for(levels, name)
            # MCTS levels play an opening (their searches are long); the
            # others a whole game, through lines and territory
            moves = 24 if level >= 5 else 5000
            out = play_game(rules.geo, rules.new_game(), kinds, ip, fp, w, level, moves)
            steps += len(out[1])
            del out
    return steps


def live():
    st = rtsys.get_allocation_stats()
    return st.alloc - st.free, st.mi_alloc - st.mi_free


first = games()  # compiles, and makes whatever is made once
before = live()
steps = games()
print(json.dumps({"steps": steps, "first": first, "before": before, "after": live()}))
"""


def test_kernels_leak_nothing():
    env = dict(os.environ, NUMBA_NRT_STATS="1")
    run = subprocess.run(
        [sys.executable, "-c", LEAKS], env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["steps"] == got["first"] > 10_000  # the same games, and many
    assert got["after"] == got["before"], got


Pair = namedtuple("Pair", "n a")


@kernel
def _returns_a_view(a):
    return a[1:]


@kernel
def _returns_a_tuple(a):
    return Pair(a.shape[0], a)


@kernel
def _returns_a_number(a):
    return a[1] + 1


def test_a_kernel_returning_an_array_is_refused():
    a = np.arange(4)
    assert _returns_a_number(a) == 2
    with pytest.raises(
        errors.TypingError, match="_returns_a_tuple returns .*may not return an array"
    ):
        _returns_a_tuple(a)
    with pytest.raises(errors.TypingError):  # refused by Numba itself
        _returns_a_view(a)


def test_every_board_fits_the_stack_scratch():
    for name in BOARD_TYPES:
        b = board(name)
        n = len(b.coords)
        assert n <= MAX_CELLS, name
        rad, nrows = shape(n, b.is_hex)
        assert nrows <= MAX_ROWS, name
    assert MAX_CELLS == max(len(board(name).coords) for name in BOARD_TYPES)


@kernel
def _rows_twice(nrows):
    """Sums of two fresh (3, nrows) blocks, the first written all over."""
    first = 0
    for _ in range(2):
        a = stack_rows(3, nrows)
        for i in range(3):
            for j in range(nrows):
                first += a[i, j]
                a[i, j] = 7 + i + j
    return first, a.shape[0], a.shape[1]


@kernel
def _filled(n, v):
    a = stack_empty(100, n, np.int32)
    for i in range(n):
        a[i] = v + i
    t = 0
    for i in range(n):
        t += a[i]
    return t, a.shape[0]


@njit
def _rows_in_njit(nrows):
    a = stack_rows(2, nrows)
    a[1, nrows - 1] = 5
    return a.sum(), a[1].copy()


def test_stack_scratch():
    # zeroed on every call, though the loop wrote the slot all over before
    assert _rows_twice(8) == (0, 3, 8)
    assert _rows_twice(MAX_ROWS) == (0, 3, MAX_ROWS)
    assert _filled(10, -3) == (sum(range(-3, 7)), 10)
    assert _filled(100, 1) == (sum(range(1, 101)), 100)
    total, row = _rows_in_njit(25)  # in a function with reference counting
    assert total == 5 and row.dtype == np.uint64 and row.tolist() == [0] * 24 + [5]
    # past the slot: an error, not a write beyond it
    with pytest.raises(ValueError, match="stack_empty: more than 100 items"):
        _filled(101, 1)
    with pytest.raises(ValueError, match="stack_empty: more than 100 items"):
        _filled(-1, 1)
    with pytest.raises(ValueError, match=f"stack_rows: more than {MAX_ROWS} items"):
        _rows_twice(MAX_ROWS + 1)


@kernel
def _copy_range_in_kernel(dst, dpos, src, spos, n):
    return copy_range(dst, dpos, src, spos, n)


def test_copy_range_is_a_checked_memcpy():
    rng = np.random.default_rng(3)
    for dtype in (np.uint8, np.uint16, np.int32, np.float32, np.int64):
        src = rng.integers(0, 100, 50).astype(dtype)
        for dpos, spos, n in ((0, 0, 50), (3, 7, 20), (49, 0, 1), (10, 40, 10), (5, 5, 0)):
            dst = np.full(50, 7, dtype)
            want = dst.copy()
            want[dpos : dpos + n] = src[spos : spos + n]
            assert _copy_range_in_kernel(dst, dpos, src, spos, n)
            assert np.array_equal(dst, want), (dtype, dpos, spos, n)
    # a range past either end, or a negative one, copies nothing
    src = np.arange(10, dtype=np.int32)
    for dpos, spos, n in ((0, 5, 6), (5, 0, 6), (-1, 0, 1), (0, -1, 1), (0, 0, -1), (0, 0, 11)):
        dst = np.zeros(10, np.int32)
        assert not _copy_range_in_kernel(dst, dpos, src, spos, n)
        assert not dst.any()
