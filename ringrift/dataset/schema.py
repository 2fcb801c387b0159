"""The Parquet sample schema (one row per training sample), version SCHEMA_VERSION.

State columns hold the engine state (ringrift/engine/layout.py) compactly and
exactly: the 64-int header, per-cell arrays (stack height, marker, collapsed
owner: one int8 byte per cell; stack order stamp: int32 per cell) and the
stacks' rings (int8 bytes) concatenated bottom first in cell order. The int8
columns are byte strings (``np.frombuffer(value, np.int8)``; ``row_to_state``
does it): Parquet then writes one value per row, not one list element with its
levels per cell, which halves the cost of writing and reading them.
``history`` holds the legal-move index chosen at every engine step before the
sample, so any sample can also be rebuilt by replay.

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

SCHEMA_VERSION = 3
# Version 2: parts carry page checksums, a content digest and their settings
# (ringrift/dataset/parts.py); the stats sidecar is gone.
# Version 3: the same values; every column but ``move`` (null on a game's
# last row) and every list element declared not null, and the int8 state
# columns as byte strings (BYTE_COLUMNS): reading a part ~2.1x faster, writing
# an aggregate ~1.5x, at the same size (square8, measured in session 12).
# Bumped whenever a rules change could alter games (recorded in every file).
ENGINE_VERSION = 2
# The rules' behaviour digest for ENGINE_VERSION (ringrift/engine/fingerprint.py):
# tests/test_engine_version.py fails when the engine's behaviour no longer
# matches, so a rules change cannot ship under a stale version. Bump both.
ENGINE_DIGEST = "3e52413a85617a1ca1de588ad56b943cba73e01703a2a68cce771fb6fbd85f8e"
MAX_PLAYERS = L.MAX_PLAYERS


def _list(t: pa.DataType, size: int = -1) -> pa.DataType:
    """A list of not-null ``t`` (``size`` elements, or any number)."""
    return pa.list_(pa.field("element", t, nullable=False), size)


# The only column with nulls: no move is played from a game's last state.
NULLABLE = ("move",)
# int8 state columns stored as byte strings (fixed size per board, or any).
BYTE_COLUMNS = ("height", "marker", "collapsed", "rings")


def arrow_schema(ncell: int) -> pa.Schema:
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
        ("history", _list(pa.uint16())),
        ("header", _list(pa.int32(), L.HDR)),
        ("height", pa.binary(ncell)),
        ("marker", pa.binary(ncell)),
        ("collapsed", pa.binary(ncell)),
        ("stamp", _list(pa.int32(), ncell)),
        ("rings", pa.binary()),
    ]
    return pa.schema(
        [pa.field(name, t, nullable=name in NULLABLE) for name, t in columns],
        metadata={
            b"ringrift.schema_version": str(SCHEMA_VERSION).encode(),
            b"ringrift.engine_version": str(ENGINE_VERSION).encode(),
            b"ringrift.package_version": __version__.encode(),
        },
    )


def split_state(s: np.ndarray):
    """Engine state -> (header, height, marker, collapsed, stamp, rings)."""
    h = L.block(s, L.o_height)
    total = int(h.sum())
    return (
        s[: L.HDR],
        h,
        L.block(s, L.o_marker),
        L.block(s, L.o_collapsed),
        L.block(s, L.o_stamp),
        L.pool(s)[:total],  # the used pool: stacks in cell order
    )


@njit(cache=True)
def pack_states(states):
    """Engine states (k x S, one board) -> the state columns of k rows:
    header (k x HDR int32), height, marker, collapsed (k x n int8), stamp
    (k x n int32), rings per row (int32) and all rows' rings (int8), each
    row's stacks bottom first in cell order, as split_state."""
    k = states.shape[0]
    n = states[0, L.NCELL] if k else 0
    header = states[:, : L.HDR].copy()
    height = np.empty((k, n), dtype=np.int8)
    marker = np.empty((k, n), dtype=np.int8)
    collapsed = np.empty((k, n), dtype=np.int8)
    stamp = np.empty((k, n), dtype=np.int32)
    counts = np.zeros(k, dtype=np.int32)
    for r in range(k):
        for c in range(n):
            counts[r] += states[r, L.o_height(n) + c]
    rings = np.empty(counts.sum(), dtype=np.int8)
    pos = 0
    for r in range(k):
        s = states[r]
        for c in range(n):
            h = s[L.o_height(n) + c]
            if h > 127:  # the columns are int8: refuse rather than wrap
                raise ValueError("stack taller than 127 rings")
            height[r, c] = h
            marker[r, c] = s[L.o_marker(n) + c]
            collapsed[r, c] = s[L.o_collapsed(n) + c]
            stamp[r, c] = s[L.o_stamp(n) + c]
        op = L.o_pool(n)  # the pool holds the stacks' rings in cell order
        for j in range(counts[r]):
            rings[pos + j] = s[op + j]
        pos += counts[r]
    return header, height, marker, collapsed, stamp, counts, rings


def _ints(x) -> np.ndarray:
    """A state column's value as int32: a byte string holds int8s."""
    if isinstance(x, (bytes, bytearray, memoryview)):
        x = np.frombuffer(x, dtype=np.int8)
    return np.asarray(x, dtype=np.int32)


def join_state(header, height, marker, collapsed, stamp, rings) -> np.ndarray:
    """Inverse of split_state (the int8 blocks as arrays or byte strings)."""
    header = _ints(header)
    n = int(header[L.NCELL])
    m = int(header[L.MAXH])
    s = np.zeros(L.state_words(n, m), dtype=np.int32)
    s[: L.HDR] = header
    height = _ints(height)
    rings = _ints(rings)
    if int(height.sum()) != len(rings) or len(rings) > m:
        raise ValueError("ring count does not match stack heights")
    L.block(s, L.o_height)[:] = height
    L.block(s, L.o_marker)[:] = _ints(marker)
    L.block(s, L.o_collapsed)[:] = _ints(collapsed)
    L.block(s, L.o_stamp)[:] = stamp
    L.block(s, L.o_start)[:] = np.cumsum(height) - height
    L.pool(s)[: len(rings)] = rings
    return s


def row_to_state(row: dict) -> np.ndarray:
    """A Parquet row (as a dict, e.g. from Table.to_pylist()) -> engine state."""
    return join_state(
        row["header"], row["height"], row["marker"], row["collapsed"], row["stamp"], row["rings"]
    )
