"""Jitted line detection: maximal runs of one player's markers on a line axis."""

import numpy as np
from numba import njit, uint64

from .bitrows import HEX_STEPS, SQUARE_STEPS, row_span, shape, shifted
from .jit import kernel, stack_empty, stack_rows
from .layout import G_RAY, ISHEX, LINELEN, MAX_CELLS, NCELL, NDIR, o_marker
from .stacks import marker


@njit(cache=True)
def find_lines(geo, s, p):
    """Lines of player p (all players if p == 0), one row each:
    (start cell, axis, length, owner). A line starts at its backward end."""
    out = line_buffer(s)
    return out[: 4 * find_lines_into(geo, s, p, out)].copy().reshape((-1, 4))


# A line holds >= 3 markers and a cell starts at most one line per axis
# (at most 4 axes), so no board has more than this many lines.
# (4 int32 each; the stack capacity must be a plain constant for Numba)
LINE_WORDS = 4 * (MAX_CELLS * 4 // 3 + 1)


@njit(cache=True, inline="always")
def line_buffer(s):
    """A buffer for find_lines_into, on the caller's stack."""
    return stack_empty(LINE_WORDS, LINE_WORDS, np.int32)


@kernel
def find_lines_into(geo, s, p, out):
    """find_lines into out (line_buffer): line i is out[4 * i : 4 * i + 4];
    returns the number of lines."""
    n = s[NCELL]
    half = s[NDIR] // 2
    ll = s[LINELEN]
    k = 0
    for c in range(n):
        m = marker(s, c)
        if m == 0 or (p != 0 and m != p):
            continue
        for a in range(half):
            prev = geo[c, G_RAY + a + half]
            if prev >= 0 and marker(s, prev) == m:
                continue
            ln = 1
            cur = geo[c, G_RAY + a]
            while cur >= 0 and marker(s, cur) == m:
                ln += 1
                cur = geo[cur, G_RAY + a]
            if ln >= ll:
                out[4 * k] = c
                out[4 * k + 1] = a
                out[4 * k + 2] = ln
                out[4 * k + 3] = m
                k += 1
    return k


@kernel
def line_cell(geo, start, axis, j):
    cur = start
    for _ in range(j):
        cur = geo[cur, G_RAY + axis]
    return cur


@kernel
def has_line(s, p):
    """Whether player p has a line: ``find_lines(geo, s, p)`` is not empty.

    Most line phases have none, and this answers in a fraction of
    find_lines' time: p's markers as bit rows (engine/bitrows.py), then per
    line axis (dx, dy) the AND of the rows shifted k = 0 .. LINELEN - 1 steps
    along it, which holds a bit exactly where LINELEN markers in a row start."""
    n = s[NCELL]
    ishex = s[ISHEX] != 0
    rad, nrows = shape(n, ishex)
    ll = s[LINELEN]
    om = o_marker(n)
    rows = stack_rows(1, nrows)[0]
    one = uint64(1)
    count = 0
    c = 0
    for r in range(nrows):
        b0, ln = row_span(r, rad, nrows, ishex)
        bit = one << uint64(b0)
        for _ in range(ln):
            if s[om + c] == p:
                rows[r] |= bit
                count += 1
            bit <<= one
            c += 1
    if count < ll:
        return False
    steps = HEX_STEPS if ishex else SQUARE_STEPS
    for a in range(s[NDIR] // 2):
        dx = steps[a, 0]
        dy = steps[a, 1]
        # rows r with r + k * dx on the board for every k < ll
        r0 = 0 if dx >= 0 else (ll - 1) * -dx
        r1 = nrows if dx <= 0 else nrows - (ll - 1) * dx
        for r in range(r0, r1):
            acc = rows[r]
            k = 1
            while acc != 0 and k < ll:
                acc &= shifted(rows[r + k * dx], k * dy)
                k += 1
            if acc != 0:
                return True
    return False
