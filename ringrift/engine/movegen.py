"""Jitted generators for placement, movement, capture and recovery moves.

Each generator appends move records to a buffer ``out`` (rows of MF int32) and
returns the new row count; ``has_*`` predicates answer without building lists.
"""

from numba import uint64

from .bitrows import HEX_STEPS, SQUARE_STEPS, row_span, shape, shifted
from .jit import kernel, stack_rows
from .layout import (
    CHAIN,
    F_A,
    F_B,
    F_C,
    F_CAP,
    F_FROM,
    F_PLAYER,
    F_TO,
    F_TYPE,
    G_RAY,
    HAND,
    ISHEX,
    LINELEN,
    MT_CONTINUE_CAPTURE,
    MT_MOVE_STACK,
    MT_OVERTAKING_CAPTURE,
    MT_PLACE_RING,
    MT_RECOVERY_SLIDE,
    MT_SKIP_RECOVERY,
    NCELL,
    NDIR,
    RM_FALLBACK,
    RM_LINE,
    RM_STACK_STRIKE,
    RPP,
    o_collapsed,
    o_height,
    o_marker,
)
from .stacks import (
    buried_count,
    cap_height,
    collapsed,
    controls_any_stack,
    first_extraction_stack,
    has_marker_of,
    height,
    marker,
    rings_on_board,
    top,
)


@kernel
def add(out, k, mtype, player, frm, to, cap, a, b, c):
    if k >= out.shape[0]:
        raise IndexError("move buffer full")
    out[k, F_TYPE] = mtype
    out[k, F_PLAYER] = player
    out[k, F_FROM] = frm
    out[k, F_TO] = to
    out[k, F_CAP] = cap
    out[k, F_A] = a
    out[k, F_B] = b
    out[k, F_C] = c
    return k + 1


# ---- movement -------------------------------------------------------------


@kernel
def gen_moves_from(geo, s, p, c, out, k):
    """Non-capture moves of the stack on c: straight, distance >= height, no
    stack or collapsed cell on the way, landing on an empty or marker cell."""
    h = height(s, c)
    need = h if h > 1 else 1
    for d in range(s[NDIR]):
        cur = c
        step = 0
        while True:
            cur = geo[cur, G_RAY + d]
            step += 1
            if cur < 0 or collapsed(s, cur) != 0 or height(s, cur) > 0:
                break
            if step >= need:
                k = add(out, k, MT_MOVE_STACK, p, c, cur, -1, 0, 0, 0)
    return k


@kernel
def has_move_from(geo, s, c):
    return _move_from_height(geo, s, c, height(s, c))


@kernel
def _move_from_height(geo, s, c, h):
    """A simple move from c for a stack of height h there."""
    need = h if h > 1 else 1
    for d in range(s[NDIR]):
        cur = c
        step = 0
        while step < need:
            cur = geo[cur, G_RAY + d]
            step += 1
            if cur < 0 or collapsed(s, cur) != 0 or height(s, cur) > 0:
                break
            if step >= need:
                return True
    return False


@kernel
def gen_captures_from(geo, s, p, c, mtype, out, k):
    """Overtaking segments from c: the first stack on a ray with cap <= ours is
    the target; every open cell beyond it at distance >= height is a landing."""
    if height(s, c) == 0 or top(s, c) != p:
        return k
    h = height(s, c)
    ch = cap_height(s, c)
    for d in range(s[NDIR]):
        cur = c
        step = 0
        target = -1
        while True:
            cur = geo[cur, G_RAY + d]
            step += 1
            if cur < 0 or collapsed(s, cur) != 0:
                break
            if height(s, cur) > 0:
                if ch >= cap_height(s, cur):
                    target = cur
                break
        if target < 0:
            continue
        cur = target
        while True:
            cur = geo[cur, G_RAY + d]
            step += 1
            if cur < 0 or collapsed(s, cur) != 0 or height(s, cur) > 0:
                break
            if step >= h:
                k = add(out, k, mtype, p, c, cur, target, 0, 0, 0)
    return k


@kernel
def has_capture_from(geo, s, p, c):
    if height(s, c) == 0 or top(s, c) != p:
        return False
    return _capture_from_stack(geo, s, c, height(s, c), cap_height(s, c))


@kernel
def _capture_from_stack(geo, s, c, h, ch):
    """An overtaking segment from c for a stack of height h and cap ch there."""
    for d in range(s[NDIR]):
        cur = c
        step = 0
        target = -1
        while True:
            cur = geo[cur, G_RAY + d]
            step += 1
            if cur < 0 or collapsed(s, cur) != 0:
                break
            if height(s, cur) > 0:
                if ch >= cap_height(s, cur):
                    target = cur
                break
        if target < 0:
            continue
        cur = target
        while True:
            cur = geo[cur, G_RAY + d]
            step += 1
            if cur < 0 or collapsed(s, cur) != 0 or height(s, cur) > 0:
                break
            if step >= h:
                return True
    return False


