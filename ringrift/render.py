"""Draw one game state (any board) as a matplotlib figure, PNG or SVG.

Stacks are discs in the controlling (top ring's) colour labelled with their
height, with a thinner inner ring showing the cap height; markers are rings in
the owner's colour; collapsed spaces are filled squares/hexagons in the
owner's colour. The title line gives phase, player to move and counters.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, RegularPolygon

from .engine import layout as L
from .engine.geometry import BOARD_TYPES, board

COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e")   # players 1-4
LIGHT = ("#f4b6b6", "#b3cde6", "#b7e0b7", "#ffd2a6")


def board_type_of(state) -> str:
    n = int(state[L.NCELL])
    for name in BOARD_TYPES:
        if board(name).ncell == n:
            return name
    raise ValueError(f"no board has {n} cells; board types: {', '.join(BOARD_TYPES)}")


def _centres(b) -> tuple[np.ndarray, float]:
    """Cell centres in drawing units and the cell radius."""
    if not b.is_hex:
        xy = np.array([(x, -y) for x, y in b.coords], dtype=float)
        return xy, 0.5
    # pointy-top hexagons, axial (q = x, r = y)
    xy = np.array([(math.sqrt(3) * (x + y / 2), -1.5 * y) for x, y, _ in b.coords])
    return xy, 1.0


def _cell(b, xy, r, **kw):
    if b.is_hex:
        return RegularPolygon(xy, 6, radius=r * 0.98, orientation=0.0, **kw)
    return RegularPolygon(xy, 4, radius=r * math.sqrt(2) * 0.98, orientation=math.pi / 4, **kw)


def draw_board(state, board_type: str | None = None, ax=None, title: str | None = None):
    """Draw ``state`` on ``ax`` (a new figure when None); return the figure."""
    s = np.asarray(state)
    name = board_type or board_type_of(s)
    b = board(name)
    n, m = b.ncell, int(s[L.MAXH])
    if int(s[L.NCELL]) != n:
        raise ValueError(f"state has {int(s[L.NCELL])} cells, board {name} has {n}")
    if ax is None:
        fig = Figure(figsize=(7, 7.4), dpi=100)
        ax = fig.add_subplot()
    fig = ax.figure
    xy, r = _centres(b)
    height = s[L.HDR:L.HDR + n]
    marker = s[L.HDR + n:L.HDR + 2 * n]
    collapsed = s[L.HDR + 2 * n:L.HDR + 3 * n]
    rings = s[L.HDR + 4 * n:L.HDR + 4 * n + n * m].reshape(n, m)
    fs = max(5.0, 11.0 - n / 60)   # smaller text on the big boards
    for c in range(n):
        owner = int(collapsed[c])
        face = COLORS[owner - 1] if owner else "#f2efe6"
        ax.add_patch(_cell(b, xy[c], r, facecolor=face, edgecolor="#9a9a9a", lw=0.5,
                           alpha=0.85 if owner else 1.0))
        if marker[c]:
            ax.add_patch(Circle(xy[c], r * 0.62, fill=False, lw=2.2,
                                edgecolor=COLORS[int(marker[c]) - 1]))
        h = int(height[c])
        if h:
            top = int(rings[c, h - 1])
            cap = 1
            while cap < h and rings[c, h - 1 - cap] == top:
                cap += 1
            ax.add_patch(Circle(xy[c], r * 0.5, facecolor=COLORS[top - 1], edgecolor="k",
                                lw=0.6, gid="stack"))
            if cap < h:   # buried rings: the ring just below the cap shows its owner
                below = int(rings[c, h - 1 - cap])
                ax.add_patch(Circle(xy[c], r * 0.5, fill=False, lw=2.0,
                                    edgecolor=LIGHT[below - 1]))
            ax.text(xy[c][0], xy[c][1], str(h) if cap == h else f"{h}/{cap}",
                    ha="center", va="center", fontsize=fs, color="white", weight="bold")
    ax.set_aspect("equal")
    ax.set_xlim(xy[:, 0].min() - 1.2 * r, xy[:, 0].max() + 1.2 * r)
    ax.set_ylim(xy[:, 1].min() - 1.2 * r, xy[:, 1].max() + 1.2 * r)
    ax.set_axis_off()
    np_ = int(s[L.NP])
    phase = L.PHASE_NAMES[int(s[L.PHASE])]
    counters = "   ".join(f"P{p}: hand {int(s[L.HAND + p])} elim {int(s[L.ELIM + p])} "
                          f"terr {int(s[L.TERR + p])}" for p in range(1, np_ + 1))
    head = title or f"{name}, move {int(s[L.MOVE_COUNT])}"
    status = ("game over, winner P%d" % int(s[L.WINNER])) if s[L.STATUS] == L.ST_COMPLETED \
        else f"P{int(s[L.CUR])} to move, {phase}"
    ax.set_title(f"{head}\n{status}\n{counters}\n"
                 "discs: stacks (height or height/cap), rings: markers, "
                 "filled: collapsed", fontsize=8)
    return fig


def save_board(state, path, board_type: str | None = None, title: str | None = None) -> None:
    """Write the drawing as PNG or SVG, by the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"cannot draw a board as {suffix or 'a file without suffix'!r}: "
                         "use .png or .svg")
    fig = draw_board(state, board_type, title=title)
    fig.savefig(path, format=suffix[1:], metadata={"Software": None} if suffix == ".png"
                else {"Date": None})
