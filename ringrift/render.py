"""Draw one RingRift game state (any of the four boards) as a matplotlib figure,
or save it as PNG/SVG. Stacks are discs in the controlling colour labelled with
their height, markers are rings, collapsed spaces are solid cells.

Only matplotlib's object API is used (``Figure`` + the Agg canvas, no pyplot),
so drawing never touches global figure state and works headless.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, RegularPolygon, Wedge

from .engine import layout as L
from .engine.api import stack_rings
from .engine.geometry import BOARD_TYPES, board

COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e")  # players 1-4
EMPTY = "#f2efe6"
GRID = "#a8a8a8"
# Collapsed cells use a darker shade so they never read as a stack or marker.
DARK = tuple(to_hex([v * 0.62 for v in to_rgb(c)]) for c in COLORS)

# Sizes as fractions of a cell's inradius, so every board looks alike.
_DISC = 0.58  # stack disc
_BAND = (0.66, 0.86)  # ring band around a mixed stack: rings from the top, cap first
_MARK = 0.56  # marker ring


def board_type_of(state) -> str:
    """The board whose cell count matches the state's NCELL."""
    n = int(state[L.NCELL])
    for name in BOARD_TYPES:
        if board(name).ncell == n:
            return name
    raise ValueError(f"no board has {n} cells; board types: {', '.join(BOARD_TYPES)}")


def cell_centres(b) -> tuple[np.ndarray, float]:
    """Cell centres in drawing units and the cells' inradius.

    Square: x to the right, y downwards (row y=0 on top), unit cells.
    Hex: pointy-top hexagons of circumradius 1 at axial (q, r) = cube (x, y).
    """
    if not b.is_hex:
        return np.array([(x, -y) for x, y in b.coords], dtype=float), 0.5
    xy = np.array([(math.sqrt(3) * (x + y / 2), -1.5 * y) for x, y, _ in b.coords])
    return xy, math.sqrt(3) / 2


def _cell_patch(b, xy, inr, **kw):
    # orientation 0 puts a hexagon's vertex on top (pointy-top, matching cell_centres)
    if b.is_hex:
        return RegularPolygon(xy, 6, radius=inr * 2 / math.sqrt(3), orientation=0.0, **kw)
    return RegularPolygon(xy, 4, radius=inr * math.sqrt(2), orientation=math.pi / 4, **kw)


def _runs(col) -> list[tuple[int, int]]:
    """(owner, count) runs of a stack's rings from the TOP down; the first run is the cap."""
    out: list[tuple[int, int]] = []
    for owner in col[::-1]:
        if out and out[-1][0] == owner:
            out[-1] = (owner, out[-1][1] + 1)
        else:
            out.append((int(owner), 1))
    return out


def _status(s, name: str) -> str:
    head = f"{name} · move {int(s[L.MOVE_COUNT])}"
    if int(s[L.STATUS]) == L.ST_COMPLETED:
        winner = int(s[L.WINNER])
        reason = L.END_REASON_NAMES[int(s[L.END_REASON])] or "?"
        return (
            f"{head} · game over, " + (f"winner P{winner}" if winner else "draw") + f" ({reason})"
        )
    return f"{head} · P{int(s[L.CUR])} to move · {L.PHASE_NAMES[int(s[L.PHASE])]}"


