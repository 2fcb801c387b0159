"""Build engine states and moves from the reference engine's JSON (pure Python).

The reference serialises a GameState as camelCase JSON (contract vectors,
trace ``initial_state`` / ``states`` / ``final_state``); its Python side can also
write snake_case. ``state_from_json`` turns either into our flat state (layout.py)
and ``move_from_json`` finds the legal move a reference Move JSON names.

Ring order: the v2 contract vectors list a stack's rings TOP first (the TS
convention, ``controllingPlayer == rings[0]``); the trace states, the parity
traces and our engine are BOTTOM first. ``state_from_json`` therefore takes
``rings_top_first`` (default True, for the vectors); pass False for trace states.

Facts our state keeps but a partial vector state does not carry
---------------------------------------------------------------
The engine reads a few "history facts" that the reference scans its move
history for (layout.py: LAST_MOVER, LAST_TYPE, RUN_CHANGED, RUN_RECOVERY,
LAST_TO, MOVE_COUNT, P1_MOVED, P2_MOVED). When the JSON has a non-empty
``moveHistory`` they are derived from it exactly as apply_move would have
left them. With an empty history (almost every vector) we assume:

* phase ``ring_placement`` / ``movement``: the turn has just started, so no
  move of this turn is known (LAST_MOVER = 0);
* a later phase (``capture`` .. ``forced_elimination``): the current player has
  already acted this turn. We set LAST_MOVER = current player and
  RUN_CHANGED = 1, so the forced-elimination gate at the end of line /
  territory processing treats the turn as having had a real action (a state
  that is past movement got there by moving or capturing). LAST_TYPE stays
  neutral (-1), so no territory self-elimination is pending (the format has no
  field for it; a caller that knows better sets
  ``s[LAST_TYPE] = MT_CHOOSE_TERRITORY``), and LAST_TO stays -1, so a
  ``capture`` phase lists no capture until the caller names the stack that
  just moved (``s[LAST_TO]``), as the reference itself would need its history.

Other defaults: the must-move stack is none unless ``mustMoveFromStackKey``
names one; the pending line elimination flag is off unless
``pendingLineRewardElimination`` is true; the last-player-standing counters
start fresh unless the JSON carries the reference's ``lps*`` fields; the
thresholds are recomputed from the board and player count (the legacy
``victoryThreshold`` / ``territoryVictoryThreshold`` fields of the vectors are
ignored). Seats missing from ``players`` (a list shorter than 2, or shorter
than ``maxPlayers``) keep a full hand, as the reference's contract
deserialiser pads them. ``ringsInHand: 0`` stays 0 (the reference's old
deserialiser turned it into a full hand; that bug is not copied).
"""

from __future__ import annotations

import numpy as np

from ..engine import layout as L
from ..engine.api import Rules, new_state, set_stacks
from ..engine.api import stack_rings as _stack_rings

# legacy / alias move type names -> current names
_TYPE_ALIASES = {
    "move_ring": "move_stack",
    "chain_capture": "continue_capture_segment",
    "choose_line_reward": "choose_line_option",
    "process_territory_region": "choose_territory_option",
    "skip_territory": "skip_territory_processing",
}

_POS_TO = {"place_ring", "eliminate_rings_from_stack", "forced_elimination"}
_POS_FROM_TO = {"move_stack", "recovery_slide"}
_POS_CAPTURE = {"overtaking_capture", "continue_capture_segment"}

_BOARD_SIZE_TYPES = {8: "square8", 19: "square19"}

_STATUS_COMPLETED = ("completed", "finished", "game_over", "abandoned")


def _get(d, camel, default=None):
    """d[camel], falling back to the snake_case spelling."""
    if d is None:
        return default
    if camel in d:
        return d[camel]
    snake = "".join("_" + ch.lower() if ch.isupper() else ch for ch in camel)
    return d.get(snake, default)


# ---- positions ------------------------------------------------------------


