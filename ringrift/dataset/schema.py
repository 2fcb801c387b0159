"""The Parquet sample schema (one row per training sample), version SCHEMA_VERSION.

``state`` holds the engine state (ringrift/engine/layout.py) before the
sample's move as one compact byte string (STATE FORMAT below), exactly: every
word of the state follows from it. ``history`` holds the legal-move index
chosen at every engine step before the sample, as little-endian uint16 bytes
(``np.frombuffer(value, "<u2")``), so any sample can also be rebuilt by replay.
Both are byte strings rather than lists because Parquet writes a byte string
as one value per row, not one value with its levels per element: reading and
writing them is what an aggregate's time goes to.

STATE FORMAT (``pack_states`` / ``unpack_states``; unsigned LEB128 varints of
zigzag-coded int32 where it says varint):

    header   HDR varints: the header words s[0:HDR]
    cells    a varint k, then k varint gaps: the listed cells in increasing
             order (each gap = cell - previous listed cell - 1, starting at -1);
             a cell is listed when its stack height, marker, collapsed owner or
             stamp is not 0
    planes   k height bytes, k marker bytes, k collapsed bytes (listed cells)
    stamps   k varints
    rings    the stacks' ring owners, one byte each, bottom first, cells in order

The start block and the pool's tail are functions of these. Grouping the bytes
by kind keeps them compressible column-wise.

Per-row training fields: outcome for the player to move (1 win, 0 loss, 0.5
draw), a per-seat value vector from final ranks (+1 best .. -1 worst), ranks,
the sparse policy target (legal-move indices + probabilities), the chosen move.

``engine_mode`` is the dataset's engine mode, except for games of neural players
(ringrift/neural): ``neural:<model digest>``, so every sample names its network.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from .. import __version__
from ..engine import layout as L
from ..engine.geometry import board
from .versions import ENGINE_DIGEST, ENGINE_VERSION, SCHEMA_VERSION  # noqa: F401 (re-exported)

MAX_PLAYERS = L.MAX_PLAYERS


def _list(t: pa.DataType, size: int = -1) -> pa.DataType:
    """A list of not-null ``t`` (``size`` elements, or any number)."""
    return pa.list_(pa.field("element", t, nullable=False), size)


# The only column with nulls: no move is played from a game's last state.
NULLABLE = ("move",)
# Columns of one opaque byte string per row.
BYTE_COLUMNS = ("history", "state")
# A game's own columns: ~14 rows of each game in a part's row group, ~2 in an
# aggregate's.
GAME_COLUMNS = ("game_id", "game_index", "game_seed", "game_hash")


def list_columns(schema: pa.Schema) -> list[str]:
    return [
        f.name for f in schema if pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type)
    ]


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns worth a Parquet dictionary: the scalars and strings with
    few values. The byte strings and the game columns have nearly as many
    distinct values as rows, and the lists (per-row arrays) compress as well
    without one; building their dictionaries costs the writer time, and a
    reader decodes and copies every value again. Measured on a square8 part
    of the default self-play: its row groups read ~20% faster without them,
    and the part is ~4% smaller."""
    plain = set(list_columns(schema)) | set(BYTE_COLUMNS) | set(GAME_COLUMNS)
    return [f.name for f in schema if f.name not in plain]


def arrow_schema() -> pa.Schema:
    columns = [
        ("game_id", pa.string()),
        ("worker_id", pa.dictionary(pa.int32(), pa.string())),
        ("game_index", pa.int32()),
        ("game_seed", pa.int64()),
        ("game_hash", pa.uint64()),
        ("board_type", pa.dictionary(pa.int8(), pa.string())),
        ("num_players", pa.int8()),
        ("engine_mode", pa.dictionary(pa.int8(), pa.string())),
        ("difficulty_band", pa.dictionary(pa.int8(), pa.string())),
        ("seat_levels", _list(pa.int8(), MAX_PLAYERS)),
        ("move_number", pa.int32()),
        ("ply_to_end", pa.int32()),
        ("step", pa.int32()),
        ("game_decisions", pa.int32()),
        ("game_steps", pa.int32()),
        ("victory_type", pa.dictionary(pa.int8(), pa.string())),
        ("winner", pa.int8()),
        ("player_to_move", pa.int8()),
        ("phase", pa.int8()),
        ("outcome", pa.float32()),
        ("values", _list(pa.float32(), MAX_PLAYERS)),
        ("ranks", _list(pa.int8(), MAX_PLAYERS)),
        ("move", _list(pa.int32(), L.MF)),
        ("policy_index", _list(pa.int32())),
        ("policy_prob", _list(pa.float32())),
        ("history", pa.binary()),
        ("state", pa.binary()),
    ]
    return pa.schema(
        [pa.field(name, t, nullable=name in NULLABLE) for name, t in columns],
        metadata={
            b"ringrift.schema_version": str(SCHEMA_VERSION).encode(),
            b"ringrift.engine_version": str(ENGINE_VERSION).encode(),
            b"ringrift.package_version": __version__.encode(),
        },
    )