@kernel
def gen_movement(geo, s, p, must, out, k):
    for c in range(s[NCELL]):
        if height(s, c) > 0 and top(s, c) == p and (must < 0 or c == must):
            k = gen_moves_from(geo, s, p, c, out, k)
    return k


@kernel
def gen_captures(geo, s, p, must, out, k):
    """Captures as the reference lists them in movement / chain phases."""
    ch = s[CHAIN]
    if ch >= 0:
        return gen_captures_from(geo, s, p, ch, MT_CONTINUE_CAPTURE, out, k)
    for c in range(s[NCELL]):
        if height(s, c) > 0 and top(s, c) == p and (must < 0 or c == must):
            k = gen_captures_from(geo, s, p, c, MT_OVERTAKING_CAPTURE, out, k)
    return k


@kernel
def has_movement(geo, s, p, must):
    for c in range(s[NCELL]):
        if height(s, c) > 0 and top(s, c) == p and (must < 0 or c == must):
            if has_move_from(geo, s, c):
                return True
    return False


@kernel
def has_captures(geo, s, p, must):
    for c in range(s[NCELL]):
        if height(s, c) > 0 and top(s, c) == p and (must < 0 or c == must):
            if has_capture_from(geo, s, p, c):
                return True
    return False


# ---- placement ------------------------------------------------------------


@kernel
def _placement_budget(s, p):
    hand = s[HAND + p]
    if hand <= 0:
        return 0
    by_cap = s[RPP] - rings_on_board(s, p)
    return by_cap if by_cap < hand else hand


@kernel
def _live_after_placing(geo, s, p, c, n):
    """No-dead-placement: after placing n rings on c, can that stack move or
    capture? Asked of the stack it would make (height, cap), not a copy."""
    h0 = height(s, c)
    ch = n + cap_height(s, c) if h0 > 0 and top(s, c) == p else n
    return _move_from_height(geo, s, c, h0 + n) or _capture_from_stack(geo, s, c, h0 + n, ch)


@kernel
def _three_free_rows(s, rad, nrows, ishex, live):
    """live := bit rows of the cells with three open cells (no stack, not
    collapsed) in a row in some movement direction: a new stack of 3 there
    can move."""
    n = s[NCELL]
    oh = o_height(n)
    oc = o_collapsed(n)
    one = uint64(1)
    free = stack_rows(1, nrows)[0]
    c = 0
    for r in range(nrows):
        b0, ln = row_span(r, rad, nrows, ishex)
        bit = one << uint64(b0)
        for _ in range(ln):
            if s[oh + c] == 0 and s[oc + c] == 0:
                free[r] |= bit
            bit <<= one
            c += 1
    steps = HEX_STEPS if ishex else SQUARE_STEPS
    for d in range(steps.shape[0]):
        dx = steps[d, 0]
        dy = steps[d, 1]
        for r in range(nrows):
            if r + 3 * dx < 0 or r + 3 * dx >= nrows:
                continue
            live[r] |= (
                shifted(free[r + dx], dy)
                & shifted(free[r + 2 * dx], 2 * dy)
                & shifted(free[r + 3 * dx], 3 * dy)
            )


@kernel
def gen_placements(geo, s, p, out, k):
    budget = _placement_budget(s, p)
    if budget <= 0:
        return k
    n = s[NCELL]
    ishex = s[ISHEX] != 0
    rad, nrows = shape(n, ishex)
    # most empty cells take 3 rings by a free run alone: found for all at once
    live3 = stack_rows(1, nrows)[0]
    if budget >= 3:
        _three_free_rows(s, rad, nrows, ishex, live3)
    c = 0
    for r in range(nrows):
        b0, ln = row_span(r, rad, nrows, ishex)
        for y in range(ln):
            if collapsed(s, c) != 0 or marker(s, c) != 0:
                c += 1
                continue
            if height(s, c) == 0 and (live3[r] >> uint64(b0 + y)) & uint64(1):
                for j in range(1, 4):
                    k = add(out, k, MT_PLACE_RING, p, -1, c, -1, j, 0, 0)
                c += 1
                continue
            most = 1 if height(s, c) > 0 else (3 if budget > 3 else budget)
            # The reference looks for the largest live count and then lists
            # every count up to it.
            for m in range(most, 0, -1):
                if _live_after_placing(geo, s, p, c, m):
                    for j in range(1, m + 1):
                        k = add(out, k, MT_PLACE_RING, p, -1, c, -1, j, 0, 0)
                    break
            c += 1
    return k


@kernel
def has_placement(geo, s, p):
    budget = _placement_budget(s, p)
    if budget <= 0:
        return False
    for c in range(s[NCELL]):
        if collapsed(s, c) != 0 or marker(s, c) != 0:
            continue
        most = 1 if height(s, c) > 0 else (3 if budget > 3 else budget)
        for n in range(1, most + 1):
            if _live_after_placing(geo, s, p, c, n):
                return True
    return False