def pos_key(board, pos) -> str:
    """Canonical key ("x,y" or "x,y,z") of a JSON position (dict, list or key
    string); on hex boards a missing or null z is derived as -x-y."""
    if pos is None:
        raise ValueError("missing position")
    if isinstance(pos, str):
        parts = [p.strip() for p in pos.split(",")]
        vals = [int(p) if p not in ("", "None", "null") else None for p in parts]
    elif isinstance(pos, dict):
        vals = [pos.get("x"), pos.get("y"), pos.get("z")]
    else:
        vals = list(pos)
    if len(vals) < 2 or vals[0] is None or vals[1] is None:
        raise ValueError(f"bad position {pos!r}")
    x, y = int(vals[0]), int(vals[1])
    if board.is_hex:
        z = vals[2] if len(vals) > 2 and vals[2] is not None else -x - y
        key = f"{x},{y},{int(z)}"
    else:
        key = f"{x},{y}"
    if key not in board.index:
        raise ValueError(f"position {key} is not on board {board.name}")
    return key


def pos_cell(board, pos) -> int:
    return board.index[pos_key(board, pos)]


# ---- states ---------------------------------------------------------------


def board_type_of(state_json) -> str:
    b = state_json.get("board") or {}
    bt = b.get("type") or _get(state_json, "boardType")
    if bt is None:
        size = b.get("size")
        bt = _BOARD_SIZE_TYPES.get(size)
    if bt is None:
        raise ValueError("state JSON names no board type")
    return bt


def num_players_of(state_json) -> int:
    players = state_json.get("players") or []
    n = max([len(players)] + [int(_get(p, "playerNumber", i + 1)) for i, p in enumerate(players)])
    mp = _get(state_json, "maxPlayers")
    if mp:
        n = max(n, int(mp))
    return max(n, 2)


def _move_type(mj) -> str:
    t = mj.get("type")
    if t is None:
        raise ValueError(f"move JSON has no type: {mj!r}")
    return _TYPE_ALIASES.get(t, t)


def _changes_board(t: str) -> bool:
    return t not in (
        "no_placement_action",
        "no_movement_action",
        "no_line_action",
        "no_territory_action",
        "skip_placement",
        "skip_territory_processing",
        "skip_capture",
        "skip_recovery",
    )


def _apply_history_facts(board, s, history) -> None:
    """Set the history facts apply_move would have left after `history`."""
    last = None
    for mv in history:
        t = _move_type(mv)
        p = int(mv.get("player", 0))
        if p == 1:
            s[L.P1_MOVED] = 1
        if p == 2 and t != "swap_sides":
            s[L.P2_MOVED] = 1
        if t == "swap_sides":
            s[L.SWAP_DONE] = 1
        if s[L.LAST_MOVER] != p:
            s[L.RUN_CHANGED] = int(_changes_board(t))
            s[L.RUN_RECOVERY] = int(t == "recovery_slide")
        else:
            if _changes_board(t):
                s[L.RUN_CHANGED] = 1
            if t == "recovery_slide":
                s[L.RUN_RECOVERY] = 1
        s[L.LAST_MOVER] = p
        last = (t, mv)
    s[L.MOVE_COUNT] = len(history)
    if last is not None:
        t, mv = last
        s[L.LAST_TYPE] = L.MOVE_TYPE_NAMES.index(t) if t in L.MOVE_TYPE_NAMES else -1
        to = mv.get("to")
        try:
            s[L.LAST_TO] = pos_cell(board, to) if to is not None else -1
        except ValueError:
            s[L.LAST_TO] = -1