@njit(cache=True)
def _put(out, p, v):
    """Write int32 v at out[p] as a zigzag LEB128 varint; the next position."""
    u = ((np.int64(v) << 1) ^ (np.int64(v) >> 31)) & 0xFFFFFFFF
    while u >= 0x80:
        out[p] = (u & 0x7F) | 0x80
        p += 1
        u >>= 7
    out[p] = u
    return p + 1


@njit(cache=True)
def _get(data, p, end):
    """(int32 value, next position) of the varint at data[p]; position -1 when
    it runs past ``end`` or is longer than an int32's 5 bytes."""
    u = np.int64(0)
    shift = 0
    while True:
        if p >= end or shift > 28:
            return 0, -1
        b = np.int64(data[p])
        p += 1
        u |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    if u > 0xFFFFFFFF:
        return 0, -1
    return np.int32((u >> 1) ^ -(u & 1)), p


@njit(cache=True)
def _is_listed(s, n, c):
    """Whether cell c is one of the state's listed cells (STATE FORMAT)."""
    return (
        s[L.o_height(n) + c] != 0
        or s[L.o_marker(n) + c] != 0
        or s[L.o_collapsed(n) + c] != 0
        or s[L.o_stamp(n) + c] != 0
    )


@njit(cache=True)
def pack_states(states):
    """Engine states (k x S, one board) -> (bytes, offsets): row r's state
    (STATE FORMAT) is bytes[offsets[r]:offsets[r + 1]]."""
    k = states.shape[0]
    n = states[0, L.NCELL] if k else 0
    offsets = np.zeros(k + 1, dtype=np.int32)
    out = np.empty(k * (5 * L.HDR + 13 * n + 5) + 1, dtype=np.uint8)
    cells = np.empty(n, dtype=np.int64)  # the row's listed cells, found once
    p = 0
    for r in range(k):
        s = states[r]
        cnt = 0
        rings = 0
        for c in range(n):
            rings += s[L.o_height(n) + c]
            if _is_listed(s, n, c):
                cells[cnt] = c
                cnt += 1
        need = p + 5 * L.HDR + 13 * n + 5 + rings
        if need > out.shape[0]:
            grown = np.empty(2 * need, dtype=np.uint8)
            grown[:p] = out[:p]
            out = grown
        for j in range(L.HDR):
            p = _put(out, p, s[j])
        p = _put(out, p, cnt)
        prev = -1
        for j in range(cnt):
            p = _put(out, p, cells[j] - prev - 1)
            prev = cells[j]
        for o in (L.o_height(n), L.o_marker(n), L.o_collapsed(n)):
            for j in range(cnt):
                v = s[o + cells[j]]
                if v < 0 or v > 127:  # one byte per value: refuse rather than wrap
                    raise ValueError("stack height or owner outside 0..127")
                out[p] = v
                p += 1
        for j in range(cnt):
            p = _put(out, p, s[L.o_stamp(n) + cells[j]])
        for j in range(rings):
            v = s[L.o_pool(n) + j]
            if v < 0 or v > 127:
                raise ValueError("ring owner outside 0..127")
            out[p] = v
            p += 1
        offsets[r + 1] = p
    return out[:p].copy(), offsets


