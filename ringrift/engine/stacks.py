"""Jitted cell and stack primitives on the flat state (layout in layout.py)."""

from numba import njit

from .layout import (
    ELIM,
    HAND,
    HDR,
    MAXH,
    NCELL,
    NP,
    STAMP,
    TERR,
    TOTAL_ELIM,
)


@njit(cache=True, inline="always")
def o_h(s):
    return HDR


@njit(cache=True, inline="always")
def o_mk(s):
    return HDR + s[NCELL]


@njit(cache=True, inline="always")
def o_col(s):
    return HDR + 2 * s[NCELL]


@njit(cache=True, inline="always")
def o_st(s):
    return HDR + 3 * s[NCELL]


@njit(cache=True, inline="always")
def o_r(s):
    return HDR + 4 * s[NCELL]


@njit(cache=True, inline="always")
def height(s, c):
    return s[HDR + c]


@njit(cache=True, inline="always")
def marker(s, c):
    return s[HDR + s[NCELL] + c]


@njit(cache=True, inline="always")
def collapsed(s, c):
    return s[HDR + 2 * s[NCELL] + c]


@njit(cache=True, inline="always")
def ring(s, c, i):
    return s[HDR + 4 * s[NCELL] + c * s[MAXH] + i]


@njit(cache=True, inline="always")
def top(s, c):
    h = s[HDR + c]
    if h == 0:
        return 0
    return s[HDR + 4 * s[NCELL] + c * s[MAXH] + h - 1]


@njit(cache=True)
def cap_height(s, c):
    h = s[HDR + c]
    if h == 0:
        return 0
    base = HDR + 4 * s[NCELL] + c * s[MAXH]
    t = s[base + h - 1]
    k = 1
    while k < h and s[base + h - 1 - k] == t:
        k += 1
    return k


@njit(cache=True)
def set_marker(s, c, p):
    s[HDR + s[NCELL] + c] = p


@njit(cache=True)
def set_collapsed(s, c, p):
    """Collapse cell c to player p; a marker there disappears."""
    n = s[NCELL]
    s[HDR + 2 * n + c] = p
    s[HDR + n + c] = 0


@njit(cache=True)
def new_stack(s, c):
    """Cell c gets an (empty) stack inserted at the end of the stack order."""
    s[HDR + 3 * s[NCELL] + c] = s[STAMP]
    s[STAMP] += 1


@njit(cache=True)
def push_top(s, c, p):
    h = s[HDR + c]
    s[HDR + 4 * s[NCELL] + c * s[MAXH] + h] = p
    s[HDR + c] = h + 1


@njit(cache=True)
def pop_top(s, c):
    h = s[HDR + c] - 1
    base = HDR + 4 * s[NCELL] + c * s[MAXH]
    p = s[base + h]
    s[base + h] = 0
    s[HDR + c] = h
    return p


@njit(cache=True)
def remove_at(s, c, i):
    """Remove ring i (0 = bottom) from the stack on c, return its owner."""
    h = s[HDR + c]
    base = HDR + 4 * s[NCELL] + c * s[MAXH]
    p = s[base + i]
    for k in range(i, h - 1):
        s[base + k] = s[base + k + 1]
    s[base + h - 1] = 0
    s[HDR + c] = h - 1
    return p


@njit(cache=True)
def insert_bottom(s, c, p):
    h = s[HDR + c]
    base = HDR + 4 * s[NCELL] + c * s[MAXH]
    for k in range(h, 0, -1):
        s[base + k] = s[base + k - 1]
    s[base] = p
    s[HDR + c] = h + 1


@njit(cache=True)
def credit_elimination(s, p, k):
    s[ELIM + p] += k
    s[TOTAL_ELIM] += k


@njit(cache=True)
def eliminate_top(s, c, credited):
    """Remove the top ring of c, credited to `credited` (stack vanishes at 0)."""
    if s[HDR + c] == 0:
        return
    pop_top(s, c)
    credit_elimination(s, credited, 1)


@njit(cache=True)
def rings_on_board(s, p):
    """Rings of colour p anywhere on the board (buried included)."""
    n = s[NCELL]
    m = s[MAXH]
    base = HDR + 4 * n
    k = 0
    for c in range(n):
        h = s[HDR + c]
        for i in range(h):
            if s[base + c * m + i] == p:
                k += 1
    return k


@njit(cache=True)
def rings_in_play(s, p):
    return rings_on_board(s, p) + s[HAND + p]


@njit(cache=True)
def controls_any_stack(s, p):
    for c in range(s[NCELL]):
        if s[HDR + c] > 0 and top(s, c) == p:
            return True
    return False


@njit(cache=True)
def has_marker_of(s, p):
    n = s[NCELL]
    for c in range(n):
        if s[HDR + n + c] == p:
            return True
    return False


@njit(cache=True)
def buried_count(s, p):
    """Rings of p below the top of stacks p does not control."""
    n = s[NCELL]
    m = s[MAXH]
    base = HDR + 4 * n
    k = 0
    for c in range(n):
        h = s[HDR + c]
        if h == 0 or s[base + c * m + h - 1] == p:
            continue
        for i in range(h - 1):
            if s[base + c * m + i] == p:
                k += 1
    return k


@njit(cache=True)
def first_index_of(s, c, p):
    h = s[HDR + c]
    base = HDR + 4 * s[NCELL] + c * s[MAXH]
    for i in range(h):
        if s[base + i] == p:
            return i
    return -1


@njit(cache=True)
def first_extraction_stack(s, p):
    """First stack (in the reference's dict order) holding a buried ring of p."""
    n = s[NCELL]
    best = -1
    best_stamp = 0
    ost = HDR + 3 * n
    for c in range(n):
        h = s[HDR + c]
        if h == 0:
            continue
        i = first_index_of(s, c, p)
        if i < 0 or i == h - 1:
            continue
        if best < 0 or s[ost + c] < best_stamp:
            best = c
            best_stamp = s[ost + c]
    return best


@njit(cache=True)
def add_territory(s, p, k):
    s[TERR + p] += k


@njit(cache=True)
def num_players(s):
    return s[NP]
