"""Jitted move -> policy index, the reference's ``encode_move_for_board``
(app/ai/canonical_move_encoding.py) on our move records.

Policy sizes: square8 7,000; square19 67,000; hex8 4,500; hexagonal 91,876.
Square boards give each move family its own block (placements, movement by
from/direction/distance, process_line anchors, eliminations, specials, line and
territory choices); hex boards encode placements and movements and send every
choice / bookkeeping move to one shared special index. ``swap_sides`` has no
hex index (-1: the reference drops such a sample).

The policy constants ``pc`` (int64) are built once per board by ``constants``:
    [is_hex, N, max_dist, movement_base, line_form_base, territory_claim_base,
     special_base, line_choice_base, territory_choice_base, extra_special_base,
     policy_size]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from ..engine.geometry import board
from ..engine.layout import (
    F_A,
    F_FROM,
    F_PLAYER,
    F_TO,
    F_TYPE,
    MT_CHOOSE_LINE_OPTION,
    MT_CHOOSE_TERRITORY,
    MT_CONTINUE_CAPTURE,
    MT_ELIMINATE,
    MT_FORCED_ELIM,
    MT_MOVE_STACK,
    MT_NO_LINE,
    MT_NO_MOVEMENT,
    MT_NO_PLACEMENT,
    MT_NO_TERRITORY,
    MT_OVERTAKING_CAPTURE,
    MT_PLACE_RING,
    MT_PROCESS_LINE,
    MT_RECOVERY_SLIDE,
    MT_SKIP_CAPTURE,
    MT_SKIP_PLACEMENT,
    MT_SKIP_RECOVERY,
    MT_SKIP_TERRITORY,
    MT_SWAP_SIDES,
)
from ..engine.territory import find_regions

INVALID = -1
POLICY_SIZES = {"square8": 7000, "square19": 67000, "hex8": 4500, "hexagonal": 91876}

# square direction order of the reference (dx, dy)
_SQ_DIRS = np.array(
    [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)], dtype=np.int32
)
# hex direction order of the reference, in canonical (x, y) steps
_HEX_DIRS = np.array([(1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)], dtype=np.int32)


@lru_cache(maxsize=None)
def constants(board_type: str) -> np.ndarray:
    b = board(board_type)
    n = b.size
    if b.is_hex:
        maxd = n - 1
        mbase = n * n * 3
        special = mbase + n * n * 6 * maxd
        return np.array(
            [1, n, maxd, mbase, 0, 0, special, 0, 0, 0, POLICY_SIZES[board_type]], dtype=np.int64
        )
    maxd = n - 1
    mbase = n * n * 3
    lfbase = mbase + n * n * 8 * maxd
    tclaim = lfbase + n * n * 4
    special = tclaim + n * n
    lchoice = special + 3
    tchoice = lchoice + 4
    extra = tchoice + n * n * 8 * 4
    return np.array(
        [
            0,
            n,
            maxd,
            mbase,
            lfbase,
            tclaim,
            special,
            lchoice,
            tchoice,
            extra,
            POLICY_SIZES[board_type],
        ],
        dtype=np.int64,
    )


@njit(cache=True)
def _dir_index(dirs, dx, dy):
    for i in range(dirs.shape[0]):
        if dirs[i, 0] == dx and dirs[i, 1] == dy:
            return i
    return -1


@njit(cache=True)
def policy_index(geo, s, mv, pc, gx, gy):
    """Policy index of move record mv in state s (-1 if it has none)."""
    t = mv[F_TYPE]
    is_hex = pc[0] != 0
    n = pc[1]
    maxd = pc[2]
    if t == MT_PLACE_RING:
        cnt = mv[F_A]
        if cnt < 1 or cnt > 3:
            return INVALID
        return (gy[mv[F_TO]] * n + gx[mv[F_TO]]) * 3 + cnt - 1
    if (
        t == MT_MOVE_STACK
        or t == MT_OVERTAKING_CAPTURE
        or t == MT_CONTINUE_CAPTURE
        or t == MT_RECOVERY_SLIDE
    ):
        f = mv[F_FROM]
        to = mv[F_TO]
        dx = gx[to] - gx[f]
        dy = gy[to] - gy[f]
        dist = max(abs(dx), abs(dy))
        if dist == 0 or dist > maxd:
            return INVALID
        if is_hex:
            d = _dir_index(_HEX_DIRS, dx // dist, dy // dist)
            ndir = 6
        else:
            d = _dir_index(_SQ_DIRS, dx // dist, dy // dist)
            ndir = 8
        if d < 0:
            return INVALID
        return pc[3] + (gy[f] * n + gx[f]) * (ndir * maxd) + d * maxd + dist - 1
    if is_hex:
        if t == MT_SWAP_SIDES:
            return INVALID
        return pc[6]
    if t == MT_PROCESS_LINE:
        to = mv[F_TO]
        return pc[4] + (gy[to] * n + gx[to]) * 4
    if t == MT_ELIMINATE:
        to = mv[F_TO]
        return pc[5] + gy[to] * n + gx[to]
    if t == MT_SKIP_PLACEMENT:
        return pc[6]
    if t == MT_SWAP_SIDES:
        return pc[6] + 1
    if t == MT_SKIP_RECOVERY:
        return pc[6] + 2
    if t == MT_NO_PLACEMENT:
        return pc[9]
    if t == MT_NO_MOVEMENT:
        return pc[9] + 1
    if t == MT_SKIP_CAPTURE:
        return pc[9] + 2
    if t == MT_NO_LINE:
        return pc[9] + 3
    if t == MT_NO_TERRITORY:
        return pc[9] + 4
    if t == MT_SKIP_TERRITORY:
        return pc[9] + 5
    if t == MT_FORCED_ELIM:
        return pc[9] + 6
    if t == MT_CHOOSE_LINE_OPTION:
        # the reference reads the option from placement_count, which line
        # moves never carry: always option 0
        return pc[7]
    if t == MT_CHOOSE_TERRITORY:
        cells, offs = find_regions(geo, s)
        r = mv[F_A]
        best = 1 << 30
        for j in range(offs[r], offs[r + 1]):
            c = cells[j]
            v = gy[c] * n + gx[c]  # min over (y, x)
            if v < best:
                best = v
        size = offs[r + 1] - offs[r]
        bucket = min(size - 1, 7)
        return pc[8] + best * 32 + bucket * 4 + (mv[F_PLAYER] - 1) % 4
    return INVALID
