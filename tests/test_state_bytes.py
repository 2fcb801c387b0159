"""The ``state`` column's byte format (ringrift/dataset/schema.py, STATE FORMAT):
pack_states against a slow encoder written from the format's description,
exact round trips on real positions of every board, and malformed bytes
refused (never read past a row, never a crash)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ringrift.dataset.schema import (
    StateError,
    column_states,
    pack_states,
    state_bytes,
    state_from_bytes,
    unpack_states,
)
from ringrift.engine import layout as L
from ringrift.engine.api import Rules
from ringrift.engine.rules import apply_move, legal_moves


def _varint(v: int) -> bytes:
    u = ((v << 1) ^ (v >> 31)) & 0xFFFFFFFF
    out = bytearray()
    while True:
        out.append((u & 0x7F) | (0x80 if u >= 0x80 else 0))
        u >>= 7
        if not u:
            return bytes(out)


def slow_state_bytes(s: np.ndarray) -> bytes:
    """The STATE FORMAT, one field after the other as the docstring lists them."""
    n = int(s[L.NCELL])
    blocks = [L.block(s, o) for o in (L.o_height, L.o_marker, L.o_collapsed, L.o_stamp)]
    cells = [c for c in range(n) if any(int(b[c]) for b in blocks)]
    out = b"".join(_varint(int(v)) for v in s[: L.HDR])
    out += _varint(len(cells))
    out += b"".join(_varint(c - p - 1) for p, c in zip([-1] + cells, cells))
    for b in blocks[:3]:
        out += bytes(int(b[c]) for c in cells)
    out += b"".join(_varint(int(blocks[3][c])) for c in cells)
    return out + bytes(int(r) for r in L.pool(s)[: int(blocks[0].sum())])


def _positions(board_type: str, players: int, steps: int, seed: int) -> list[np.ndarray]:
    rules = Rules(board_type, players, swap_rule=players == 2)
    rng = np.random.default_rng(seed)
    s, out = rules.new_game(), []
    for _ in range(steps):
        out.append(s)
        if s[L.STATUS] != L.ST_ACTIVE:
            break
        legal = legal_moves(rules.geo, s)
        s = apply_move(rules.geo, s, legal[rng.integers(len(legal))])
    return out


CASES = [("square8", 2, 400), ("square8", 4, 400), ("hex8", 3, 400), ("square19", 2, 150)]


@pytest.mark.parametrize("board_type,players,steps", CASES)
def test_states_round_trip_and_match_the_format(board_type, players, steps):
    states = np.stack(_positions(board_type, players, steps, seed=players))
    data, offsets = pack_states(states)
    assert offsets[0] == 0 and offsets[-1] == len(data)
    for r in (0, len(states) // 2, len(states) - 1):
        assert data[offsets[r] : offsets[r + 1]].tobytes() == slow_state_bytes(states[r])
    back = np.empty_like(states)
    assert unpack_states(data, offsets, back) == -1
    assert np.array_equal(back, states)
    # stacks, markers and collapsed cells all occur, so every field was exercised
    n = int(states[0, L.NCELL])
    for o in (L.o_height(n), L.o_marker(n), L.o_collapsed(n)):
        assert states[:, o : o + n].any(), board_type
    # a sliced column reads from its own first row
    col = pa.Array.from_buffers(
        pa.binary(), len(states), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    m = int(states[0, L.MAXH])
    assert np.array_equal(column_states(col.slice(3, 5), n, m), states[3:8])


def test_malformed_state_bytes_are_refused():
    s = _positions("square8", 2, 120, seed=7)[-1]
    n, m = int(s[L.NCELL]), int(s[L.MAXH])
    good = state_bytes(s)
    assert np.array_equal(state_from_bytes(good, n, m), s)
    for cut in range(len(good)):
        with pytest.raises(ValueError):
            state_from_bytes(good[:cut], n, m)
    with pytest.raises(ValueError):
        state_from_bytes(good + b"\x01", n, m)
    with pytest.raises(ValueError):
        state_from_bytes(good, 61, m)  # another board's size
    head = b"".join(_varint(int(v)) for v in s[: L.HDR])
    blocks = [L.block(s, o) for o in (L.o_height, L.o_marker, L.o_collapsed, L.o_stamp)]
    count = _varint(int(np.count_nonzero(np.any(blocks, axis=0))))
    assert good.startswith(head + count)
    with pytest.raises(ValueError):  # more listed cells than the board has
        state_from_bytes(head + _varint(n + 1) + good[len(head + count) :], n, m)
    with pytest.raises(StateError) as exc:
        col = pa.array([good, good[:-1]], pa.binary())
        column_states(col, n, m)
    assert exc.value.row == 1


def test_pack_refuses_values_that_do_not_fit_a_byte():
    s = Rules("square8", 2).new_game()
    L.block(s, L.o_marker)[5] = 300
    with pytest.raises(ValueError):
        state_bytes(s)