def state_from_json(
    state_json,
    *,
    swap_rule: bool = False,
    rings_top_first: bool = True,
    num_players: int | None = None,
):
    """Return ``(rules, s)`` for a reference GameState JSON (see module doc)."""
    bt = board_type_of(state_json)
    n_players = num_players or num_players_of(state_json)
    rules = Rules(bt, n_players, swap_rule=swap_rule)
    brd = rules.board
    s = new_state(bt, n_players, swap_rule=swap_rule)
    n = brd.ncell
    maxh = int(s[L.MAXH])
    bj = state_json.get("board") or {}

    # stacks, in the JSON dict's insertion order (= the reference's stack order)
    stacks = {}
    for key, st in (_get(bj, "stacks") or {}).items():
        c = pos_cell(brd, st.get("position") or key)
        rings = [int(r) for r in st["rings"]]
        if rings_top_first:
            rings = rings[::-1]
        if not rings:
            continue
        if len(rings) > maxh:
            raise ValueError(
                f"stack at {key} is taller ({len(rings)}) than the layout allows ({maxh})"
            )
        stacks[c] = rings
        s[L.o_stamp(n) + c] = s[L.STAMP]
        s[L.STAMP] += 1
    set_stacks(s, stacks)
    for key, mk in (_get(bj, "markers") or {}).items():
        if isinstance(mk, dict):
            c = pos_cell(brd, mk.get("position") or key)
            owner = int(mk["player"])
        else:
            c = pos_cell(brd, key)
            owner = int(mk)
        s[L.o_marker(n) + c] = owner
    for key, owner in (_get(bj, "collapsedSpaces") or {}).items():
        if isinstance(owner, dict):
            owner = owner.get("player", owner.get("owner"))
        c = pos_cell(brd, key)
        s[L.o_collapsed(n) + c] = int(owner)
        s[L.o_marker(n) + c] = 0

    # per-player counters (seats missing from the JSON keep a full hand)
    total_elim = 0
    for i, pj in enumerate(state_json.get("players") or []):
        p = int(_get(pj, "playerNumber", i + 1))
        hand = _get(pj, "ringsInHand")
        if hand is not None:
            s[L.HAND + p] = int(hand)
        s[L.ELIM + p] = int(_get(pj, "eliminatedRings", 0) or 0)
        s[L.TERR + p] = int(_get(pj, "territorySpaces", 0) or 0)
        total_elim += int(s[L.ELIM + p])
    tre = _get(state_json, "totalRingsEliminated")
    s[L.TOTAL_ELIM] = int(tre) if tre is not None else total_elim

    # turn machine
    s[L.CUR] = int(_get(state_json, "currentPlayer", 1))
    phase = _get(state_json, "currentPhase", "ring_placement")
    if phase not in L.PHASE_NAMES:
        raise ValueError(f"unknown phase {phase!r}")
    s[L.PHASE] = L.PHASE_NAMES.index(phase)
    status = _get(state_json, "gameStatus", "active")
    if status in _STATUS_COMPLETED or phase == "game_over":
        s[L.STATUS] = L.ST_COMPLETED
        w = _get(state_json, "winner")
        s[L.WINNER] = int(w) if w else 0
    else:
        s[L.STATUS] = L.ST_ACTIVE

    chain = _get(state_json, "chainCapturePosition")
    if chain is None:
        ccs = _get(state_json, "chainCaptureState")
        if ccs:
            chain = _get(ccs, "currentPosition")
    s[L.CHAIN] = pos_cell(brd, chain) if chain is not None else -1
    must = _get(state_json, "mustMoveFromStackKey")
    s[L.MUSTMOVE] = pos_cell(brd, must) if must else -1
    s[L.PENDLINE] = int(bool(_get(state_json, "pendingLineRewardElimination", False)))

    # history facts
    s[L.LAST_TYPE] = -1
    history = _get(state_json, "moveHistory") or []
    if history:
        _apply_history_facts(brd, s, history)
    elif s[L.PHASE] > L.PH_MOVEMENT:
        s[L.LAST_MOVER] = s[L.CUR]
        s[L.RUN_CHANGED] = 1

    # pie rule and last-player-standing bookkeeping, when the JSON has them
    ro = _get(state_json, "rulesOptions") or {}
    if _get(ro, "swapRuleEnabled") is not None and n_players == 2:
        s[L.SWAP_EN] = int(bool(_get(ro, "swapRuleEnabled")) or swap_rule)
    if _get(state_json, "lpsRoundIndex") is not None:
        s[L.LPS_ROUND] = int(_get(state_json, "lpsRoundIndex"))
        s[L.LPS_FIRST] = int(_get(state_json, "lpsCurrentRoundFirstPlayer") or 0)
        known = val = 0
        for k, v in (_get(state_json, "lpsCurrentRoundActorMask") or {}).items():
            known |= 1 << int(k)
            if v:
                val |= 1 << int(k)
        s[L.LPS_MASK_KNOWN] = known
        s[L.LPS_MASK_VAL] = val
        s[L.LPS_EXCL_DONE] = int(_get(state_json, "lpsExclusivePlayerForCompletedRound") or 0)
        s[L.LPS_CONSEC] = int(_get(state_json, "lpsConsecutiveExclusiveRounds") or 0)
        s[L.LPS_CONSEC_P] = int(_get(state_json, "lpsConsecutiveExclusivePlayer") or 0)
        req = _get(state_json, "lpsRoundsRequired")
        if req:
            s[L.LPS_REQ] = int(req)
    return rules, s


