"""Jitted territory: disconnected regions, their border markers, processability.

Regions are found the way the reference does it: one flood fill per marker
colour with that colour's markers as walls, plus one fill with every marker as
a wall; a region qualifies when the players controlling stacks inside it are a
strict subset of the players with any ring on the board. Regions are returned
deduplicated, as sorted cell lists packed in (cells, offsets).
"""

import numpy as np
from numba import njit

from .layout import G_BORDER, G_TER, NCELL, NP, NTDIR
from .stacks import collapsed, height, marker, o_pool, ring_base, rings_total, top


@njit(cache=True)
def _ring_colours(s):
    op = o_pool(s)
    mask = 0
    for j in range(op, op + rings_total(s)):
        mask |= 1 << s[j]
    return mask


@njit(cache=True)
def _popcount(x):
    k = 0
    while x:
        k += x & 1
        x >>= 1
    return k


@njit(cache=True)
def find_regions(geo, s):
    n = s[NCELL]
    nt = s[NTDIR]
    active = _ring_colours(s)
    cells = np.empty(n * (s[NP] + 2), dtype=np.int32)
    offs = np.zeros(n * (s[NP] + 2) + 1, dtype=np.int32)
    nreg = 0
    if active == 0:
        return cells[:0], offs[:1]
    mcols = 0
    for c in range(n):
        if marker(s, c) != 0:
            mcols |= 1 << marker(s, c)
    nact = _popcount(active)
    visited = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int32)
    region = np.empty(n, dtype=np.int32)
    # passes: border colour b = 1..4 (if present), then b = -1 (every marker a wall)
    for b in range(1, 6):
        if b <= 4:
            if not (mcols >> b) & 1:
                continue
        for c in range(n):
            mc = marker(s, c)
            visited[c] = collapsed(s, c) != 0 or (mc != 0 and (b == 5 or mc == b))
        for start in range(n):
            if visited[start]:
                continue
            visited[start] = True
            qh = 0
            qt = 0
            queue[qt] = start
            qt += 1
            rn = 0
            touches_marker = False
            while qh < qt:
                x = queue[qh]
                qh += 1
                region[rn] = x
                rn += 1
                for j in range(nt):
                    y = geo[x, G_TER + j]
                    if y < 0:
                        continue
                    if b == 5 and marker(s, y) != 0:
                        touches_marker = True
                    if visited[y]:
                        continue
                    visited[y] = True
                    queue[qt] = y
                    qt += 1
            if b == 5 and touches_marker:
                continue
            ctrl = 0
            for i in range(rn):
                if height(s, region[i]) > 0:
                    ctrl |= 1 << top(s, region[i])
            nctrl = _popcount(ctrl)
            if nctrl >= nact:
                continue
            if b == 5 and nctrl != 1:
                continue
            reg = np.sort(region[:rn])  # only qualifying regions pay for the sort
            # deduplicate against regions already found
            dup = False
            for r in range(nreg):
                a0 = offs[r]
                if offs[r + 1] - a0 != rn:
                    continue
                same = True
                for i in range(rn):
                    if cells[a0 + i] != reg[i]:
                        same = False
                        break
                if same:
                    dup = True
                    break
            if dup:
                continue
            a0 = offs[nreg]
            cells[a0 : a0 + rn] = reg
            offs[nreg + 1] = a0 + rn
            nreg += 1
    return cells[: offs[nreg]], offs[: nreg + 1]


@njit(cache=True)
def border_markers(geo, s, cells, a0, a1):
    """Markers the reference collapses with a region: markers next to it (by
    territory adjacency), grown over markers by its border neighbourhood."""
    n = s[NCELL]
    inreg = np.zeros(n, dtype=np.bool_)
    for i in range(a0, a1):
        inreg[cells[i]] = True
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int32)
    qt = 0
    nt = s[NTDIR]
    for i in range(a0, a1):
        x = cells[i]
        for j in range(nt):
            y = geo[x, G_TER + j]
            if y >= 0 and not inreg[y] and not seen[y] and marker(s, y) != 0:
                seen[y] = True
                queue[qt] = y
                qt += 1
    qh = 0
    while qh < qt:
        x = queue[qh]
        qh += 1
        for j in range(8):
            y = geo[x, G_BORDER + j]
            if y < 0 or seen[y] or inreg[y] or marker(s, y) == 0:
                continue
            seen[y] = True
            queue[qt] = y
            qt += 1
    return queue[:qt].copy()


@njit(cache=True)
def region_has_stack(s, cells, a0, a1):
    for i in range(a0, a1):
        if height(s, cells[i]) > 0:
            return True
    return False


@njit(cache=True)
def can_process(s, cells, a0, a1, p, recovery_ctx):
    """Self-elimination prerequisite: a stack outside the region that can pay
    (a controlled stack; in a recovery turn, a stack with a buried ring of p)."""
    n = s[NCELL]
    inreg = np.zeros(n, dtype=np.bool_)
    for i in range(a0, a1):
        inreg[cells[i]] = True
    for c in range(n):
        h = height(s, c)
        if h == 0 or inreg[c]:
            continue
        if recovery_ctx:
            base = ring_base(s, c)
            for i in range(h - 1):
                if s[base + i] == p:
                    return True
        elif top(s, c) == p:
            return True
    return False


@njit(cache=True)
def any_marker(s):
    n = s[NCELL]
    for c in range(n):
        if marker(s, c) != 0:
            return True
    return False