@njit(cache=True)
def unpack_states(data, offsets, out):
    """Packed states (pack_states: row i is data[offsets[i]:offsets[i + 1]])
    into ``out`` (rows of one board's state size). Returns -1, or the first
    row whose bytes are not a state of that size."""
    slen = out.shape[1]
    for i in range(out.shape[0]):
        s = out[i]
        s[:] = 0
        p = offsets[i]
        end = offsets[i + 1]
        for j in range(L.HDR):
            v, p = _get(data, p, end)
            if p < 0:
                return i
            s[j] = v
        n = s[L.NCELL]
        m = s[L.MAXH]
        if n < 1 or m < 0 or L.HDR + 5 * n + m != slen:
            return i
        cnt, p = _get(data, p, end)
        if p < 0 or cnt < 0 or cnt > n or end - p < 3 * cnt:
            return i
        cells = np.empty(cnt, dtype=np.int64)
        c = -1
        for j in range(cnt):
            gap, p = _get(data, p, end)
            if p < 0 or gap < 0:
                return i
            c += gap + 1
            if c >= n:
                return i
            cells[j] = c
        if end - p < 3 * cnt:
            return i
        for o in (L.o_height(n), L.o_marker(n), L.o_collapsed(n)):
            for j in range(cnt):
                v = data[p]
                if v > 127:
                    return i
                s[o + cells[j]] = v
                p += 1
        for j in range(cnt):
            v, p = _get(data, p, end)
            if p < 0:
                return i
            s[L.o_stamp(n) + cells[j]] = v
        total = 0
        for c in range(n):
            s[L.o_start(n) + c] = total
            total += s[L.o_height(n) + c]
        if total > m or end - p != total:
            return i
        for j in range(total):
            s[L.o_pool(n) + j] = data[p + j]
    return -1


def state_bytes(s: np.ndarray) -> bytes:
    """One engine state as its ``state`` column value."""
    data, _ = pack_states(np.ascontiguousarray(s, dtype=np.int32)[None, :])
    return data.tobytes()


def state_from_bytes(value: bytes, n: int, m: int) -> np.ndarray:
    """A ``state`` column value -> the engine state of a board with n cells
    and m rings (ValueError when the bytes are not one)."""
    data = np.frombuffer(value, dtype=np.uint8)
    out = np.empty((1, L.state_words(n, m)), dtype=np.int32)
    if unpack_states(data, np.array([0, len(data)], dtype=np.int64), out) >= 0:
        raise ValueError("the state bytes are not a state of this board")
    return out[0]


def history_of(value) -> np.ndarray:
    """A ``history`` column value (bytes) -> the legal-move indices (int64)."""
    return np.frombuffer(value or b"", dtype="<u2").astype(np.int64)


def board_size(board_type: str, num_players: int) -> tuple[int, int]:
    """(cells, rings in the game): what a state's size depends on."""
    b = board(board_type)
    return b.ncell, b.rings_per_player * int(num_players)


def binary_parts(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes as uint8, int64 offsets into them) of a binary column."""
    offsets = np.frombuffer(
        col.buffers()[1], dtype=np.int32, count=len(col) + 1, offset=col.offset * 4
    )
    data = col.buffers()[2]
    return (
        np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8),
        offsets.astype(np.int64),
    )


def history_parts(col: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(int64 move indices, offsets into them) of a ``history`` column, or
    None when it is not one (type, nulls, odd byte counts)."""
    if not pa.types.is_binary(col.type) or col.null_count:
        return None
    data, offsets = binary_parts(col)
    if (offsets & 1).any():
        return None
    base = int(offsets[0])
    vals = data[base : int(offsets[-1])].view("<u2").astype(np.int64)
    return vals, (offsets - base) // 2


class StateError(ValueError):
    """A ``state`` value that is not a state of the board (``row``: the first)."""

    def __init__(self, row: int):
        super().__init__(f"row {row}'s state bytes are not a state of this board")
        self.row = row


def column_states(col: pa.Array, n: int, m: int, out: np.ndarray | None = None) -> np.ndarray:
    """A ``state`` column (no nulls) -> its engine states, one row each (in
    ``out`` when given). ValueError naming the first row that is not a state
    of a board with n cells and m rings (StateError)."""
    data, offsets = binary_parts(col)
    if out is None:
        out = np.empty((len(col), L.state_words(n, m)), dtype=np.int32)
    bad = unpack_states(data, offsets, out) if out.shape[1] == L.state_words(n, m) else 0
    if bad >= 0:
        raise StateError(bad)
    return out


def row_to_state(row: dict) -> np.ndarray:
    """A Parquet row (as a dict, e.g. from Table.to_pylist()) -> engine state."""
    return state_from_bytes(row["state"], *board_size(row["board_type"], row["num_players"]))
