"""Boards as bit rows: one uint64 per row of cells, for whole-row set algebra.

Square: row x holds bit y. Hex: row x + radius (cube x) holds bit y + radius
(cube y), so a row's cells sit at bits first..first + count - 1. Cells are
numbered row by row, bits low to high (the engine's cell order), so walking
rows and bits in order visits cells 0, 1, 2, ...

A step (dx, dy) from the cell at (row, bit) leads to (row + dx, bit + dy):
``shifted(rows[row + k * dx], k * dy)`` holds, at bit b, the cell k steps
from (row, b). Bits off the board are always 0, so nothing wraps onto it.
"""

import numpy as np
from numba import njit, uint64

# movement steps (dx, dy) per board kind, as engine/geometry.py lays them out
SQUARE_STEPS = np.array(
    [(1, 0), (1, 1), (0, 1), (1, -1), (-1, 0), (-1, -1), (0, -1), (-1, 1)], dtype=np.int64
)
HEX_STEPS = np.array([(1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1)], dtype=np.int64)


@njit(cache=True, inline="always")
def shape(n, ishex):
    """(radius, number of bit rows) of a board of n cells."""
    rad = 0
    if ishex:
        while 3 * rad * (rad + 1) + 1 < n:
            rad += 1
        return rad, 2 * rad + 1
    while rad * rad < n:
        rad += 1
    return rad, rad


@njit(cache=True, inline="always")
def row_span(r, rad, nrows, ishex):
    """(first bit, number of cells) of bit row r."""
    if not ishex:
        return 0, nrows
    x = r - rad
    y0 = -rad - x if x < 0 else -rad
    y1 = rad - x if x > 0 else rad
    return y0 + rad, y1 - y0 + 1


@njit(cache=True, inline="always")
def shifted(v, m):
    """v with bit b + m moved to bit b (m may be negative)."""
    if m >= 0:
        return v >> uint64(m)
    return v << uint64(-m)
