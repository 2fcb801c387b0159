"""Apply a reference fixture's move that our legal list does not contain.

Test fixtures only. The reference's contract runners apply a vector's move
WITHOUT validating it (its ``GameEngine.apply_move`` trusts the caller), and a
few hand-made vectors rely on that: an elimination in a phase with nothing
pending, a capture segment that breaks distance >= height, a territory claim
whose region geometry is carried on the move instead of found on the board.
Our engine lists none of those moves (neither does the current reference's
move generator). To run such a vector the way the reference runners do, this
module applies the move anyway:

* moves our record format can express (captures, eliminations, lines, ...) are
  built with ``load.raw_move_from_json`` and fed to the jitted ``apply_move``;
* a ``choose_territory_option`` whose region is not one of the board's
  disconnected regions is applied like the reference's territory mutator does
  with explicit geometry: every ring in the region is eliminated (credited to
  the mover), the region and its border markers collapse to the mover, and the
  mover's territory grows by that many cells; no-op if the self-elimination
  prerequisite fails. The turn machine then advances exactly as
  ``apply_move`` does after a region (same jitted ``advance_turn``, victory check
  and history bookkeeping).

Nothing here is used by the engine or by self-play.
"""

from __future__ import annotations

import numpy as np

from ..engine import layout as L
from ..engine.api import Rules
from ..engine.rules import (
    advance_turn,
    apply_move,
    changes_board,
    check_victory,
    mark_permanent_eliminations,
)
from ..engine.stacks import eliminate_top, set_collapsed
from ..engine.territory import border_markers, can_process, find_regions
from .load import pos_cell, raw_move_from_json


def _region_cells(rules: Rules, move_json) -> list[int]:
    regions = move_json.get("disconnectedRegions") or []
    if not regions:
        return []
    to = move_json.get("to")
    target = regions[0]
    if to is not None:
        want = pos_cell(rules.board, to)
        for r in regions:
            if any(pos_cell(rules.board, q) == want for q in r["spaces"]):
                target = r
                break
    return sorted({pos_cell(rules.board, q) for q in target["spaces"]})


def _is_board_region(rules: Rules, s: np.ndarray, cells: list[int]) -> bool:
    found, offs = find_regions(rules.geo, s)
    want = np.array(cells, dtype=np.int32)
    for r in range(len(offs) - 1):
        reg = found[offs[r] : offs[r + 1]]
        if len(reg) == len(want) and np.array_equal(np.sort(reg), want):
            return True
    return False


def _history_epilogue(rules: Rules, s: np.ndarray, mv: np.ndarray) -> None:
    """What apply_move does after the board change (history facts, must-move
    stack, phase advance, victory check, permanent eliminations)."""
    t = int(mv[L.F_TYPE])
    p = int(mv[L.F_PLAYER])
    if p == 1:
        s[L.P1_MOVED] = 1
    if p == 2 and t != L.MT_SWAP_SIDES:
        s[L.P2_MOVED] = 1
    if s[L.LAST_MOVER] != p:
        s[L.RUN_CHANGED] = 1 if changes_board(t) else 0
        s[L.RUN_RECOVERY] = 1 if t == L.MT_RECOVERY_SLIDE else 0
    else:
        if changes_board(t):
            s[L.RUN_CHANGED] = 1
        if t == L.MT_RECOVERY_SLIDE:
            s[L.RUN_RECOVERY] = 1
    s[L.LAST_MOVER] = p
    s[L.LAST_TYPE] = t
    s[L.LAST_TO] = mv[L.F_TO]
    s[L.MOVE_COUNT] += 1
    advance_turn(rules.geo, s, mv)
    check_victory(rules.geo, s)  # unguarded, like apply_move (K13)
    mark_permanent_eliminations(s)


def apply_explicit_region(rules: Rules, s: np.ndarray, player: int, cells: list[int]) -> np.ndarray:
    """Claim the region `cells` for `player` (see module doc); returns a new state."""
    t = s.copy()
    arr = np.array(sorted(cells), dtype=np.int32)
    if can_process(t, arr, 0, len(arr), player, False):
        border = border_markers(rules.geo, t, arr, 0, len(arr))
        height = L.block(t, L.o_height)  # a view: follows the eliminations
        for c in arr:
            while height[c] > 0:
                eliminate_top(t, int(c), player)
        for c in list(arr) + list(border):
            set_collapsed(t, int(c), player)
        t[L.TERR + player] += len(arr) + len(border)
    mv = np.array(
        [L.MT_CHOOSE_TERRITORY, player, -1, int(arr[0]) if len(arr) else -1, -1, 0, 0, 0],
        dtype=np.int32,
    )
    _history_epilogue(rules, t, mv)
    return t


def apply_unlisted(rules: Rules, s: np.ndarray, move_json) -> np.ndarray:
    """Apply `move_json` without the legality check (reference runner style).
    Raises ValueError when even the reference's unvalidated apply has nothing
    to act on (e.g. a territory claim naming no region)."""
    if move_json.get("type") in ("choose_territory_option", "process_territory_region"):
        cells = _region_cells(rules, move_json)
        if not cells:
            raise ValueError(
                "territory claim names no region and the board has none at its position"
            )
        if not _is_board_region(rules, s, cells):
            return apply_explicit_region(rules, s, int(move_json["player"]), cells)
    mv = raw_move_from_json(rules, s, move_json)
    return apply_move(rules.geo, s, mv)


__all__ = ["apply_explicit_region", "apply_unlisted"]
