"""Canonical move keys (see shared/conformance/README.md), outside the hot path.

A key names a move by its type, player and the fields that tell legal moves
apart; lists inside a key are sorted as strings.
"""

from __future__ import annotations

import numpy as np

from . import layout as L
from .lines import find_lines, line_cell
from .movegen import line_through
from .territory import find_regions


def _cells(board, cells) -> str:
    return ";".join(sorted(board.keys[int(c)] for c in cells))


def _line_cells(board, start, axis, j0, count):
    out = []
    cur = line_cell(board.geo, start, axis, j0)
    for _ in range(count):
        out.append(cur)
        cur = board.geo[cur, L.G_RAY + axis]
    return out


def _slide_line_cells(board, s, p, frm, to):
    t = s.copy()
    n = int(t[L.NCELL])
    t[L.o_marker(n) + frm] = 0
    t[L.o_marker(n) + to] = p
    start, axis, ln = line_through(board.geo, t, to, p)
    return start, axis, ln


def move_key(board, s: np.ndarray, mv) -> str:
    t = int(mv[L.F_TYPE])
    p = int(mv[L.F_PLAYER])
    parts = [L.MOVE_TYPE_NAMES[t], f"p{p}"]
    k = board.keys
    if t == L.MT_PLACE_RING:
        parts += [f"to={k[mv[L.F_TO]]}", f"n={int(mv[L.F_A])}"]
    elif t == L.MT_MOVE_STACK:
        parts += [f"from={k[mv[L.F_FROM]]}", f"to={k[mv[L.F_TO]]}"]
    elif t in (L.MT_OVERTAKING_CAPTURE, L.MT_CONTINUE_CAPTURE):
        parts += [f"from={k[mv[L.F_FROM]]}", f"to={k[mv[L.F_TO]]}", f"cap={k[mv[L.F_CAP]]}"]
    elif t in (L.MT_PROCESS_LINE, L.MT_CHOOSE_LINE_OPTION):
        lines = find_lines(board.geo, s, p)
        start, axis, ln, _ = lines[int(mv[L.F_A])]
        parts.append("lines=" + _cells(board, _line_cells(board, start, axis, 0, ln)))
        if t == L.MT_CHOOSE_LINE_OPTION:
            if mv[L.F_B] >= 0:
                sel = _line_cells(board, start, axis, int(mv[L.F_B]), int(s[L.LINELEN]))
            else:
                sel = _line_cells(board, start, axis, 0, ln)
            parts.append("collapse=" + _cells(board, sel))
    elif t == L.MT_CHOOSE_TERRITORY:
        cells, offs = find_regions(board.geo, s)
        r = int(mv[L.F_A])
        parts.append("regions=" + _cells(board, cells[offs[r] : offs[r + 1]]))
    elif t == L.MT_ELIMINATE:
        parts += [f"to={k[mv[L.F_TO]]}", f"ctx={L.CTX_NAMES[mv[L.F_A]]}"]
    elif t == L.MT_FORCED_ELIM:
        parts.append(f"to={k[mv[L.F_TO]]}")
    elif t == L.MT_RECOVERY_SLIDE:
        frm, to = int(mv[L.F_FROM]), int(mv[L.F_TO])
        parts += [f"from={k[frm]}", f"to={k[to]}", f"rmode={L.RMODE_NAMES[mv[L.F_A]]}"]
        if mv[L.F_A] == L.RM_LINE:
            parts.append(f"ropt={int(mv[L.F_B])}")
            if mv[L.F_B] == 2:
                start, axis, _ = _slide_line_cells(board, s, p, frm, to)
                sel = _line_cells(board, start, axis, 0, int(s[L.LINELEN]))
                parts.append("rcollapse=" + _cells(board, sel))
        else:
            parts.append(f"extract={k[mv[L.F_C]]}")
    return " ".join(parts)