# ---- moves ----------------------------------------------------------------


def _sorted_cells(board, positions) -> str:
    return ";".join(sorted(pos_key(board, p) for p in positions))


def _json_fields(board, mj) -> tuple[str, int, dict]:
    """(type, player, {field: value}) of a move JSON, in canonical key terms."""
    t = _move_type(mj)
    p = int(mj.get("player", 0))
    f: dict = {}

    def pos(name):
        v = mj.get(name)
        return pos_key(board, v) if v is not None else None

    if t in _POS_TO:
        to = pos("to")
        if to is None and t == "eliminate_rings_from_stack":
            efs = mj.get("eliminationFromStack")
            if isinstance(efs, (dict, str, list)):
                to = pos_key(board, efs)
        if to is not None:
            f["to"] = to
    elif t in _POS_FROM_TO or t in _POS_CAPTURE:
        for name, fld in (("from", "from"), ("to", "to")):
            v = pos(name)
            if v is not None:
                f[fld] = v
        if t in _POS_CAPTURE and mj.get("captureTarget") is not None:
            f["cap"] = pos("captureTarget")
    if t == "place_ring":
        f["n"] = str(int(mj.get("placementCount") or 1))
    lines = mj.get("formedLines")
    if t in ("process_line", "choose_line_option") and lines:
        f["lines"] = "|".join(sorted(_sorted_cells(board, ln["positions"]) for ln in lines))
    if t == "choose_line_option":
        cm = mj.get("collapsedMarkers")
        if cm:
            f["collapse"] = _sorted_cells(board, cm)
        elif lines and len(lines) == 1:
            # the reference collapses the whole line when no subset is named
            f["collapse"] = f["lines"]
    regions = mj.get("disconnectedRegions")
    if t == "choose_territory_option" and regions:
        f["regions"] = "|".join(sorted(_sorted_cells(board, r["spaces"]) for r in regions))
    if t == "eliminate_rings_from_stack" and mj.get("eliminationContext"):
        f["ctx"] = str(mj["eliminationContext"])
    if t == "recovery_slide":
        if mj.get("recoveryMode"):
            f["rmode"] = str(mj["recoveryMode"])
        ropt = mj.get("recoveryOption", mj.get("option"))
        if ropt is not None:
            f["ropt"] = str(int(ropt))
        if mj.get("collapsePositions"):
            f["rcollapse"] = _sorted_cells(board, mj["collapsePositions"])
        if mj.get("extractionStacks"):
            f["extract"] = _sorted_cells(board, mj["extractionStacks"])
    return t, p, f


_KEY_ORDER = (
    "from",
    "to",
    "cap",
    "n",
    "lines",
    "collapse",
    "regions",
    "ctx",
    "rmode",
    "ropt",
    "rcollapse",
    "extract",
)


def json_move_key(board, mj) -> str:
    """The canonical key (shared/conformance/README.md) of a move JSON, built
    from the fields it carries."""
    t, p, f = _json_fields(board, mj)
    parts = [t, f"p{p}"] + [f"{k}={f[k]}" for k in _KEY_ORDER if k in f]
    return " ".join(parts)


