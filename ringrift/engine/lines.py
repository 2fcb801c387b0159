"""Jitted line detection: maximal runs of one player's markers on a line axis."""

import numpy as np
from numba import njit

from .layout import G_RAY, LINELEN, NCELL, NDIR
from .stacks import marker


@njit(cache=True)
def find_lines(geo, s, p):
    """Lines of player p (all players if p == 0), one row each:
    (start cell, axis, length, owner). A line starts at its backward end."""
    n = s[NCELL]
    half = s[NDIR] // 2
    ll = s[LINELEN]
    out = np.empty((n * half // ll + 1, 4), dtype=np.int32)
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
                out[k, 0] = c
                out[k, 1] = a
                out[k, 2] = ln
                out[k, 3] = m
                k += 1
    return out[:k]


@njit(cache=True)
def line_cell(geo, start, axis, j):
    cur = start
    for _ in range(j):
        cur = geo[cur, G_RAY + axis]
    return cur
