"""Helpers shared by the JSON exporters: positions, keys, field-name aliases."""

from __future__ import annotations

import re

import numpy as np

from ..engine import layout as L
from ..engine.api import stack_rings as _stack_rings

# Fixed placeholder for the reference's wall-clock fields (volatile, see
# state_json's docstring); a constant keeps exports byte-reproducible.
EPOCH = "2000-01-01T00:00:00"

_CAMEL_RE = re.compile(r"_([a-z])")
_SPECIAL = {"from_pos": "from"}
_camel_cache: dict[str, str] = {}


def camel_key(k: str) -> str:
    """snake_case field name -> the reference's camelCase alias."""
    c = _camel_cache.get(k)
    if c is None:
        c = _SPECIAL.get(k) or _CAMEL_RE.sub(lambda m: m.group(1).upper(), k)
        _camel_cache[k] = c
    return c


def to_camel(obj):
    """Rename the model fields of a snake_case export to their aliases.

    Only keys with an underscore are renamed, so data keys ("3,4", "1",
    "swapRuleEnabled") pass through untouched."""
    if isinstance(obj, dict):
        return {(camel_key(k) if "_" in k else k): to_camel(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_camel(v) for v in obj]
    return obj


def pos(board, c: int) -> dict:
    """Cell index -> the reference's Position JSON (z null on square boards)."""
    co = board.coords[int(c)]
    return {"x": co[0], "y": co[1], "z": co[2] if len(co) == 3 else None}


ORIGIN = {"x": 0, "y": 0, "z": None}  # the dummy `to` of bookkeeping moves


def axis_vector(board, axis: int) -> dict:
    """Line axis (first NDIR/2 movement directions) -> direction Position."""
    if board.is_hex:
        d = ((1, 0, -1), (1, -1, 0), (0, -1, 1))[axis]
        return {"x": d[0], "y": d[1], "z": d[2]}
    d = ((1, 0), (1, 1), (0, 1), (1, -1))[axis]
    return {"x": d[0], "y": d[1], "z": None}


def ray_cells(board, start: int, axis: int, j0: int, count: int) -> list[int]:
    geo = board.geo
    cur = int(start)
    for _ in range(j0):
        cur = int(geo[cur, L.G_RAY + axis])
    out = []
    for _ in range(count):
        out.append(cur)
        cur = int(geo[cur, L.G_RAY + axis])
    return out


def stacks_in_order(s: np.ndarray) -> list[int]:
    """Cells holding a stack, in the reference's dict (insertion) order."""
    cells = np.flatnonzero(L.block(s, L.o_height))
    stamps = L.block(s, L.o_stamp)[cells]
    return [int(c) for c in cells[np.argsort(stamps, kind="stable")]]


def stack_rings(s: np.ndarray, c: int) -> list[int]:
    return [int(v) for v in _stack_rings(s, c)]


def cap_of(rings: list[int]) -> int:
    if not rings:
        return 0
    t = rings[-1]
    k = 0
    for v in reversed(rings):
        if v != t:
            break
        k += 1
    return k


# ---- the reference's territory fast path: region spaces in its set order ----


def _ref_index(board, c: int) -> int:
    """Our cell index -> the reference territory cache's index (square boards
    there are y-major; hex boards share our x-major order)."""
    if board.is_hex:
        return int(c)
    x, y = board.coords[int(c)]
    return y * board.size + x


_NB_CACHE: dict[str, tuple] = {}


def _ref_neighbours(board):
    """Per reference index: its territory neighbours, in the reference's
    direction order, as reference indices; and the index -> cell map."""
    got = _NB_CACHE.get(board.name)
    if got is not None:
        return got
    n = board.ncell
    to_cell = [0] * n
    for c in range(n):
        to_cell[_ref_index(board, c)] = c
    if board.is_hex:
        dirs = ((1, 0, -1), (1, -1, 0), (0, -1, 1), (-1, 0, 1), (-1, 1, 0), (0, 1, -1))
    else:
        dirs = ((-1, 0), (1, 0), (0, -1), (0, 1))
    nbs = []
    for r in range(n):
        co = board.coords[to_cell[r]]
        row = []
        for d in dirs:
            q = tuple(a + b for a, b in zip(co, d))
            c2 = board.index.get(",".join(str(v) for v in q))
            if c2 is not None:
                row.append(_ref_index(board, c2))
        nbs.append(tuple(row))
    got = (tuple(nbs), tuple(to_cell))
    _NB_CACHE[board.name] = got
    return got


def region_in_reference_order(board, cells) -> list[int]:
    """A region's cells in the order the reference lists its spaces.

    The reference grows a region by a depth-first fill (list.pop()) from its
    lowest index into a Python ``set`` of ints and lists the set, so the order
    is CPython's set order for that insertion sequence; we replay the fill."""
    nbs, to_cell = _ref_neighbours(board)
    members = {_ref_index(board, c) for c in cells}
    start = min(members)
    seen = {start}
    stack = [start]
    region: set[int] = set()
    while stack:
        r = stack.pop()
        region.add(r)
        for q in nbs[r]:
            if q in members and q not in seen:
                seen.add(q)
                stack.append(q)
    if len(region) != len(members):  # not one connected region: keep ours
        return [int(c) for c in cells]
    return [to_cell[r] for r in region]
