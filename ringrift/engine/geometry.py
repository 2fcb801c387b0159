"""Board geometry tables, built once per board type.

Movement directions are ordered so that direction d+NDIR/2 is the opposite of
d and the first NDIR/2 directions are the reference's line axes in its order
(square: E, SE, S, NE; hex: (1,0,-1), (1,-1,0), (0,-1,1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import layout as L

BOARD_TYPES = ("square8", "square19", "hex8", "hexagonal")

# board -> (size field, rings per player, hex radius or None)
_BOARDS = {
    "square8": (8, 18, None),
    "square19": (19, 72, None),
    "hex8": (9, 18, 4),
    "hexagonal": (25, 96, 12),
}

_SQ_DIRS = ((1, 0), (1, 1), (0, 1), (1, -1), (-1, 0), (-1, -1), (0, -1), (-1, 1))
_SQ_TER = ((1, 0), (-1, 0), (0, 1), (0, -1))
_HEX_DIRS = ((1, 0, -1), (1, -1, 0), (0, -1, 1), (-1, 0, 1), (-1, 1, 0), (0, 1, -1))
# The reference grows border markers with square Moore offsets on hex8 (z derived
# from x and y) and not at all on the big hex board; we reproduce that.
_MOORE2D = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


@dataclass(frozen=True)
class Board:
    name: str
    size: int
    rings_per_player: int
    is_hex: bool
    coords: tuple  # per cell: (x, y) or (x, y, z)
    keys: tuple  # per cell: "x,y" or "x,y,z"
    index: dict  # key -> cell
    geo: np.ndarray  # (ncell, GEO_COLS) int32

    @property
    def ncell(self) -> int:
        return len(self.coords)

    @property
    def ndir(self) -> int:
        return 6 if self.is_hex else 8

    @property
    def ntdir(self) -> int:
        return 6 if self.is_hex else 4


def check_board_type(name: str) -> None:
    if name not in _BOARDS:
        raise ValueError(
            f"unknown board type {name!r}; valid board types: {', '.join(BOARD_TYPES)}"
        )


@lru_cache(maxsize=None)
def board(name: str) -> Board:
    check_board_type(name)
    size, rpp, radius = _BOARDS[name]
    if radius is None:
        coords = [(x, y) for x in range(size) for y in range(size)]
    else:
        coords = [
            (x, y, -x - y)
            for x in range(-radius, radius + 1)
            for y in range(-radius, radius + 1)
            if abs(-x - y) <= radius
        ]
    keys = tuple(",".join(str(v) for v in c) for c in coords)
    index = {c: i for i, c in enumerate(coords)}
    geo = np.full((len(coords), L.GEO_COLS), -1, dtype=np.int32)
    for i, c in enumerate(coords):
        if radius is None:
            x, y = c
            for d, (dx, dy) in enumerate(_SQ_DIRS):
                geo[i, L.G_RAY + d] = index.get((x + dx, y + dy), -1)
            for d, (dx, dy) in enumerate(_SQ_TER):
                geo[i, L.G_TER + d] = index.get((x + dx, y + dy), -1)
            for d, (dx, dy) in enumerate(_MOORE2D):
                geo[i, L.G_BORDER + d] = index.get((x + dx, y + dy), -1)
        else:
            x, y, z = c
            for d, (dx, dy, dz) in enumerate(_HEX_DIRS):
                n = index.get((x + dx, y + dy, z + dz), -1)
                geo[i, L.G_RAY + d] = n
                geo[i, L.G_TER + d] = n
            if name == "hex8":
                for d, (dx, dy) in enumerate(_MOORE2D):
                    nx, ny = x + dx, y + dy
                    geo[i, L.G_BORDER + d] = index.get((nx, ny, -nx - ny), -1)
    return Board(
        name,
        size,
        rpp,
        radius is not None,
        tuple(coords),
        keys,
        {k: i for i, k in enumerate(keys)},
        geo,
    )
