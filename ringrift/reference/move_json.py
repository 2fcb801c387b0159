"""One engine move record -> the reference's Move JSON.

``move_to_json(rules, s_before, mv, move_number)`` returns every field of the
reference's ``Move`` model in its declaration order, ``None`` where the
reference leaves a field unset (its state dumps and the seed's samples write
them as nulls; its trace ``moves`` arrays drop them). Each move type carries
the fields the reference's generator sets for it:

| type | fields besides id/type/player/timestamp/think_time/move_number/phase |
|---|---|
| place_ring | to, placed_on_stack, placement_count |
| skip_placement | to = first controlled stack (absent when it has none) |
| move_stack | from, to |
| overtaking_capture, continue_capture_segment | from, to (landing), capture_target |
| process_line | to = first line cell, formed_lines |
| choose_line_option | to, formed_lines, collapsed_markers |
| choose_territory_option | to = the region's first space, disconnected_regions |
| eliminate_rings_from_stack | to, elimination_context (+ eliminated_rings for line) |
| forced_elimination | to (+ placed_on_stack False / placement_count 0 when the
  engine listed it; absent when the host synthesised it) |
| recovery_slide | from, to, recovery_mode, then recovery_option (+ collapse_positions
  for option 2) on lines, extraction_stacks otherwise |
| skip_recovery | nothing (no `to`) |
| other bookkeeping / skip / swap_sides | to = {x: 0, y: 0} |

``move_number`` is the move's 1-based position in the game (len(history)+1).
The reference numbers a line-reward elimination with the number of the line
move before it (its generator uses len(history)); that quirk is reproduced.

Volatile (may differ from the reference without meaning anything): ``id``
(we follow the reference's id patterns, but region/line indices inside them
follow our enumeration order) and ``timestamp``.
"""

from __future__ import annotations

import numpy as np

from ..engine import layout as L
from ..engine.lines import find_lines
from ..engine.movegen import line_through
from ..engine.territory import find_regions
from .json_common import (
    EPOCH,
    ORIGIN,
    axis_vector,
    pos,
    ray_cells,
    region_in_reference_order,
    stack_rings,
    stacks_in_order,
    to_camel,
)

MOVE_FIELDS = (
    "id",
    "type",
    "player",
    "from_pos",
    "to",
    "capture_target",
    "captured_stacks",
    "capture_chain",
    "overtaken_rings",
    "placed_on_stack",
    "placement_count",
    "stack_moved",
    "minimum_distance",
    "actual_distance",
    "marker_left",
    "line_index",
    "formed_lines",
    "collapsed_markers",
    "claimed_territory",
    "disconnected_regions",
    "recovery_option",
    "recovery_mode",
    "collapse_positions",
    "extraction_stacks",
    "eliminated_rings",
    "elimination_context",
    "timestamp",
    "think_time",
    "move_number",
    "phase",
)

_BOOKKEEPING_IDS = {
    L.MT_NO_PLACEMENT: "no-placement-action",
    L.MT_NO_MOVEMENT: "no-movement-action",
    L.MT_SKIP_CAPTURE: "skip-capture",
    L.MT_NO_LINE: "no-line-action",
    L.MT_SKIP_TERRITORY: "skip-territory-processing",
    L.MT_NO_TERRITORY: "no-territory-action",
    L.MT_SWAP_SIDES: "swap_sides",
}


def _line_info(board, s, p, line_index):
    lines = find_lines(board.geo, s, p)
    start, axis, ln, _owner = (int(v) for v in lines[int(line_index)])
    cells = ray_cells(board, start, axis, 0, ln)
    info = {
        "positions": [pos(board, c) for c in cells],
        "player": p,
        "length": ln,
        "direction": axis_vector(board, axis),
    }
    return info, start, axis, ln


def _fe_listed(rules, s, p) -> bool:
    """True when the engine lists forced eliminations itself (no valid action);
    False when the host synthesises one on the first stack."""
    from ..engine.rules import valid_action

    return not valid_action(rules.geo, s, p)