@kernel
def _loose_move_or_capture_from(geo, s, p, c):
    """The reference's looser reachability test behind skip_placement: the cell
    at distance == height must be open and reachable (it may hold a stack)."""
    h = height(s, c)
    for d in range(s[NDIR]):
        cur = c
        ok = True
        for step in range(1, h + 1):
            cur = geo[cur, G_RAY + d]
            if cur < 0 or collapsed(s, cur) != 0:
                ok = False
                break
            if step < h and height(s, cur) > 0:
                ok = False
                break
        if ok:
            return True
    return has_capture_from(geo, s, p, c)


@kernel
def recovery_eligible(s, p):
    return (not controls_any_stack(s, p)) and has_marker_of(s, p) and buried_count(s, p) >= 1


@kernel
def can_skip_placement(geo, s, p):
    if s[HAND + p] <= 0:
        return False
    any_stack = False
    for c in range(s[NCELL]):
        if height(s, c) > 0 and top(s, c) == p:
            any_stack = True
            if _loose_move_or_capture_from(geo, s, p, c):
                return True
    if not any_stack:
        return recovery_eligible(s, p)
    return False


@kernel
def bare_board_placement_exists(geo, s):
    """Called only when no stacks remain: is there a cell a single ring could be
    placed on and then move from?"""
    for c in range(s[NCELL]):
        if collapsed(s, c) != 0 or marker(s, c) != 0:
            continue
        for d in range(s[NDIR]):
            nb = geo[c, G_RAY + d]
            if nb >= 0 and collapsed(s, nb) == 0:
                return True
    return False


# ---- recovery -------------------------------------------------------------


@kernel
def line_through(geo, s, c, p):
    """First line axis through c (in the reference's axis order) carrying a run
    of >= line length markers of p; returns (start cell, axis, length)."""
    half = s[NDIR] // 2
    ll = s[LINELEN]
    for a in range(half):
        start = c
        ln = 1
        cur = c
        while True:
            cur = geo[cur, G_RAY + a]
            if cur < 0 or collapsed(s, cur) != 0 or height(s, cur) > 0 or marker(s, cur) != p:
                break
            ln += 1
        cur = c
        while True:
            cur = geo[cur, G_RAY + a + half]
            if cur < 0 or collapsed(s, cur) != 0 or height(s, cur) > 0 or marker(s, cur) != p:
                break
            ln += 1
            start = cur
        if ln >= ll:
            return start, a, ln
    return -1, -1, 0


@kernel
def _slide_line(geo, s, p, frm, to):
    om = o_marker(s[NCELL])
    s[om + frm] = 0
    s[om + to] = p
    r = line_through(geo, s, to, p)
    s[om + to] = 0
    s[om + frm] = p
    return r


@kernel
def gen_recovery(geo, s, p, out, k):
    if not recovery_eligible(s, p):
        return k
    n = s[NCELL]
    buried = buried_count(s, p)
    ll = s[LINELEN]
    k0 = k
    line_found = False
    for frm in range(n):
        if marker(s, frm) != p:
            continue
        for d in range(s[NDIR]):
            to = geo[frm, G_RAY + d]
            if to < 0 or collapsed(s, to) != 0 or marker(s, to) != 0 or height(s, to) > 0:
                continue
            start, a, ln = _slide_line(geo, s, p, frm, to)
            if ln > 0 and (buried >= 1 or ln > ll):
                line_found = True
                if ln > ll:
                    k = add(out, k, MT_RECOVERY_SLIDE, p, frm, to, -1, RM_LINE, 2, -1)
                k = add(out, k, MT_RECOVERY_SLIDE, p, frm, to, -1, RM_LINE, 1, -1)
    if not line_found and buried >= 1:
        k = k0
        ext = first_extraction_stack(s, p)
        if ext >= 0:
            for frm in range(n):
                if marker(s, frm) != p:
                    continue
                for d in range(s[NDIR]):
                    to = geo[frm, G_RAY + d]
                    if to < 0 or collapsed(s, to) != 0 or marker(s, to) != 0:
                        continue
                    mode = RM_STACK_STRIKE if height(s, to) > 0 else RM_FALLBACK
                    k = add(out, k, MT_RECOVERY_SLIDE, p, frm, to, -1, mode, 0, ext)
    k = add(out, k, MT_SKIP_RECOVERY, p, -1, -1, -1, 0, 0, 0)
    return k


@kernel
def has_recovery(geo, s, p):
    """Any recovery slide at all (a line slide, a fallback slide or a strike)."""
    if not recovery_eligible(s, p):
        return False
    n = s[NCELL]
    for frm in range(n):
        if marker(s, frm) != p:
            continue
        for d in range(s[NDIR]):
            to = geo[frm, G_RAY + d]
            if to >= 0 and collapsed(s, to) == 0 and marker(s, to) == 0:
                return True
    return False
