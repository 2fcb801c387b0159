"""Jitted cell and stack primitives on the flat state (layout in layout.py)."""

from numba import njit

from .jit import kernel
from .layout import (
    ELIM,
    NCELL,
    NP,
    STAMP,
    TERR,
    TOTAL_ELIM,
    o_collapsed,
    o_height,
    o_marker,
    o_pool,
    o_stamp,
    o_start,
)


@njit(cache=True, inline="always")
def ring_base(s, c):
    """Index in s of the bottom ring of the stack on c (its rings follow)."""
    n = s[NCELL]
    return o_pool(n) + s[o_start(n) + c]


@njit(cache=True, inline="always")
def rings_total(s):
    """Rings on the board: the used length of the ring pool."""
    n = s[NCELL]
    # the start of the last cell (the word before the pool) + its height
    return s[o_pool(n) - 1] + s[o_height(n) + n - 1]


@njit(cache=True, inline="always")
def height(s, c):
    return s[o_height(s[NCELL]) + c]


@njit(cache=True, inline="always")
def marker(s, c):
    return s[o_marker(s[NCELL]) + c]


@njit(cache=True, inline="always")
def collapsed(s, c):
    return s[o_collapsed(s[NCELL]) + c]


@njit(cache=True, inline="always")
def top(s, c):
    h = height(s, c)
    if h == 0:
        return 0
    return s[ring_base(s, c) + h - 1]


@kernel
def cap_height(s, c):
    h = height(s, c)
    if h == 0:
        return 0
    base = ring_base(s, c)
    t = s[base + h - 1]
    k = 1
    while k < h and s[base + h - 1 - k] == t:
        k += 1
    return k


@kernel
def set_marker(s, c, p):
    s[o_marker(s[NCELL]) + c] = p


@kernel
def set_collapsed(s, c, p):
    """Collapse cell c to player p; a marker there disappears."""
    n = s[NCELL]
    s[o_collapsed(n) + c] = p
    s[o_marker(n) + c] = 0


@kernel
def new_stack(s, c):
    """Cell c gets an (empty) stack inserted at the end of the stack order."""
    s[o_stamp(s[NCELL]) + c] = s[STAMP]
    s[STAMP] += 1


@kernel
def _resize(s, c, i, d):
    """Open (d > 0) or close (d < 0) |d| ring slots at position i of the stack
    on c. The pool stays packed in cell order with zeros after its end, so
    equal positions are equal arrays (states are compared and hashed whole);
    the stacks after c shift along."""
    n = s[NCELL]
    ost = o_start(n)
    q = o_pool(n) + s[ost + c] + i
    end = o_pool(n) + s[ost + n - 1] + s[o_height(n) + n - 1]
    if d > 0:
        for k in range(end - 1, q - 1, -1):
            s[k + d] = s[k]
    else:
        e = -d
        for k in range(q, end - e):
            s[k] = s[k + e]
        for k in range(end - e, end):
            s[k] = 0
    s[o_height(n) + c] += d
    for k in range(ost + c + 1, ost + n):
        s[k] += d


@kernel
def push_many(s, c, p, k):
    """k rings of p on top of the stack on c."""
    h = height(s, c)
    _resize(s, c, h, k)
    base = ring_base(s, c)
    for i in range(h, h + k):
        s[base + i] = p


@kernel
def pop_top(s, c):
    h = height(s, c) - 1
    p = s[ring_base(s, c) + h]
    _resize(s, c, h, -1)
    return p


@kernel
def remove_at(s, c, i):
    """Remove ring i (0 = bottom) from the stack on c, return its owner."""
    p = s[ring_base(s, c) + i]
    _resize(s, c, i, -1)
    return p


@kernel
def insert_bottom(s, c, p):
    _resize(s, c, 0, 1)
    s[ring_base(s, c)] = p


@kernel
def _reverse(s, a, b):
    b -= 1
    while a < b:
        t = s[a]
        s[a] = s[b]
        s[b] = t
        a += 1
        b -= 1


@kernel
def move_stack(s, frm, to):
    """The whole stack frm -> to (to is empty): its span rotates past the
    stacks between the two cells, which shift by its height."""
    n = s[NCELL]
    h = s[o_height(n) + frm]
    ost = o_start(n)
    op = o_pool(n)
    if frm < to:
        # [frm's rings][cells frm+1 .. to-1] -> [cells between][frm's rings]
        a, m, b = op + s[ost + frm], op + s[ost + frm] + h, op + s[ost + to]
        for k in range(ost + frm + 1, ost + to + 1):
            s[k] -= h
    else:
        # [cells to .. frm-1][frm's rings] -> [frm's rings][cells between]
        a, m, b = op + s[ost + to], op + s[ost + frm], op + s[ost + frm] + h
        for k in range(ost + to + 1, ost + frm + 1):
            s[k] += h
    _reverse(s, a, m)
    _reverse(s, m, b)
    _reverse(s, a, b)
    s[o_height(n) + to] = h
    s[o_height(n) + frm] = 0


@kernel
def credit_elimination(s, p, k):
    s[ELIM + p] += k
    s[TOTAL_ELIM] += k


@kernel
def eliminate_top(s, c, credited):
    """Remove the top ring of c, credited to `credited` (stack vanishes at 0)."""
    if height(s, c) == 0:
        return
    pop_top(s, c)
    credit_elimination(s, credited, 1)


@kernel
def eliminate_many(s, c, k, credited):
    """Remove the top k rings of c (k <= its height) in one go, credited to
    `credited`."""
    _resize(s, c, height(s, c) - k, -k)
    credit_elimination(s, credited, k)


@kernel
def rings_on_board(s, p):
    """Rings of colour p anywhere on the board (buried included)."""
    op = o_pool(s[NCELL])
    k = 0
    for j in range(op, op + rings_total(s)):
        if s[j] == p:
            k += 1
    return k


@kernel
def controls_any_stack(s, p):
    for c in range(s[NCELL]):
        if height(s, c) > 0 and top(s, c) == p:
            return True
    return False


@kernel
def has_marker_of(s, p):
    n = s[NCELL]
    for c in range(n):
        if s[o_marker(n) + c] == p:
            return True
    return False


@kernel
def buried_count(s, p):
    """Rings of p below the top of stacks p does not control."""
    n = s[NCELL]
    k = 0
    for c in range(n):
        h = s[o_height(n) + c]
        if h == 0:
            continue
        base = ring_base(s, c)
        if s[base + h - 1] == p:
            continue
        for i in range(h - 1):
            if s[base + i] == p:
                k += 1
    return k


@kernel
def first_index_of(s, c, p):
    h = height(s, c)
    base = ring_base(s, c)
    for i in range(h):
        if s[base + i] == p:
            return i
    return -1


@kernel
def first_extraction_stack(s, p):
    """First stack (in the reference's dict order) holding a buried ring of p."""
    n = s[NCELL]
    best = -1
    best_stamp = 0
    ostamp = o_stamp(n)
    for c in range(n):
        h = s[o_height(n) + c]
        if h == 0:
            continue
        i = first_index_of(s, c, p)
        if i < 0 or i == h - 1:
            continue
        if best < 0 or s[ostamp + c] < best_stamp:
            best = c
            best_stamp = s[ostamp + c]
    return best


@kernel
def add_territory(s, p, k):
    s[TERR + p] += k


@kernel
def num_players(s):
    return s[NP]