def draw_board(state, board_type: str | None = None, ax=None, title: str | None = None):
    """Draw ``state`` on ``ax`` (a new figure when None) and return the figure.

    ``board_type`` defaults to the board with the state's cell count; ``title``
    is put above the standard status line (board, move, player to move, phase).
    """
    s = np.asarray(state)
    name = board_type or board_type_of(s)
    b = board(name)
    n = b.ncell
    if int(s[L.NCELL]) != n:
        raise ValueError(f"state has {int(s[L.NCELL])} cells, board {name} has {n}")
    m = int(s[L.MAXH])
    if s.shape != (L.state_words(n, m),):
        raise ValueError(
            f"state has {s.size} values, a {name} state with MAXH={m} has {L.state_words(n, m)}"
        )
    xy, inr = cell_centres(b)
    pad = 1.15 * inr * (2 / math.sqrt(3) if b.is_hex else 1)
    xlim = (xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ylim = (xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    if ax is None:
        # Big boards get a bigger canvas so labels stay legible at the same dpi;
        # the height follows the board's shape (the big hex board is wide).
        width = 7.0 if n <= 100 else 9.5
        board_h = 0.94 * width * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])
        top, bottom = (0.75 if title else 0.5), (0.75 if int(s[L.NP]) <= 2 else 0.95)
        fig_h = board_h + top + bottom
        fig = Figure(figsize=(width, fig_h), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.03, bottom / fig_h, 0.94, board_h / fig_h))
    fig = ax.figure
    height = L.block(s, L.o_height)
    marker = L.block(s, L.o_marker)
    collapsed = L.block(s, L.o_collapsed)

    ax.set_aspect("equal")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    # Size text and lines from the cell's size on paper, not a fixed point size:
    # the same code then suits an 8x8 board and a 469-cell hex board on any axes.
    bb = ax.get_position()
    wpt = bb.width * fig.get_figwidth() * 72
    hpt = bb.height * fig.get_figheight() * 72
    per_unit = min(wpt / np.ptp(ax.get_xlim()), hpt / np.ptp(ax.get_ylim()))
    inr_pt = inr * per_unit
    lw_mark = float(np.clip(0.11 * inr_pt, 0.8, 3.2))
    fs_small = float(np.clip(0.6 * inr_pt, 4.0, 14.0))

    open_cells = [_cell_patch(b, xy[c], inr) for c in range(n) if not collapsed[c]]
    ax.add_collection(
        PatchCollection(open_cells, facecolor=EMPTY, edgecolor=GRID, linewidth=0.5, gid="cells")
    )
    for c in np.flatnonzero(collapsed):
        p = int(collapsed[c])
        ax.add_patch(
            _cell_patch(
                b,
                xy[c],
                inr,
                facecolor=DARK[p - 1],
                edgecolor=GRID,
                linewidth=0.5,
                gid=f"collapsed-{c}",
            )
        )
    for c in np.flatnonzero(marker):
        ax.add_patch(
            Circle(
                xy[c],
                _MARK * inr,
                facecolor="none",
                linewidth=lw_mark,
                edgecolor=COLORS[int(marker[c]) - 1],
                gid=f"marker-{c}",
            )
        )
    for c in np.flatnonzero(height):
        h = int(height[c])
        runs = _runs(stack_rings(s, c))
        top = runs[0][0]
        if len(runs) > 1:
            # arcs clockwise from 12 o'clock, one per run; the first is the cap
            start = 90.0
            for k, (owner, cnt) in enumerate(runs):
                sweep = 360.0 * cnt / h
                ax.add_patch(
                    Wedge(
                        xy[c],
                        _BAND[1] * inr,
                        start - sweep,
                        start,
                        width=(_BAND[1] - _BAND[0]) * inr,
                        facecolor=COLORS[owner - 1],
                        edgecolor="white",
                        linewidth=0.4,
                        gid=f"cap-{c}" if k == 0 else None,
                    )
                )
                start -= sweep
        ax.add_patch(
            Circle(
                xy[c],
                _DISC * inr,
                facecolor=COLORS[top - 1],
                edgecolor="black",
                linewidth=0.6,
                gid=f"stack-{c}",
            )
        )
        label = str(h)
        fs = fs_small * (1.0 if len(label) == 1 else 0.8)
        ax.text(
            xy[c][0],
            xy[c][1],
            label,
            ha="center",
            va="center_baseline",
            fontsize=fs,
            color="white",
            weight="bold",
            gid=f"height-{c}",
        )

    nplayers = int(s[L.NP])
    cur = int(s[L.CUR]) if int(s[L.STATUS]) == L.ST_ACTIVE else 0
    handles = [
        Patch(
            facecolor=COLORS[p - 1],
            edgecolor="black",
            linewidth=0.5,
            label=f"P{p}{' (to move)' if p == cur else ''}: hand {int(s[L.HAND + p])}"
            f" · elim {int(s[L.ELIM + p])} · terr {int(s[L.TERR + p])}",
        )
        for p in range(1, nplayers + 1)
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=2 if nplayers > 1 else 1,
        frameon=False,
        fontsize=8,
        handlelength=1.2,
        columnspacing=1.5,
        title="disc: stack (height; band: rings from the top, "
        "cap first) · ring: marker · dark cell: collapsed",
        title_fontsize=7,
    )
    status = _status(s, name)
    ax.set_title(f"{title}\n{status}" if title else status, fontsize=9)
    return fig


def save_board(state, path, board_type: str | None = None, title: str | None = None) -> None:
    """Write the drawing to ``path`` as PNG or SVG, chosen by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(
            f"cannot save a board as {suffix or 'a file without suffix'!r}: use .png or .svg"
        )
    fig = draw_board(state, board_type, title=title)
    # no timestamps in the file: the same state gives the same bytes
    fig.savefig(
        path, format=suffix[1:], metadata={"Software": None} if suffix == ".png" else {"Date": None}
    )