def parse_key(key: str) -> tuple[str, int, dict]:
    parts = key.split(" ")
    fields = dict(part.split("=", 1) for part in parts[2:])
    return parts[0], int(parts[1][1:]), fields


def describe_json_move(mj) -> str:
    t = mj.get("type")
    bits = [str(t), f"p{mj.get('player')}"]
    for name in ("from", "to", "captureTarget"):
        v = mj.get(name)
        if isinstance(v, dict):
            z = f",{v['z']}" if v.get("z") is not None else ""
            bits.append(f"{name}={v.get('x')},{v.get('y')}{z}")
    return " ".join(bits)


def move_from_json(rules: Rules, s: np.ndarray, move_json) -> np.ndarray:
    """The legal move of ``s`` that ``move_json`` names.

    First the canonical key built from the JSON must equal one of our keys;
    failing that, a looser match: same type and player, and every field the
    JSON does carry agrees with the same field of our key (fields the JSON
    lacks, e.g. a missing ``collapsedMarkers``, are not compared). A unique
    loose match wins; none or several raise ValueError naming the move."""
    brd = rules.board
    legal = rules.legal(s)
    keys = [rules.key(s, m) for m in legal]
    want = json_move_key(brd, move_json)
    for m, k in zip(legal, keys):
        if k == want:
            return m
    t, p, f = _json_fields(brd, move_json)
    best, best_score = [], -1
    for m, k in zip(legal, keys):
        kt, kp, kf = parse_key(k)
        if kt != t or kp != p:
            continue
        if any(kf[name] != v for name, v in f.items() if name in kf):
            continue
        score = sum(1 for name in f if name in kf)
        if score > best_score:
            best, best_score = [(m, k)], score
        elif score == best_score:
            best.append((m, k))
    if len({k for _, k in best}) == 1:
        return best[0][0]
    phase = L.PHASE_NAMES[int(s[L.PHASE])]
    if best:
        raise ValueError(
            f"move {describe_json_move(move_json)} (key {want!r}) is ambiguous in phase "
            f"{phase}: matches {sorted({k for _, k in best})}"
        )
    raise ValueError(
        f"move {describe_json_move(move_json)} (key {want!r}) is not legal in phase "
        f"{phase} for player {int(s[L.CUR])}; legal: {sorted(set(keys))[:12]}"
    )