def move_to_json(
    rules,
    s_before: np.ndarray,
    mv,
    move_number: int,
    *,
    camel: bool = False,
    timestamp: str = EPOCH,
) -> dict:
    board = rules.board
    k = board.keys
    t = int(mv[L.F_TYPE])
    p = int(mv[L.F_PLAYER])
    frm, to, cap = int(mv[L.F_FROM]), int(mv[L.F_TO]), int(mv[L.F_CAP])
    a, b, c = int(mv[L.F_A]), int(mv[L.F_B]), int(mv[L.F_C])
    n = int(move_number)
    d = dict.fromkeys(MOVE_FIELDS)
    d["type"] = L.MOVE_TYPE_NAMES[t]
    d["player"] = p
    d["id"] = "simulated"

    if t in _BOOKKEEPING_IDS:
        d["id"] = f"{_BOOKKEEPING_IDS[t]}-{n}"
        d["to"] = dict(ORIGIN)
    elif t == L.MT_PLACE_RING:
        d["to"] = pos(board, to)
        d["placed_on_stack"] = bool(L.block(s_before, L.o_height)[to] > 0)
        d["placement_count"] = a
    elif t == L.MT_SKIP_PLACEMENT:
        own = [x for x in stacks_in_order(s_before) if stack_rings(s_before, x)[-1] == p]
        d["to"] = pos(board, own[0]) if own else None
    elif t == L.MT_MOVE_STACK:
        d["from_pos"] = pos(board, frm)
        d["to"] = pos(board, to)
    elif t in (L.MT_OVERTAKING_CAPTURE, L.MT_CONTINUE_CAPTURE):
        d["id"] = f"capture-{k[frm]}-{k[cap]}-{k[to]}-{n}"
        d["from_pos"] = pos(board, frm)
        d["to"] = pos(board, to)
        d["capture_target"] = pos(board, cap)
    elif t in (L.MT_PROCESS_LINE, L.MT_CHOOSE_LINE_OPTION):
        info, start, axis, ln = _line_info(board, s_before, p, a)
        first = k[start]
        d["to"] = pos(board, start)
        d["formed_lines"] = [info]
        if t == L.MT_PROCESS_LINE:
            d["id"] = f"process-line-{a}-{first}"
        else:
            if b >= 0:
                sel = ray_cells(board, start, axis, b, int(s_before[L.LINELEN]))
                d["id"] = f"choose-line-option-{a}-{first}-min-{b}"
            else:
                sel = ray_cells(board, start, axis, 0, ln)
                d["id"] = f"choose-line-option-{a}-{first}-all"
            d["collapsed_markers"] = [pos(board, x) for x in sel]
    elif t == L.MT_CHOOSE_TERRITORY:
        cells, offs = find_regions(board.geo, s_before)
        region = region_in_reference_order(board, cells[offs[a] : offs[a + 1]])
        d["to"] = pos(board, region[0])
        d["disconnected_regions"] = [
            {
                "spaces": [pos(board, x) for x in region],
                "controlling_player": p,
                "is_disconnected": True,
            }
        ]
        idx = _territory_ordinal(rules, s_before, mv)
        d["id"] = f"choose-territory-option-{idx}-{k[region[0]]}"
    elif t == L.MT_ELIMINATE:
        d["to"] = pos(board, to)
        d["elimination_context"] = L.CTX_NAMES[a]
        if a == L.CTX_LINE:
            n -= 1
            d["id"] = f"eliminate-line-{k[to]}"
            d["eliminated_rings"] = [{"player": p, "count": 1}]
        else:
            d["id"] = f"eliminate-rings-from-stack-{n}-{k[to]}"
    elif t == L.MT_FORCED_ELIM:
        d["to"] = pos(board, to)
        if _fe_listed(rules, s_before, p):
            d["placed_on_stack"] = False
            d["placement_count"] = 0
        else:
            d["id"] = f"forced-elimination-{n}"
    elif t == L.MT_RECOVERY_SLIDE:
        mode = L.RMODE_NAMES[a]
        d["id"] = f"recovery-{mode}-{k[frm]}-{k[to]}-{n}"
        d["from_pos"] = pos(board, frm)
        d["to"] = pos(board, to)
        d["recovery_mode"] = mode
        if a == L.RM_LINE:
            d["recovery_option"] = b
            if b == 2:
                t2 = s_before.copy()
                nc = int(t2[L.NCELL])
                t2[L.o_marker(nc) + frm] = 0
                t2[L.o_marker(nc) + to] = p
                start, axis, _ln = (int(v) for v in line_through(board.geo, t2, to, p))
                sel = ray_cells(board, start, axis, 0, int(s_before[L.LINELEN]))
                d["collapse_positions"] = [pos(board, x) for x in sel]
        else:
            d["extraction_stacks"] = [k[c]]
    elif t == L.MT_SKIP_RECOVERY:
        d["id"] = f"skip-recovery-{n}"
    d["timestamp"] = timestamp
    d["think_time"] = 0
    d["move_number"] = n
    d["phase"] = L.PHASE_NAMES[int(s_before[L.PHASE])]
    return to_camel(d) if camel else d


def _territory_ordinal(rules, s, mv) -> int:
    """Index of mv among the region choices of the legal list (the `idx` of
    the reference's id; its region order may differ, ids are volatile)."""
    i = 0
    for m in rules.legal(s):
        if int(m[L.F_TYPE]) != L.MT_CHOOSE_TERRITORY:
            continue
        if int(m[L.F_A]) == int(mv[L.F_A]):
            return i
        i += 1
    return 0