def raw_move_from_json(rules: Rules, s: np.ndarray, move_json) -> np.ndarray:
    """A move record built field by field from the JSON, WITHOUT checking that
    our engine lists it. Only for replaying a reference fixture that applies a
    move outside the legal list (the reference's apply does not validate);
    feed it to ``rules.apply_move``-style jitted code, not ``rules.apply``.
    Regions and lines are looked up on the current board (a region or line
    the board does not have raises ValueError, as the reference's apply does)."""
    from ..engine.lines import find_lines
    from ..engine.territory import find_regions

    brd = rules.board
    t = _move_type(move_json)
    if t not in L.MOVE_TYPE_NAMES:
        raise ValueError(f"unknown move type {t!r}")
    mt = L.MOVE_TYPE_NAMES.index(t)
    _, p, f = _json_fields(brd, move_json)
    mv = np.array([mt, p, -1, -1, -1, 0, 0, 0], dtype=np.int32)
    for name, fld in (("from", L.F_FROM), ("to", L.F_TO), ("cap", L.F_CAP)):
        if name in f:
            mv[fld] = brd.index[f[name]]
    if t == "place_ring":
        mv[L.F_A] = int(f["n"])
    elif t == "eliminate_rings_from_stack":
        ctx = move_json.get("eliminationContext")
        if ctx is None:
            ctx = "line" if int(s[L.PHASE]) == L.PH_LINE else "territory"
        mv[L.F_A] = L.CTX_NAMES.index(ctx)
    elif t == "choose_territory_option":
        cells, offs = find_regions(brd.geo, s)
        regions = [
            frozenset(int(c) for c in cells[offs[r] : offs[r + 1]]) for r in range(len(offs) - 1)
        ]
        want = None
        if move_json.get("disconnectedRegions"):
            spaces = move_json["disconnectedRegions"][0]["spaces"]
            want = frozenset(pos_cell(brd, q) for q in spaces)
        hit = [
            r
            for r, reg in enumerate(regions)
            if (reg == want if want is not None else mv[L.F_TO] in reg)
        ]
        if not hit:
            raise ValueError(
                "no disconnected region on the board matches " + describe_json_move(move_json)
            )
        mv[L.F_A] = hit[0]
        mv[L.F_TO] = min(regions[hit[0]])
    elif t in ("process_line", "choose_line_option"):
        lines = find_lines(brd.geo, s, p)
        want = None
        if move_json.get("formedLines"):
            want = frozenset(pos_cell(brd, q) for q in move_json["formedLines"][0]["positions"])
        found = -1
        for i in range(lines.shape[0]):
            start, axis, ln = int(lines[i, 0]), int(lines[i, 1]), int(lines[i, 2])
            cells, cur = [], start
            for _ in range(ln):
                cells.append(cur)
                cur = int(brd.geo[cur, L.G_RAY + axis])
            if (want is None and mv[L.F_TO] in cells) or frozenset(cells) == want:
                found = i
                break
        if found < 0:
            raise ValueError(f"no line on the board matches {describe_json_move(move_json)}")
        mv[L.F_A] = found
        mv[L.F_TO] = int(lines[found, 0])
        mv[L.F_B] = -1
        cm = move_json.get("collapsedMarkers")
        if t == "choose_line_option" and cm and len(cm) < int(lines[found, 2]):
            sel = {pos_cell(brd, q) for q in cm}
            cells, cur = [], int(lines[found, 0])
            for _ in range(int(lines[found, 2])):
                cells.append(cur)
                cur = int(brd.geo[cur, L.G_RAY + int(lines[found, 1])])
            mv[L.F_B] = min(cells.index(c) for c in sel)
    elif t == "recovery_slide":
        mode = f.get("rmode", "line" if "ropt" in f else "fallback")
        mv[L.F_A] = L.RMODE_NAMES.index(mode)
        mv[L.F_B] = int(f.get("ropt", 0))
        mv[L.F_C] = brd.index[f["extract"].split(";")[0]] if "extract" in f else -1
    elif t not in (
        "move_stack",
        "overtaking_capture",
        "continue_capture_segment",
        "forced_elimination",
    ) and not t.startswith(("no_", "skip_", "swap")):
        raise ValueError(f"raw_move_from_json cannot build a {t} record")
    return mv


def s_invariant(s: np.ndarray) -> int:
    """S = markers + collapsed cells + eliminated rings (all players)."""
    np_ = int(s[L.NP])
    markers = int(np.count_nonzero(L.block(s, L.o_marker)))
    coll = int(np.count_nonzero(L.block(s, L.o_collapsed)))
    elim = int(sum(int(s[L.ELIM + p]) for p in range(1, np_ + 1)))
    return markers + coll + elim


def counts(s: np.ndarray) -> dict:
    return {
        "stackCount": int(np.count_nonzero(L.block(s, L.o_height))),
        "markerCount": int(np.count_nonzero(L.block(s, L.o_marker))),
        "collapsedCount": int(np.count_nonzero(L.block(s, L.o_collapsed))),
    }


def stack_rings(rules: Rules, s: np.ndarray, key: str) -> list[int]:
    """Ring owners of the stack on `key`, bottom first ([] if none)."""
    c = rules.board.index[key]
    return [int(v) for v in _stack_rings(s, c)]


__all__ = [
    "counts",
    "json_move_key",
    "move_from_json",
    "pos_key",
    "raw_move_from_json",
    "s_invariant",
    "stack_rings",
    "state_from_json",
]
