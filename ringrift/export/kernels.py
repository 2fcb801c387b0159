"""Numba kernels of the fast JSONL export (driven by fast.py): replay, stored
state join, and the sample line writer.

Same bytes as ``jsonl.sample_from_row`` + ``json.dumps`` (the slow path, kept
as the reference and the fallback), ~15x faster per core on a self-play part
and ~12x on a shuffled aggregate (benchmarks/data_path.py, 2,000 games), by:

* replaying each game once per export job, not once per sample: the replays
  (per engine step the move, its JSON facts, its legal index, a digest of the
  state after it) are kept across batches in a bounded store (fast._Store),
  rows are grouped by game and sorted by history length, so a row either
  extends its game's replay (legal moves, apply, exact state check, all in
  Numba) or is already covered by it and checked through the digest of its
  stored state; in game order (a self-play part) only the last game of a
  batch is kept;
* writing the JSON in Numba from byte fragments: each replay step's move is
  written once (kept across batches for shuffled input, up to a budget) and
  every sample copies its history;
* only per-batch work in Python (column -> numpy views, string tables, the
  blake2b position hash).

Anything unusual in a batch (nulls, mixed boards, a replay or stored-state
mismatch, an illegal move) returns None and the caller redoes the batch on
the slow path, which raises the one-line error naming the game: the two paths
never differ in what they accept, but for a stored state checked through its
digest (two NH lanes, a wrong state passes with probability <= 2^-64).

Fragments: every constant byte run of a line is one entry of a pool built per
(board, player count) in a fixed order, so the kernels refer to them by
module-level ids (FR_*), which Numba treats as constants.
"""

from __future__ import annotations

import json
from collections import namedtuple

import numpy as np
from numba import njit

from ..engine import layout as L
from ..engine.jit import kernel, stack_empty
from ..engine.layout import MAX_CELLS
from ..engine.lines import find_lines_into, line_buffer
from ..engine.movegen import line_through
from ..engine.rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into, valid_action
from ..engine.stacks import ring_base, rings_total
from ..engine.stacks import top as stack_top
from ..engine.territory import find_regions_into, region_buffers
from ..reference.json_common import EPOCH, axis_vector, pos
from ..reference.move_json import MOVE_FIELDS

# ---- fragment ids ------------------------------------------------------------------

_NAMES: list[str] = []


def _fid(name: str) -> int:
    _NAMES.append(name)
    return len(_NAMES) - 1


FR_NULL = _fid("null")
FR_TRUE = _fid("true")
FR_FALSE = _fid("false")
FR_COMMA = _fid(",")
FR_Q = _fid('"')
FR_RBRACE = _fid("}")
FR_RBRACK = _fid("]")
FR_LBRACK = _fid("[")
FR_QCOLON = _fid('":')
FR_S_OPEN = _fid("state open")
FR_S_BOARD = _fid("board open")
FR_STK1 = _fid("stack 1")
FR_STK2 = _fid("stack 2")
FR_STK3 = _fid("stack 3")
FR_STK4 = _fid("stack 4")
FR_STK5 = _fid("stack 5")
FR_S_MARKERS = _fid("markers")
FR_MK1 = _fid("marker 1")
FR_MK2 = _fid("marker 2")
FR_MK3 = _fid("marker 3")
FR_S_COLL = _fid("collapsed")
FR_S_ELIM = _fid("eliminated")
FR_S_PLAYERS = _fid("players")
FR_PL1 = _fid("player 1")
FR_PL2 = _fid("player 2")
FR_PL3 = _fid("player 3")
FR_PL4 = _fid("player 4")
FR_PL5 = _fid("player 5")
FR_PL6 = _fid("player 6")
FR_S_PHASE = _fid("current_phase")
FR_S_CUR = _fid("current_player")
FR_S_HIST = _fid("move_history")
FR_S_STATUS = _fid("after history")
FR_ACTIVE = _fid('"active"')
FR_COMPLETED = _fid('"completed"')
FR_S_WINNER = _fid("winner")
FR_S_CREATED = _fid("created")
FR_S_RIP = _fid("total_rings_in_play")
FR_S_TRE = _fid("total_rings_eliminated")
FR_S_VT = _fid("victory_threshold")
FR_S_TVT = _fid("territory_victory_threshold")
FR_S_CCS = _fid("chain_capture_state")
FR_S_MUST = _fid("must_move_from_stack_key")
FR_S_ZOB = _fid("zobrist_hash")
FR_S_LPSR = _fid("lps_round_index")
FR_S_LPSM = _fid("lps_current_round_actor_mask")
FR_S_LPSX = _fid("lps_exclusive_player_for_completed_round")
FR_S_LPSF = _fid("lps_current_round_first_player")
FR_S_LPSC = _fid("lps_consecutive_exclusive_rounds")
FR_S_LPSQ = _fid("lps_rounds_required")
FR_S_LPSP = _fid("lps_consecutive_exclusive_player")
FR_S_RULES = _fid("rules_options")
FR_SWAP_T = _fid("swap true")
FR_SWAP_F = _fid("swap false")
FR_S_PEND = _fid("pending_line_reward_elimination")
FR_S_OUTCOME = _fid("outcome")
FR_S_GAMEID = _fid("board_type + game_id")
FR_S_MOVENO = _fid("move_number")
FR_S_PLY = _fid("ply_to_end")
FR_S_MOVE = _fid("move")
FR_S_META = _fid("metadata")
FR_EOL = _fid("}\\n")
FR_CC1 = _fid("ccs 1")
FR_CC2 = _fid("ccs 2")
FR_CC3 = _fid("ccs 3")
FR_CC4 = _fid("ccs 4")
FR_CC5 = _fid("ccs 5")
FR_SG1 = _fid("seg 1")
FR_SG2 = _fid("seg 2")
FR_SG3 = _fid("seg 3")
FR_SG4 = _fid("seg 4")
FR_PHASE0 = len(_NAMES)  # quoted phase names, FR_PHASE0 + phase
for _ph in L.PHASE_NAMES:
    _fid("phase " + _ph)
FR_CTX0 = len(_NAMES)  # raw elimination context names
for _c in L.CTX_NAMES:
    _fid("ctx " + _c)
FR_RMODE0 = len(_NAMES)  # raw recovery mode names
for _c in L.RMODE_NAMES:
    _fid("rmode " + _c)
FR_DIR0 = len(_NAMES)  # direction JSON per line axis (4 slots)
for _a in range(4):
    _fid(f"dir {_a}")
FR_VAR0 = len(_NAMES)  # move-variant fragments follow (see _VARIANTS)


def _state_texts(board_type: str, size: int) -> dict[str, str]:
    bt = json.dumps(board_type)
    return {
        "null": "null",
        "true": "true",
        "false": "false",
        ",": ",",
        '"': '"',
        "}": "}",
        "]": "]",
        "[": "[",
        '":': '":',
        "state open": '{"state":{"id":',
        "board open": f',"board_type":{bt},"rng_seed":null,"board":{{"type":{bt},'
        f'"size":{size},"stacks":{{',
        "stack 1": '":{"position":',
        "stack 2": ',"rings":[',
        "stack 3": '],"stack_height":',
        "stack 4": ',"cap_height":',
        "stack 5": ',"controlling_player":',
        "markers": '},"markers":{',
        "marker 1": '":{"player":',
        "marker 2": ',"position":',
        "marker 3": ',"type":"regular"}',
        "collapsed": '},"collapsed_spaces":{',
        "eliminated": '},"eliminated_rings":{',
        "players": '},"formed_lines":[],"territories":{}},"players":[',
        "player 1": '{"id":"p',
        "player 2": '","username":"AI ',
        "player 3": '","type":"ai","player_number":',
        "player 4": ',"is_ready":true,"time_remaining":600,"ai_difficulty":10,"rings_in_hand":',
        "player 5": ',"eliminated_rings":',
        "player 6": ',"territory_spaces":',
        "current_phase": '],"current_phase":',
        "current_player": ',"current_player":',
        "move_history": ',"move_history":[',
        "after history": '],"time_control":{"initial_time":600,"increment":0,"type":"blitz"},'
        '"spectators":[],"game_status":',
        '"active"': '"active"',
        '"completed"': '"completed"',
        "winner": ',"winner":',
        "created": f',"created_at":"{EPOCH}","last_move_at":"{EPOCH}","is_rated":false,'
        '"max_players":',
        "total_rings_in_play": ',"total_rings_in_play":',
        "total_rings_eliminated": ',"total_rings_eliminated":',
        "victory_threshold": ',"victory_threshold":',
        "territory_victory_threshold": ',"territory_victory_threshold":',
        "chain_capture_state": ',"territory_victory_minimum":null,"chain_capture_state":',
        "must_move_from_stack_key": ',"must_move_from_stack_key":',
        "zobrist_hash": ',"zobrist_hash":',
        "lps_round_index": ',"lps_round_index":',
        "lps_current_round_actor_mask": ',"lps_current_round_actor_mask":{',
        "lps_exclusive_player_for_completed_round": '},"lps_exclusive_player_for_completed_round":',
        "lps_current_round_first_player": ',"lps_current_round_first_player":',
        "lps_consecutive_exclusive_rounds": ',"lps_consecutive_exclusive_rounds":',
        "lps_rounds_required": ',"lps_rounds_required":',
        "lps_consecutive_exclusive_player": ',"lps_consecutive_exclusive_player":',
        "rules_options": ',"rules_options":',
        "swap true": '{"swapRuleEnabled":true}',
        "swap false": '{"swapRuleEnabled":false}',
        "pending_line_reward_elimination": ',"pending_line_reward_elimination":',
        "outcome": '},"outcome":',
        "board_type + game_id": f',"board_type":{bt},"game_id":',
        "move_number": ',"move_number":',
        "ply_to_end": ',"ply_to_end":',
        "move": ',"move":',
        "metadata": ',"metadata":',
        "}\\n": "}\n",
        "ccs 1": '{"player_number":',
        "ccs 2": ',"start_position":',
        "ccs 3": ',"current_position":',
        "ccs 4": ',"segments":[',
        "ccs 5": '],"available_moves":[],"visited_positions":[',
        "seg 1": '{"from_pos":',
        "seg 2": ',"target":',
        "seg 3": ',"landing":',
        "seg 4": ',"captured_cap_height":0}',
    }


# ---- move variants: every Move field in order, constants merged between holes ---------

(
    H_N,
    H_NM1,
    H_PLAYER,
    H_POS_FROM,
    H_POS_TO,
    H_POS_CAP,
    H_KEY_FROM,
    H_KEY_TO,
    H_KEY_CAP,
    H_PLACED,
    H_A,
    H_B,
    H_PHASE,
    H_POS_LSTART,
    H_KEY_LSTART,
    H_LINE_CELLS,
    H_LLEN,
    H_DIR,
    H_COLLAPSED_MARKERS,
    H_COLLAPSE_POSITIONS,
    H_REGION_CELLS,
    H_POS_RFIRST,
    H_KEY_RFIRST,
    H_TORD,
    H_POS_FIRSTOWN,
    H_CTX,
    H_RMODE,
    H_KEY_C,
) = range(28)

_BK_NAMES = {
    L.MT_NO_PLACEMENT: "no-placement-action",
    L.MT_NO_MOVEMENT: "no-movement-action",
    L.MT_SKIP_CAPTURE: "skip-capture",
    L.MT_NO_LINE: "no-line-action",
    L.MT_SKIP_TERRITORY: "skip-territory-processing",
    L.MT_NO_TERRITORY: "no-territory-action",
    L.MT_SWAP_SIDES: "swap_sides",
}


def _variant_specs() -> list[tuple[int, dict]]:
    """(move type, {field: spec}) per variant, in variant-id order; a spec is
    constant JSON text or a list of text parts and hole codes (see
    move_json.move_to_json, which these mirror field by field)."""
    sim = '"simulated"'
    formed = [
        '[{"positions":[',
        H_LINE_CELLS,
        '],"player":',
        H_PLAYER,
        ',"length":',
        H_LLEN,
        ',"direction":',
        H_DIR,
        "}]",
    ]
    out: list[tuple[int, dict]] = []
    for t, name in _BK_NAMES.items():  # 0..6
        out.append((t, {"id": [f'"{name}-', H_N, '"'], "to": '{"x":0,"y":0,"z":null}'}))
    out.append(
        (
            L.MT_PLACE_RING,
            {"id": sim, "to": [H_POS_TO], "placed_on_stack": [H_PLACED], "placement_count": [H_A]},
        )
    )  # 7
    out.append((L.MT_SKIP_PLACEMENT, {"id": sim, "to": [H_POS_FIRSTOWN]}))  # 8
    out.append((L.MT_SKIP_PLACEMENT, {"id": sim}))  # 9: no own stack
    out.append((L.MT_MOVE_STACK, {"id": sim, "from_pos": [H_POS_FROM], "to": [H_POS_TO]}))  # 10
    for t in (L.MT_OVERTAKING_CAPTURE, L.MT_CONTINUE_CAPTURE):  # 11, 12
        out.append(
            (
                t,
                {
                    "id": ['"capture-', H_KEY_FROM, "-", H_KEY_CAP, "-", H_KEY_TO, "-", H_N, '"'],
                    "from_pos": [H_POS_FROM],
                    "to": [H_POS_TO],
                    "capture_target": [H_POS_CAP],
                },
            )
        )
    out.append(
        (
            L.MT_PROCESS_LINE,
            {
                "id": ['"process-line-', H_A, "-", H_KEY_LSTART, '"'],
                "to": [H_POS_LSTART],
                "formed_lines": formed,
            },
        )
    )  # 13
    out.append(
        (
            L.MT_CHOOSE_LINE_OPTION,
            {
                "id": ['"choose-line-option-', H_A, "-", H_KEY_LSTART, "-min-", H_B, '"'],
                "to": [H_POS_LSTART],
                "formed_lines": formed,
                "collapsed_markers": ["[", H_COLLAPSED_MARKERS, "]"],
            },
        )
    )  # 14: b >= 0
    out.append(
        (
            L.MT_CHOOSE_LINE_OPTION,
            {
                "id": ['"choose-line-option-', H_A, "-", H_KEY_LSTART, '-all"'],
                "to": [H_POS_LSTART],
                "formed_lines": formed,
                "collapsed_markers": ["[", H_COLLAPSED_MARKERS, "]"],
            },
        )
    )  # 15: all
    out.append(
        (
            L.MT_CHOOSE_TERRITORY,
            {
                "id": ['"choose-territory-option-', H_TORD, "-", H_KEY_RFIRST, '"'],
                "to": [H_POS_RFIRST],
                "disconnected_regions": [
                    '[{"spaces":[',
                    H_REGION_CELLS,
                    '],"controlling_player":',
                    H_PLAYER,
                    ',"is_disconnected":true}]',
                ],
            },
        )
    )  # 16
    out.append(
        (
            L.MT_ELIMINATE,
            {
                "id": ['"eliminate-line-', H_KEY_TO, '"'],
                "to": [H_POS_TO],
                "eliminated_rings": ['[{"player":', H_PLAYER, ',"count":1}]'],
                "elimination_context": ['"', H_CTX, '"'],
                "move_number": [H_NM1],
            },
        )
    )  # 17: line
    out.append(
        (
            L.MT_ELIMINATE,
            {
                "id": ['"eliminate-rings-from-stack-', H_N, "-", H_KEY_TO, '"'],
                "to": [H_POS_TO],
                "elimination_context": ['"', H_CTX, '"'],
            },
        )
    )  # 18
    out.append(
        (
            L.MT_FORCED_ELIM,
            {"id": sim, "to": [H_POS_TO], "placed_on_stack": "false", "placement_count": "0"},
        )
    )  # 19: listed
    out.append(
        (L.MT_FORCED_ELIM, {"id": ['"forced-elimination-', H_N, '"'], "to": [H_POS_TO]})
    )  # 20: synthesised
    rec_id = ['"recovery-', H_RMODE, "-", H_KEY_FROM, "-", H_KEY_TO, "-", H_N, '"']
    rec = {
        "id": rec_id,
        "from_pos": [H_POS_FROM],
        "to": [H_POS_TO],
        "recovery_mode": ['"', H_RMODE, '"'],
    }
    out.append((L.MT_RECOVERY_SLIDE, dict(rec, recovery_option=[H_B])))  # 21: line, b != 2
    out.append(
        (
            L.MT_RECOVERY_SLIDE,
            dict(rec, recovery_option=[H_B], collapse_positions=["[", H_COLLAPSE_POSITIONS, "]"]),
        )
    )
    out.append((L.MT_RECOVERY_SLIDE, dict(rec, extraction_stacks=['["', H_KEY_C, '"]'])))  # 23
    out.append((L.MT_SKIP_RECOVERY, {"id": ['"skip-recovery-', H_N, '"']}))  # 24
    return out


V_BK0, V_PLACE, V_SKIPPL, V_SKIPPL_NONE, V_MOVE, V_CAPTURE0 = 0, 7, 8, 9, 10, 11
V_PLINE, V_CLO_MIN, V_CLO_ALL, V_TERR, V_ELIM_LINE, V_ELIM = 13, 14, 15, 16, 17, 18
V_FE_LISTED, V_FE, V_REC_LINE, V_REC_LINE2, V_REC_STACK, V_SKIPREC = 19, 20, 21, 22, 23, 24
N_VARIANTS = 25

# move type -> first bookkeeping variant index (or -1)
_BK_VARIANT = np.full(32, -1, dtype=np.int32)
for _i, _t in enumerate(_BK_NAMES):
    _BK_VARIANT[_t] = _i


def _variant_segments(t: int, spec: dict) -> list:
    """Text parts and hole codes of one variant's whole JSON object."""
    parts: list = ["{"]
    for i, f in enumerate(MOVE_FIELDS):
        parts.append(("," if i else "") + f'"{f}":')
        if f == "type":
            v = [f'"{L.MOVE_TYPE_NAMES[t]}"']
        elif f == "player":
            v = [H_PLAYER]
        elif f == "timestamp":
            v = [f'"{EPOCH}"']
        elif f == "think_time":
            v = ["0"]
        elif f == "move_number":
            v = spec.get(f, [H_N])
        elif f == "phase":
            v = [H_PHASE]
        else:
            v = spec.get(f, "null")
        parts.extend([v] if isinstance(v, str) else v)
    parts.append("}")
    # merge text runs: [(text, hole), ..., (text, -1)]
    segs, text = [], ""
    for p in parts:
        if isinstance(p, str):
            text += p
        else:
            segs.append((text, p))
            text = ""
    segs.append((text, -1))
    return segs


_VARIANTS = [(_t, _variant_segments(_t, _s)) for _t, _s in _variant_specs()]
assert len(_VARIANTS) == N_VARIANTS
_MAXSEG = max(len(s) for _, s in _VARIANTS)


class Tables:
    """Byte tables of one (board, player count): the fragment pool, the move
    variants, cell positions and keys."""

    def __init__(self, rules):
        b = rules.board
        texts = _state_texts(rules.board_type, b.size)
        frags = [texts[n] for n in _NAMES[:FR_PHASE0]]
        frags += [json.dumps(n) for n in L.PHASE_NAMES]
        frags += list(L.CTX_NAMES)
        frags += list(L.RMODE_NAMES)
        frags += [
            json.dumps(axis_vector(b, a), separators=(",", ":")) if a < b.ndir // 2 else "null"
            for a in range(4)
        ]
        assert len(frags) == FR_VAR0
        self.var_frag = np.full((N_VARIANTS, _MAXSEG), -1, dtype=np.int32)
        self.var_hole = np.full((N_VARIANTS, _MAXSEG), -1, dtype=np.int32)
        self.var_nseg = np.zeros(N_VARIANTS, dtype=np.int32)
        for v, (_t, segs) in enumerate(_VARIANTS):
            self.var_nseg[v] = len(segs)
            for i, (text, hole) in enumerate(segs):
                self.var_frag[v, i] = len(frags)
                self.var_hole[v, i] = hole
                frags.append(text)
        raw = [f.encode() for f in frags]
        self.pool = np.frombuffer(b"".join(raw), dtype=np.uint8).copy()
        self.poff = np.zeros(len(raw) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in raw], out=self.poff[1:])
        n = b.ncell
        pj = [json.dumps(pos(b, c), separators=(",", ":")).encode() for c in range(n)]
        kj = [b.keys[c].encode() for c in range(n)]
        for c in range(n):  # the chain state's visited keys are built from positions
            q = pos(b, c)
            k = f"{q['x']},{q['y']}" if q.get("z") is None else f"{q['x']},{q['y']},{q['z']}"
            assert k == b.keys[c]
        self.pos_buf, self.pos_len = _table(pj)
        self.key_buf, self.key_len = _table(kj)
        self.board = b


def _table(items: list[bytes]):
    w = max(len(x) for x in items)
    buf = np.zeros((len(items), w), dtype=np.uint8)
    ln = np.zeros(len(items), dtype=np.int32)
    for i, x in enumerate(items):
        buf[i, : len(x)] = np.frombuffer(x, dtype=np.uint8)
        ln[i] = len(x)
    return buf, ln


# ---- byte writers ------------------------------------------------------------------------


@njit(cache=True)
def _ensure(buf, pos, need):
    """buf, grown (doubled) when fewer than `need` bytes are free after pos."""
    if pos + need <= buf.shape[0]:
        return buf
    size = max(2 * buf.shape[0], pos + need)
    nb = np.empty(size, dtype=np.uint8)
    _copy(nb, 0, buf, 0, pos)
    return nb


@njit(cache=True, inline="always")
def _copy(buf, pos, src, a, n):
    # A loop over two views: LLVM turns it into a vectorised copy (measured
    # 0.9 us per 35 KB). Slice assignment costs 23 us, and a loop indexing the
    # arrays with signed offsets 42 us (not vectorised: negative indices wrap).
    d = buf[pos : pos + n]
    s = src[a : a + n]
    for i in range(n):
        d[i] = s[i]
    return pos + n


@njit(cache=True, inline="always")
def _frag(buf, pos, pool, poff, f):
    return _copy(buf, pos, pool, poff[f], poff[f + 1] - poff[f])


@njit(cache=True, inline="always")
def _row(buf, pos, tab, ln, i):
    return _copy(buf, pos, tab[i], 0, ln[i])


@kernel
def _int(buf, pos, v):
    v = np.int64(v)
    if v < 0:
        buf[pos] = 45  # '-'
        pos += 1
        u = np.uint64(-(v + 1)) + np.uint64(1)
    else:
        u = np.uint64(v)
    return _uint(buf, pos, u)


@kernel
def _uint(buf, pos, u):
    """Decimal digits of u (no allocation: count the digits, then fill)."""
    u = np.uint64(u)
    ten = np.uint64(10)
    k = 1
    t = u // ten
    while t > 0:
        k += 1
        t = t // ten
    for i in range(k - 1, -1, -1):
        buf[pos + i] = np.uint8(48 + (u % ten))
        u = u // ten
    return pos + k


@kernel
def _opt(buf, pos, pool, poff, v):
    if v == 0:
        return _frag(buf, pos, pool, poff, FR_NULL)
    return _int(buf, pos, v)


@kernel
def _bool(buf, pos, pool, poff, v):
    return _frag(buf, pos, pool, poff, FR_TRUE if v else FR_FALSE)


# ---- replay: move facts a move's JSON needs from the state before it -------------------

A_PHASE, A_PLACED, A_FIRSTOWN, A_FE, A_LSTART, A_LAXIS, A_LLEN, A_LINELEN = range(8)
A_RSTART, A_RAXIS, A_TORD, A_REG, A_REGLEN = range(8, 13)
NAUX = 13


@kernel
def _stack_order(s, n, out):
    """Cells holding a stack, by insertion stamp (ties by cell): count."""
    k = 0
    ostamp = L.o_stamp(n)
    for c in range(n):
        if s[L.o_height(n) + c] > 0:
            st = s[ostamp + c]
            j = k
            while j > 0 and s[ostamp + out[j - 1]] > st:
                out[j] = out[j - 1]
                j -= 1
            out[j] = c
            k += 1
    return k


@njit(cache=True)
def _grown(reg, rtop, need):
    """reg with room for need more entries after rtop (at least doubled)."""
    nr = np.empty(max(2 * reg.shape[0], rtop + need), dtype=np.int32)
    for i in range(rtop):
        nr[i] = reg[i]
    return nr


@kernel
def _facts(geo, s, mv, legal, nlegal, aux, reg, rtop):
    """Fill aux for mv in state s; territory regions go to reg, which the
    caller gave room for a board's cells after rtop. Returns the new rtop,
    < 0 on a move the JSON writer cannot describe."""
    t = mv[L.F_TYPE]
    p = mv[L.F_PLAYER]
    n = s[L.NCELL]
    for i in range(NAUX):
        aux[i] = -1
    aux[A_PHASE] = s[L.PHASE]
    aux[A_LINELEN] = s[L.LINELEN]
    if t == L.MT_PLACE_RING:
        aux[A_PLACED] = 1 if s[L.o_height(n) + mv[L.F_TO]] > 0 else 0
    elif t == L.MT_SKIP_PLACEMENT:
        order = stack_empty(MAX_CELLS, n, np.int64)
        k = _stack_order(s, n, order)
        for i in range(k):
            c = order[i]
            if stack_top(s, c) == p:
                aux[A_FIRSTOWN] = c
                break
    elif t == L.MT_PROCESS_LINE or t == L.MT_CHOOSE_LINE_OPTION:
        lines = line_buffer(s)
        a = mv[L.F_A]
        if a < 0 or a >= find_lines_into(geo, s, p, lines):
            return -1
        aux[A_LSTART] = lines[4 * a]
        aux[A_LAXIS] = lines[4 * a + 1]
        aux[A_LLEN] = lines[4 * a + 2]
    elif t == L.MT_CHOOSE_TERRITORY:
        cells, offs = region_buffers(s)
        a = mv[L.F_A]
        if a < 0 or a >= find_regions_into(geo, s, cells, offs):
            return -1
        c0 = offs[a]
        ln = offs[a + 1] - c0
        if ln <= 0 or rtop + ln > reg.shape[0]:
            return -1
        for i in range(ln):
            reg[rtop + i] = cells[c0 + i]
        aux[A_REG] = rtop
        aux[A_REGLEN] = ln
        rtop += ln
        # ordinal among the legal region choices (the reference id's index)
        o = 0
        for i in range(nlegal):
            if legal[i, L.F_TYPE] != L.MT_CHOOSE_TERRITORY:
                continue
            if legal[i, L.F_A] == a:
                break
            o += 1
        else:
            o = 0
        aux[A_TORD] = o
    elif t == L.MT_FORCED_ELIM:
        aux[A_FE] = 0 if valid_action(geo, s, p) else 1
    elif t == L.MT_RECOVERY_SLIDE:
        if mv[L.F_A] == L.RM_LINE and mv[L.F_B] == 2:
            # the line the slide makes: s with the marker moved, put back after
            om = L.o_marker(n)
            frm, to = mv[L.F_FROM], mv[L.F_TO]
            m_frm, m_to = s[om + frm], s[om + to]
            s[om + frm] = 0
            s[om + to] = p
            start, axis, _ = line_through(geo, s, to, p)
            s[om + frm] = m_frm
            s[om + to] = m_to
            aux[A_RSTART] = start
            aux[A_RAXIS] = axis
    elif t < 0 or t > L.MT_SWAP_SIDES:
        return -1
    return rtop


@kernel
def _same_state(s, st):
    if s.shape[0] != st.shape[0]:
        return False
    for i in range(s.shape[0]):
        if s[i] != st[i]:
            return False
    return True


def hash_keys(slen: int) -> np.ndarray:
    """Keys of state_hash for states of slen words (fixed: the digests are
    only compared within one export)."""
    rng = np.random.default_rng(0x5EED)
    return rng.integers(0, 1 << 32, size=(4, slen // 2 + 1), dtype=np.uint64).astype(np.uint32)


@kernel
def state_hash(s, keys, out):
    """Digest of a state into out[0:2]: two lanes of the NH hash (sum of
    products of key-offset word pairs, collision probability <= 2^-32 each,
    so <= 2^-64 for two different states), ~0.6 us on square8 (vectorised).
    It stands for a replayed state when a later batch's stored state is
    checked against a kept replay."""
    n = s.shape[0]
    h = n // 2
    x = s[:h].view(np.uint32)
    y = s[h : 2 * h].view(np.uint32)
    k0 = keys[0]
    k1 = keys[1]
    k2 = keys[2]
    k3 = keys[3]
    a = np.uint64(0)
    b = np.uint64(0)
    for i in range(h):
        a += np.uint64(np.uint32(x[i] + k0[i])) * np.uint64(np.uint32(y[i] + k1[i]))
        b += np.uint64(np.uint32(x[i] + k2[i])) * np.uint64(np.uint32(y[i] + k3[i]))
    if n % 2:
        z = np.uint32(s[n - 1])
        a += np.uint64(np.uint32(z + k0[h])) * np.uint64(k1[h])
        b += np.uint64(np.uint32(z + k2[h])) * np.uint64(k3[h])
    out[0] = a
    out[1] = b


@kernel
def _hash_is(s, keys, h):
    t = stack_empty(2, 2, np.uint64)
    state_hash(s, keys, t)
    return t[0] == h[0] and t[1] == h[1]


@kernel
def _same_move(a, b):
    for f in range(L.MF):
        if a[f] != b[f]:
            return False
    return True


@kernel
def _legal_index(buf, nlegal, mv):
    for i in range(nlegal):
        ok = True
        for f in range(L.MF):
            if buf[i, f] != mv[f]:
                ok = False
                break
        if ok:
            return i
    return -1


@kernel
def _pack(s, pool, p):
    """A state, compact (header, cell blocks, the used ring pool) at pool[p:];
    returns the end, or -1 when it does not fit or is not a well-formed state
    (then it is not kept)."""
    w = L.o_pool(s[L.NCELL])
    total = rings_total(s)
    if total < 0 or total > s[L.MAXH] or p + w + total > pool.shape[0]:
        return -1
    for i in range(w + total):
        pool[p + i] = s[i]
    for i in range(w + total, s.shape[0]):
        if s[i] != 0:
            return -1
    return p + w + total


@njit(cache=True)
def _unpack(pool, p, s0):
    s = np.zeros_like(s0)
    n = pool[p + L.NCELL]
    w = L.o_pool(n)
    total = pool[p + L.o_start(n) + n - 1] + pool[p + L.o_height(n) + n - 1]  # rings_total
    for i in range(w + total):
        s[i] = pool[p + i]
    return s


MoveSteps = namedtuple("MoveSteps", ["mv", "aux", "idx", "hsh", "reg", "rstep", "rbeg"])
MoveSteps.__doc__ = """A move table's steps (export/moves.py), flat: move, facts, legal
index (int16, narrowed from the engine's int32 where every value is checked
to fit: cells, move types and small counts) and the digest of the state
after it; territory regions' cells in reg (int16). A step has a region when
its facts' A_REG >= 0 (the value itself is not an offset): the steps that
have one are rstep (ascending), and rbeg[k] is where rstep[k]'s region
begins in reg (int64, as rstep)."""

# the loaded tables' narrow type; every value is checked against it (moves.py)
STEP_INT = np.int16


def no_move_steps() -> MoveSteps:
    """An empty table (an export without one)."""
    return MoveSteps(
        np.zeros((0, L.MF), dtype=STEP_INT),
        np.zeros((0, NAUX), dtype=STEP_INT),
        np.zeros(0, dtype=STEP_INT),
        np.zeros((0, 2), dtype=np.uint64),
        np.zeros(0, dtype=STEP_INT),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
    )


@kernel
def _move_entries(ist, top, ln, st_mv, st_aux, st_idx, st_hash, ent_beg, ent_end):
    """Copy an instance's ln entries from ist to top (the store's end)."""
    for j in range(ln):
        for f in range(L.MF):
            st_mv[top + j, f] = st_mv[ist + j, f]
        for f in range(NAUX):
            st_aux[top + j, f] = st_aux[ist + j, f]
        st_idx[top + j] = st_idx[ist + j]
        st_hash[top + j, 0] = st_hash[ist + j, 0]
        st_hash[top + j, 1] = st_hash[ist + j, 1]
        ent_beg[top + j] = ent_beg[ist + j]
        ent_end[top + j] = ent_end[ist + j]


@kernel
def _table_agrees(hv, a0, ln, k, t_idx, t0):
    """The row's history steps ln..k-1 are the table's."""
    for j in range(ln, k):
        if hv[a0 + j] != t_idx[t0 + j]:
            return False
    return True


@njit(cache=True)
def _copy_steps(table, t0, ln, want, ist, st_mv, st_aux, st_idx, st_hash, ent_beg, reg, rtop):
    """Steps ln..want-1 of a table game into the instance at ist, widened to
    the store's int32 (regions copied into reg, A_REG pointing at the copy);
    returns (reg, rtop)."""
    k = -1  # the table's region entry of the next step with a region
    for j in range(ln, want):
        t = t0 + j
        e = ist + j
        for f in range(L.MF):
            st_mv[e, f] = table.mv[t, f]
        for f in range(NAUX):
            st_aux[e, f] = table.aux[t, f]
        st_idx[e] = table.idx[t]
        st_hash[e, 0] = table.hsh[t, 0]
        st_hash[e, 1] = table.hsh[t, 1]
        ent_beg[e] = -1
        ln_reg = np.int64(table.aux[t, A_REGLEN])
        if table.aux[t, A_REG] >= 0 and ln_reg > 0:
            if k < 0:
                k = np.searchsorted(table.rstep, t)
            # the loader made rstep of exactly these steps (moves.MoveTable)
            if rtop + ln_reg > reg.shape[0]:
                nr = np.empty(max(2 * reg.shape[0], rtop + ln_reg), dtype=np.int32)
                for i in range(rtop):
                    nr[i] = reg[i]
                reg = nr
            a = table.rbeg[k]
            for i in range(ln_reg):
                reg[rtop + i] = table.reg[a + i]
            st_aux[e, A_REG] = rtop
            rtop += ln_reg
            k += 1
    return reg, rtop


@njit(cache=True)
def record_games(geo, s0, rows, off, hv, ho, states, rmove, rmove_ok, keys):
    """A move table's steps for the given rows (one per game, its longest):
    every engine step of the row's history, then the row's own move when it
    has one, replayed from the start: the move, its facts, its legal index
    and the digest of the state after it. The row's stored state is compared
    exactly with the replay, and its move checked legal. Row i's steps go to
    off[i]..off[i+1]. Returns (status, (mv, aux, idx, hsh, reg), new_reg,
    nreg), the engine's int32 (moves.py narrows them): status 0, or -1 - i
    for row i that does not check out; new_reg[:nreg] are the (start, length)
    in reg of the territory regions, in step order (each one's cells in
    find_regions order)."""
    total = off[-1]
    mv = np.empty((total, L.MF), dtype=np.int32)
    aux = np.empty((total, NAUX), dtype=np.int32)
    idx = np.empty(total, dtype=np.int32)
    hsh = np.empty((total, 2), dtype=np.uint64)
    reg = np.empty(1 << 12, dtype=np.int32)
    rtop = 0
    new_reg = np.empty((total + 1, 2), dtype=np.int64)
    nreg = 0
    buf = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)
    for i in range(rows.shape[0]):
        r = rows[i]
        a0 = ho[r]
        k = ho[r + 1] - a0
        s = s0
        e = off[i]
        for j in range(off[i + 1] - off[i]):
            if s[L.STATUS] != L.ST_ACTIVE:
                return -1 - i, (mv, aux, idx, hsh, reg[:rtop]), new_reg, nreg
            nlegal = legal_moves_into(geo, s, buf)
            if j < k:
                li = hv[a0 + j]
                if li < 0 or li >= nlegal:
                    return -1 - i, (mv, aux, idx, hsh, reg[:rtop]), new_reg, nreg
            else:  # the row's own move, from its (checked) state
                li = -1
                if _same_state(s, states[r]):
                    li = _legal_index(buf, nlegal, rmove[r])
                if li < 0:
                    return -1 - i, (mv, aux, idx, hsh, reg[:rtop]), new_reg, nreg
            for f in range(L.MF):
                mv[e, f] = buf[li, f]
            idx[e] = li
            r0 = rtop
            if rtop + s[L.NCELL] > reg.shape[0]:
                reg = _grown(reg, rtop, s[L.NCELL])
            rtop = _facts(geo, s, mv[e], buf, nlegal, aux[e], reg, rtop)
            if rtop < 0:
                return -1 - i, (mv, aux, idx, hsh, reg[:r0]), new_reg, nreg
            if rtop > r0:
                new_reg[nreg, 0] = r0
                new_reg[nreg, 1] = rtop - r0
                nreg += 1
            s = apply_move(geo, s, mv[e])
            state_hash(s, keys, hsh[e])
            e += 1
        if off[i + 1] - off[i] == k and not _same_state(s, states[r]):
            return -1 - i, (mv, aux, idx, hsh, reg[:rtop]), new_reg, nreg
    return 0, (mv, aux, idx, hsh, reg[:rtop]), new_reg, nreg


@njit(cache=True)
def replay_cached(
    geo,
    s0,
    order,
    rslot,
    hv,
    ho,
    states,
    rmove,
    rmove_ok,
    sl_start,
    sl_len,
    sl_hashed,
    fin_off,
    fin_len,
    fpool,
    st_mv,
    st_aux,
    st_idx,
    st_hash,
    keys,
    flags,
    top,
    ftop,
    reg,
    rtop,
    new_reg,
    rm_aux,
    row_inst,
    ent_beg,
    ent_end,
    table,
    trow,
):
    """Replay the rows (visited in `order`: by game slot, then history length)
    against a store of replays kept across batches: per game one instance,
    entries sl_start[g] .. + sl_len[g], each an engine step's move, facts and
    legal index, and (for the first sl_hashed[g] entries) the digest of the
    state after it; the state after fin_len[g] steps is kept packed at
    fpool[fin_off[g]:] (fin_off -1: none), where the game's last row in a
    batch left it.

    A row longer than its game's instance extends it (moved to the store's
    end first when something follows it: entries below `top` are never
    overwritten, so earlier rows keep pointing at theirs), from the kept
    state (else applying the kept moves) and generating only the new steps;
    its state is compared exactly.
    A row the instance already covers is checked by the digest of its stored
    state, no replay; the first such row of an instance without digests
    re-applies the kept moves (exact compare) and digests them, and from then
    on (flags[0] = 1: rows come out of game order) new steps are digested as
    they are made. A row that disagrees with the kept indices starts a new
    instance. Every row's recorded move is checked legal in its state.

    With a move table (``table``, a MoveSteps; ``trow[r]`` = the (start,
    length) of row r's game in it, start -1: none) an instance is extended
    by copying the table's steps instead of replaying, when the row's
    history agrees with the table's indices and its stored state with the
    table's digest; otherwise (no table, a row beyond or disagreeing with
    it) by replay, as without a table, which checks the row exactly: a
    wrong table costs time, never bytes. flags[1] counts the extensions
    copied from the table.

    Fills row_inst (each row's instance); new entries get ent_beg -1 (no
    JSON written yet, see render_batch), moved ones keep theirs; new
    territory regions' (start, length) go to new_reg. Returns (status, top,
    reg, rtop, nreg, ftop): status 0, or -1 - row for a row that does not
    check out (the caller then takes the slow path, which names the
    problem). The caller leaves room for the sum of the rows' history
    lengths above top, and for a packed state per game above ftop."""
    buf = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)
    nreg = 0
    cur = -1
    s = s0
    cl = 0  # s is the state after cl steps of the current instance
    nlegal = -1
    grown = False  # the current game's instance was extended in this batch
    nrow = order.shape[0]
    for q in range(nrow + 1):
        g = rslot[order[q]] if q < nrow else -1
        if g != cur:
            if grown and cl == sl_len[cur]:  # keep where the game stopped
                end = _pack(s, fpool, ftop)
                if end >= 0:
                    fin_off[cur] = ftop
                    fin_len[cur] = cl
                    ftop = end
            if q == nrow:
                break
            cur = g
            s = s0
            cl = 0
            nlegal = -1
            grown = False
        r = order[q]
        a0 = ho[r]
        k = ho[r + 1] - a0
        ist = sl_start[g]
        ln = sl_len[g]
        for j in range(min(k, ln)):
            if hv[a0 + j] != st_idx[ist + j]:
                ln = 0  # another history under this game id: a new instance
                sl_len[g] = 0
                sl_hashed[g] = 0
                fin_off[g] = -1
                s = s0
                cl = 0
                nlegal = -1
                break
        if ln == 0:
            ist = top
            sl_start[g] = ist
        t0 = trow[r, 0]
        want = min(trow[r, 1], k + 1)  # the row's steps and its own move's
        if (
            t0 >= 0
            and want >= k
            and (k > ln or (k == ln and want > ln and rmove_ok[r]))
            and sl_hashed[g] >= ln
            and _table_agrees(hv, a0, ln, k, table.idx, t0)
            and (
                _same_state(s0, states[r])
                if k == 0
                else _hash_is(states[r], keys, table.hsh[t0 + k - 1])
            )
        ):
            if ist + ln != top:  # continue the instance at the end
                _move_entries(ist, top, ln, st_mv, st_aux, st_idx, st_hash, ent_beg, ent_end)
                ist = top
                sl_start[g] = ist
            reg, rtop = _copy_steps(
                table, t0, ln, want, ist, st_mv, st_aux, st_idx, st_hash, ent_beg, reg, rtop
            )
            sl_len[g] = want
            sl_hashed[g] = want
            top = ist + want
            flags[0] = 1
            flags[1] += 1
            s = states[r]
            cl = k
            nlegal = -1
            grown = False
        elif k <= ln:
            if k == cl:
                ok = _same_state(s, states[r])
            elif k == 0:
                ok = _same_state(s0, states[r])
            elif k <= sl_hashed[g]:
                ok = _hash_is(states[r], keys, st_hash[ist + k - 1])
            else:  # digest the instance, comparing this row's state on the way
                t = s0
                ok = False
                for j in range(ln):
                    t = apply_move(geo, t, st_mv[ist + j])
                    state_hash(t, keys, st_hash[ist + j])
                    if j + 1 == k:
                        ok = _same_state(t, states[r])
                sl_hashed[g] = ln
                flags[0] = 1
            if not ok:
                return -1 - r, top, reg, rtop, nreg, ftop
            s = states[r]
            cl = k
            nlegal = -1
        else:
            if ist + ln != top:  # something follows: continue the instance at the end
                _move_entries(ist, top, ln, st_mv, st_aux, st_idx, st_hash, ent_beg, ent_end)
                ist = top
                sl_start[g] = ist
            if cl < ln and fin_off[g] >= 0 and fin_len[g] == ln:
                s = _unpack(fpool, fin_off[g], s0)
                cl = ln
                nlegal = -1
            hashing = flags[0] != 0
            if sl_hashed[g] < cl:  # digests from the state at hand on only
                hashing = False
            for j in range(cl, ln):
                s = apply_move(geo, s, st_mv[ist + j])
                nlegal = -1
                if hashing and j >= sl_hashed[g]:
                    state_hash(s, keys, st_hash[ist + j])
            for j in range(ln, k):
                if s[L.STATUS] != L.ST_ACTIVE:
                    return -1 - r, top, reg, rtop, nreg, ftop
                if nlegal < 0:
                    nlegal = legal_moves_into(geo, s, buf)
                i = hv[a0 + j]
                if i < 0 or i >= nlegal:
                    return -1 - r, top, reg, rtop, nreg, ftop
                e = ist + j
                for f in range(L.MF):
                    st_mv[e, f] = buf[i, f]
                st_idx[e] = i
                ent_beg[e] = -1
                r0 = rtop
                if rtop + s[L.NCELL] > reg.shape[0]:
                    reg = _grown(reg, rtop, s[L.NCELL])
                rtop = _facts(geo, s, st_mv[e], buf, nlegal, st_aux[e], reg, rtop)
                if rtop < 0:
                    return -1 - r, top, reg, r0, nreg, ftop
                if rtop > r0:
                    new_reg[nreg, 0] = r0
                    new_reg[nreg, 1] = rtop - r0
                    nreg += 1
                s = apply_move(geo, s, st_mv[e])
                nlegal = -1
                if hashing:
                    state_hash(s, keys, st_hash[e])
            if hashing:
                sl_hashed[g] = k
            sl_len[g] = k
            top = ist + k
            cl = k
            grown = True
            if not _same_state(s, states[r]):
                return -1 - r, top, reg, rtop, nreg, ftop
        if rmove_ok[r] and k < sl_len[g] and _same_move(st_mv[ist + k], rmove[r]):
            # the kept replay's next step: legal in this state, facts known
            for f in range(NAUX):
                rm_aux[r, f] = st_aux[ist + k, f]
        elif rmove_ok[r]:
            if nlegal < 0:
                nlegal = legal_moves_into(geo, s, buf)
            if _legal_index(buf, nlegal, rmove[r]) < 0:
                return -1 - r, top, reg, rtop, nreg, ftop
            r0 = rtop
            if rtop + s[L.NCELL] > reg.shape[0]:
                reg = _grown(reg, rtop, s[L.NCELL])
            rtop = _facts(geo, s, rmove[r], buf, nlegal, rm_aux[r], reg, rtop)
            if rtop < 0:
                return -1 - r, top, reg, r0, nreg, ftop
            if rtop > r0:
                new_reg[nreg, 0] = r0
                new_reg[nreg, 1] = rtop - r0
                nreg += 1
        row_inst[r] = ist
    return 0, top, reg, rtop, nreg, ftop


# ---- JSON writers ------------------------------------------------------------------------


@kernel
def _cells(buf, pos, pool, poff, pos_buf, pos_len, geo, start, axis, j0, count):
    """Positions of `count` cells along a line axis from `start`, skipping j0."""
    cur = start
    for _ in range(j0):
        cur = geo[cur, L.G_RAY + axis]
    for i in range(count):
        if i:
            pos = _frag(buf, pos, pool, poff, FR_COMMA)
        pos = _row(buf, pos, pos_buf, pos_len, cur)
        cur = geo[cur, L.G_RAY + axis]
    return pos


@kernel
def write_move(
    buf,
    pos,
    mv,
    aux,
    n,
    reg,
    geo,
    pool,
    poff,
    var_frag,
    var_hole,
    var_nseg,
    pos_buf,
    pos_len,
    key_buf,
    key_len,
):
    """One move's JSON (move_json.move_to_json, snake_case) at buf[pos:]."""
    t = mv[L.F_TYPE]
    p = mv[L.F_PLAYER]
    a = mv[L.F_A]
    b = mv[L.F_B]
    if t == L.MT_PLACE_RING:
        v = V_PLACE
    elif t == L.MT_MOVE_STACK:
        v = V_MOVE
    elif t == L.MT_OVERTAKING_CAPTURE:
        v = V_CAPTURE0
    elif t == L.MT_CONTINUE_CAPTURE:
        v = V_CAPTURE0 + 1
    elif t == L.MT_SKIP_PLACEMENT:
        v = V_SKIPPL if aux[A_FIRSTOWN] >= 0 else V_SKIPPL_NONE
    elif t == L.MT_PROCESS_LINE:
        v = V_PLINE
    elif t == L.MT_CHOOSE_LINE_OPTION:
        v = V_CLO_MIN if b >= 0 else V_CLO_ALL
    elif t == L.MT_CHOOSE_TERRITORY:
        v = V_TERR
    elif t == L.MT_ELIMINATE:
        v = V_ELIM_LINE if a == L.CTX_LINE else V_ELIM
    elif t == L.MT_FORCED_ELIM:
        v = V_FE_LISTED if aux[A_FE] == 1 else V_FE
    elif t == L.MT_RECOVERY_SLIDE:
        if a == L.RM_LINE:
            v = V_REC_LINE2 if b == 2 else V_REC_LINE
        else:
            v = V_REC_STACK
    elif t == L.MT_SKIP_RECOVERY:
        v = V_SKIPREC
    else:
        v = _BK_VARIANT[t]
    for i in range(var_nseg[v]):
        pos = _frag(buf, pos, pool, poff, var_frag[v, i])
        h = var_hole[v, i]
        if h < 0:
            continue
        if h == H_N:
            pos = _int(buf, pos, n)
        elif h == H_NM1:
            pos = _int(buf, pos, n - 1)
        elif h == H_PLAYER:
            pos = _int(buf, pos, p)
        elif h == H_POS_FROM:
            pos = _row(buf, pos, pos_buf, pos_len, mv[L.F_FROM])
        elif h == H_POS_TO:
            pos = _row(buf, pos, pos_buf, pos_len, mv[L.F_TO])
        elif h == H_POS_CAP:
            pos = _row(buf, pos, pos_buf, pos_len, mv[L.F_CAP])
        elif h == H_KEY_FROM:
            pos = _row(buf, pos, key_buf, key_len, mv[L.F_FROM])
        elif h == H_KEY_TO:
            pos = _row(buf, pos, key_buf, key_len, mv[L.F_TO])
        elif h == H_KEY_CAP:
            pos = _row(buf, pos, key_buf, key_len, mv[L.F_CAP])
        elif h == H_KEY_C:
            pos = _row(buf, pos, key_buf, key_len, mv[L.F_C])
        elif h == H_PLACED:
            pos = _bool(buf, pos, pool, poff, aux[A_PLACED] == 1)
        elif h == H_A:
            pos = _int(buf, pos, a)
        elif h == H_B:
            pos = _int(buf, pos, b)
        elif h == H_PHASE:
            pos = _frag(buf, pos, pool, poff, FR_PHASE0 + aux[A_PHASE])
        elif h == H_POS_LSTART:
            pos = _row(buf, pos, pos_buf, pos_len, aux[A_LSTART])
        elif h == H_KEY_LSTART:
            pos = _row(buf, pos, key_buf, key_len, aux[A_LSTART])
        elif h == H_LINE_CELLS:
            pos = _cells(
                buf,
                pos,
                pool,
                poff,
                pos_buf,
                pos_len,
                geo,
                aux[A_LSTART],
                aux[A_LAXIS],
                0,
                aux[A_LLEN],
            )
        elif h == H_LLEN:
            pos = _int(buf, pos, aux[A_LLEN])
        elif h == H_DIR:
            pos = _frag(buf, pos, pool, poff, FR_DIR0 + aux[A_LAXIS])
        elif h == H_COLLAPSED_MARKERS:
            # option 2 collapses lineLength markers from offset b, else the whole line
            j0, count = 0, aux[A_LLEN]
            if b >= 0:
                j0, count = b, aux[A_LINELEN]
            pos = _cells(
                buf, pos, pool, poff, pos_buf, pos_len, geo, aux[A_LSTART], aux[A_LAXIS], j0, count
            )
        elif h == H_COLLAPSE_POSITIONS:
            pos = _cells(
                buf,
                pos,
                pool,
                poff,
                pos_buf,
                pos_len,
                geo,
                aux[A_RSTART],
                aux[A_RAXIS],
                0,
                aux[A_LINELEN],
            )
        elif h == H_REGION_CELLS:
            r0 = aux[A_REG]
            for i2 in range(aux[A_REGLEN]):
                if i2:
                    pos = _frag(buf, pos, pool, poff, FR_COMMA)
                pos = _row(buf, pos, pos_buf, pos_len, reg[r0 + i2])
        elif h == H_POS_RFIRST:
            pos = _row(buf, pos, pos_buf, pos_len, reg[aux[A_REG]])
        elif h == H_KEY_RFIRST:
            pos = _row(buf, pos, key_buf, key_len, reg[aux[A_REG]])
        elif h == H_TORD:
            pos = _int(buf, pos, aux[A_TORD])
        elif h == H_POS_FIRSTOWN:
            pos = _row(buf, pos, pos_buf, pos_len, aux[A_FIRSTOWN])
        elif h == H_CTX:
            pos = _frag(buf, pos, pool, poff, FR_CTX0 + a)
        elif h == H_RMODE:
            pos = _frag(buf, pos, pool, poff, FR_RMODE0 + a)
    return pos


@njit(cache=True, inline="always")
def _piece(buf, pos, spool, soff, i):
    return _copy(buf, pos, spool, soff[i], soff[i + 1] - soff[i])


@kernel
def _chain(buf, pos, s, st_mv, ist, k, pool, poff, pos_buf, pos_len, key_buf, key_len):
    """chain_capture_state: null, or the trailing captures of the mover."""
    if s[L.CHAIN] < 0 or k == 0:
        return _frag(buf, pos, pool, poff, FR_NULL)
    p = s[L.CUR]
    cnt = 0
    j = ist + k - 1
    while j >= ist:
        t = st_mv[j, L.F_TYPE]
        if (t != L.MT_OVERTAKING_CAPTURE and t != L.MT_CONTINUE_CAPTURE) or st_mv[
            j, L.F_PLAYER
        ] != p:
            break
        cnt += 1
        if t == L.MT_OVERTAKING_CAPTURE:
            break
        j -= 1
    if cnt == 0:
        return _frag(buf, pos, pool, poff, FR_NULL)
    e0 = ist + k - cnt
    e1 = ist + k - 1
    pos = _frag(buf, pos, pool, poff, FR_CC1)
    pos = _int(buf, pos, p)
    pos = _frag(buf, pos, pool, poff, FR_CC2)
    pos = _row(buf, pos, pos_buf, pos_len, st_mv[e0, L.F_FROM])
    pos = _frag(buf, pos, pool, poff, FR_CC3)
    pos = _row(buf, pos, pos_buf, pos_len, st_mv[e1, L.F_TO])
    pos = _frag(buf, pos, pool, poff, FR_CC4)
    for e in range(e0, e1 + 1):
        if e > e0:
            pos = _frag(buf, pos, pool, poff, FR_COMMA)
        pos = _frag(buf, pos, pool, poff, FR_SG1)
        pos = _row(buf, pos, pos_buf, pos_len, st_mv[e, L.F_FROM])
        pos = _frag(buf, pos, pool, poff, FR_SG2)
        pos = _row(buf, pos, pos_buf, pos_len, st_mv[e, L.F_CAP])
        pos = _frag(buf, pos, pool, poff, FR_SG3)
        pos = _row(buf, pos, pos_buf, pos_len, st_mv[e, L.F_TO])
        pos = _frag(buf, pos, pool, poff, FR_SG4)
    pos = _frag(buf, pos, pool, poff, FR_CC5)
    for e in range(e0, e1 + 1):
        if e > e0:
            pos = _frag(buf, pos, pool, poff, FR_COMMA)
        pos = _frag(buf, pos, pool, poff, FR_Q)
        pos = _row(buf, pos, key_buf, key_len, st_mv[e, L.F_FROM])
        pos = _frag(buf, pos, pool, poff, FR_Q)
    pos = _frag(buf, pos, pool, poff, FR_RBRACK)
    return _frag(buf, pos, pool, poff, FR_RBRACE)


@kernel
def _board(buf, pos, s, n, m, np_, order, pool, poff, pos_buf, pos_len, key_buf, key_len):
    """stacks (insertion order), markers, collapsed spaces, eliminated rings."""
    ks = _stack_order(s, n, order)
    for i in range(ks):
        c = order[i]
        if i:
            pos = _frag(buf, pos, pool, poff, FR_COMMA)
        pos = _frag(buf, pos, pool, poff, FR_Q)
        pos = _row(buf, pos, key_buf, key_len, c)
        pos = _frag(buf, pos, pool, poff, FR_STK1)
        pos = _row(buf, pos, pos_buf, pos_len, c)
        pos = _frag(buf, pos, pool, poff, FR_STK2)
        h = s[L.o_height(n) + c]
        base = ring_base(s, c)
        for j in range(h):
            if j:
                pos = _frag(buf, pos, pool, poff, FR_COMMA)
            pos = _int(buf, pos, s[base + j])
        top = s[base + h - 1]
        cap = 0
        for j in range(h - 1, -1, -1):
            if s[base + j] != top:
                break
            cap += 1
        pos = _frag(buf, pos, pool, poff, FR_STK3)
        pos = _int(buf, pos, h)
        pos = _frag(buf, pos, pool, poff, FR_STK4)
        pos = _int(buf, pos, cap)
        pos = _frag(buf, pos, pool, poff, FR_STK5)
        pos = _int(buf, pos, top)
        pos = _frag(buf, pos, pool, poff, FR_RBRACE)
    pos = _frag(buf, pos, pool, poff, FR_S_MARKERS)
    first = True
    for c in range(n):
        v = s[L.o_marker(n) + c]
        if v != 0:
            if not first:
                pos = _frag(buf, pos, pool, poff, FR_COMMA)
            first = False
            pos = _frag(buf, pos, pool, poff, FR_Q)
            pos = _row(buf, pos, key_buf, key_len, c)
            pos = _frag(buf, pos, pool, poff, FR_MK1)
            pos = _int(buf, pos, v)
            pos = _frag(buf, pos, pool, poff, FR_MK2)
            pos = _row(buf, pos, pos_buf, pos_len, c)
            pos = _frag(buf, pos, pool, poff, FR_MK3)
    pos = _frag(buf, pos, pool, poff, FR_S_COLL)
    first = True
    for c in range(n):
        v = s[L.o_collapsed(n) + c]
        if v != 0:
            if not first:
                pos = _frag(buf, pos, pool, poff, FR_COMMA)
            first = False
            pos = _frag(buf, pos, pool, poff, FR_Q)
            pos = _row(buf, pos, key_buf, key_len, c)
            pos = _frag(buf, pos, pool, poff, FR_QCOLON)
            pos = _int(buf, pos, v)
    pos = _frag(buf, pos, pool, poff, FR_S_ELIM)
    first = True
    for p in range(1, np_ + 1):
        v = s[L.ELIM + p]
        if v > 0:
            if not first:
                pos = _frag(buf, pos, pool, poff, FR_COMMA)
            first = False
            pos = _frag(buf, pos, pool, poff, FR_Q)
            pos = _int(buf, pos, p)
            pos = _frag(buf, pos, pool, poff, FR_QCOLON)
            pos = _int(buf, pos, v)
    return pos


@kernel
def _players_and_rest(buf, pos, s, np_, pool, poff):
    """players .. current_player (before the move history)."""
    for p in range(1, np_ + 1):
        ident = p
        if np_ >= 2 and s[L.SWAP_DONE] != 0:
            if p == 1:
                ident = 2
            elif p == 2:
                ident = 1
        if p > 1:
            pos = _frag(buf, pos, pool, poff, FR_COMMA)
        pos = _frag(buf, pos, pool, poff, FR_PL1)
        pos = _int(buf, pos, ident)
        pos = _frag(buf, pos, pool, poff, FR_PL2)
        pos = _int(buf, pos, ident)
        pos = _frag(buf, pos, pool, poff, FR_PL3)
        pos = _int(buf, pos, p)
        pos = _frag(buf, pos, pool, poff, FR_PL4)
        pos = _int(buf, pos, s[L.HAND + p])
        pos = _frag(buf, pos, pool, poff, FR_PL5)
        pos = _int(buf, pos, s[L.ELIM + p])
        pos = _frag(buf, pos, pool, poff, FR_PL6)
        pos = _int(buf, pos, s[L.TERR + p])
        pos = _frag(buf, pos, pool, poff, FR_RBRACE)
    pos = _frag(buf, pos, pool, poff, FR_S_PHASE)
    pos = _frag(buf, pos, pool, poff, FR_PHASE0 + s[L.PHASE])
    pos = _frag(buf, pos, pool, poff, FR_S_CUR)
    return _int(buf, pos, s[L.CUR])


@njit(cache=True)
def render_batch(
    buf,
    scratch,
    states,
    ho,
    row_inst,
    ent_beg,
    ent_end,
    spos,
    st_mv,
    st_aux,
    reg,
    rmove,
    rmove_ok,
    rm_aux,
    spool,
    soff,
    gid_s,
    out_s,
    meta_pre,
    meta_post,
    seed,
    move_number,
    ply,
    zob,
    geo,
    pool,
    poff,
    var_frag,
    var_hole,
    var_nseg,
    pos_buf,
    pos_len,
    key_buf,
    key_len,
    line_end,
):
    """Every row's sample line, in row order, at buf[0:]. Returns (buf,
    scratch, end, spos); line_end[r] is the end of row r's line.

    Each store entry's move JSON (with its leading comma after the first
    move) is written once, at scratch[ent_beg[e]:ent_end[e]] (ent_beg -1: not
    yet), and kept there across batches up to spos; a row copies the runs of
    its history's entries (one run when they were written in one go)."""
    B = states.shape[0]
    n = states[0, L.NCELL] if B else 0
    m = states[0, L.MAXH] if B else 0
    move_bound = 4096 + 64 * n
    order = np.empty(max(n, 1), dtype=np.int64)
    smax = 0
    for i in range(soff.shape[0] - 1):
        smax = max(smax, soff[i + 1] - soff[i])
    pos = 0
    for r in range(B):
        s = states[r]
        np_ = s[L.NP]
        k = ho[r + 1] - ho[r]
        ist = row_inst[r]
        hbytes = 0
        for j in range(k):
            e = ist + j
            if ent_beg[e] < 0:
                scratch = _ensure(scratch, spos, move_bound)
                ent_beg[e] = spos
                if j:
                    spos = _frag(scratch, spos, pool, poff, FR_COMMA)
                spos = write_move(
                    scratch,
                    spos,
                    st_mv[e],
                    st_aux[e],
                    j + 1,
                    reg,
                    geo,
                    pool,
                    poff,
                    var_frag,
                    var_hole,
                    var_nseg,
                    pos_buf,
                    pos_len,
                    key_buf,
                    key_len,
                )
                ent_end[e] = spos
            hbytes += ent_end[e] - ent_beg[e]
        buf = _ensure(
            buf, pos, hbytes + 16384 + n * (400 + 4 * m) + k * 256 + move_bound + 8 * smax
        )
        pos = _frag(buf, pos, pool, poff, FR_S_OPEN)
        pos = _piece(buf, pos, spool, soff, gid_s[r])
        pos = _frag(buf, pos, pool, poff, FR_S_BOARD)
        pos = _board(buf, pos, s, n, m, np_, order, pool, poff, pos_buf, pos_len, key_buf, key_len)
        pos = _frag(buf, pos, pool, poff, FR_S_PLAYERS)
        pos = _players_and_rest(buf, pos, s, np_, pool, poff)
        pos = _frag(buf, pos, pool, poff, FR_S_HIST)
        if k > 0:  # the history: runs of consecutive entries' JSON
            ha = ent_beg[ist]
            hb = ent_end[ist]
            for e in range(ist + 1, ist + k):
                if ent_beg[e] != hb:
                    pos = _copy(buf, pos, scratch, ha, hb - ha)
                    ha = ent_beg[e]
                hb = ent_end[e]
            pos = _copy(buf, pos, scratch, ha, hb - ha)
        pos = _frag(buf, pos, pool, poff, FR_S_STATUS)
        pos = _frag(buf, pos, pool, poff, FR_ACTIVE if s[L.STATUS] == L.ST_ACTIVE else FR_COMPLETED)
        pos = _frag(buf, pos, pool, poff, FR_S_WINNER)
        pos = _opt(buf, pos, pool, poff, s[L.WINNER])
        pos = _frag(buf, pos, pool, poff, FR_S_CREATED)
        pos = _int(buf, pos, np_)
        pos = _frag(buf, pos, pool, poff, FR_S_RIP)
        pos = _int(buf, pos, s[L.RPP] * np_)
        pos = _frag(buf, pos, pool, poff, FR_S_TRE)
        pos = _int(buf, pos, s[L.TOTAL_ELIM])
        pos = _frag(buf, pos, pool, poff, FR_S_VT)
        pos = _int(buf, pos, s[L.VTHR])
        pos = _frag(buf, pos, pool, poff, FR_S_TVT)
        pos = _int(buf, pos, s[L.TTHR])
        pos = _frag(buf, pos, pool, poff, FR_S_CCS)
        pos = _chain(buf, pos, s, st_mv, ist, k, pool, poff, pos_buf, pos_len, key_buf, key_len)
        pos = _frag(buf, pos, pool, poff, FR_S_MUST)
        must = s[L.MUSTMOVE]
        if must >= 0:
            pos = _frag(buf, pos, pool, poff, FR_Q)
            pos = _row(buf, pos, key_buf, key_len, must)
            pos = _frag(buf, pos, pool, poff, FR_Q)
        else:
            pos = _frag(buf, pos, pool, poff, FR_NULL)
        pos = _frag(buf, pos, pool, poff, FR_S_ZOB)
        if k > 0:
            pos = _uint(buf, pos, zob[r])
        else:
            pos = _frag(buf, pos, pool, poff, FR_NULL)
        pos = _frag(buf, pos, pool, poff, FR_S_LPSR)
        pos = _int(buf, pos, s[L.LPS_ROUND])
        pos = _frag(buf, pos, pool, poff, FR_S_LPSM)
        known = s[L.LPS_MASK_KNOWN]
        val = s[L.LPS_MASK_VAL]
        first = s[L.LPS_FIRST]
        if first == 0:
            first = 1
        any_ = False
        for j in range(np_):
            p = (first - 1 + j) % np_ + 1
            if (known >> p) & 1:
                if any_:
                    pos = _frag(buf, pos, pool, poff, FR_COMMA)
                any_ = True
                pos = _frag(buf, pos, pool, poff, FR_Q)
                pos = _int(buf, pos, p)
                pos = _frag(buf, pos, pool, poff, FR_QCOLON)
                pos = _bool(buf, pos, pool, poff, ((val >> p) & 1) != 0)
        pos = _frag(buf, pos, pool, poff, FR_S_LPSX)
        pos = _opt(buf, pos, pool, poff, s[L.LPS_EXCL_DONE])
        pos = _frag(buf, pos, pool, poff, FR_S_LPSF)
        pos = _opt(buf, pos, pool, poff, s[L.LPS_FIRST])
        pos = _frag(buf, pos, pool, poff, FR_S_LPSC)
        pos = _int(buf, pos, s[L.LPS_CONSEC])
        pos = _frag(buf, pos, pool, poff, FR_S_LPSQ)
        pos = _int(buf, pos, s[L.LPS_REQ])
        pos = _frag(buf, pos, pool, poff, FR_S_LPSP)
        pos = _opt(buf, pos, pool, poff, s[L.LPS_CONSEC_P])
        pos = _frag(buf, pos, pool, poff, FR_S_RULES)
        if np_ == 2:
            pos = _frag(buf, pos, pool, poff, FR_SWAP_T if s[L.SWAP_EN] != 0 else FR_SWAP_F)
        else:
            pos = _frag(buf, pos, pool, poff, FR_NULL)
        pos = _frag(buf, pos, pool, poff, FR_S_PEND)
        pos = _bool(buf, pos, pool, poff, s[L.PENDLINE] != 0)
        pos = _frag(buf, pos, pool, poff, FR_S_OUTCOME)
        pos = _piece(buf, pos, spool, soff, out_s[r])
        pos = _frag(buf, pos, pool, poff, FR_S_GAMEID)
        pos = _piece(buf, pos, spool, soff, gid_s[r])
        pos = _frag(buf, pos, pool, poff, FR_S_MOVENO)
        pos = _int(buf, pos, move_number[r])
        pos = _frag(buf, pos, pool, poff, FR_S_PLY)
        pos = _int(buf, pos, ply[r])
        if rmove_ok[r]:
            pos = _frag(buf, pos, pool, poff, FR_S_MOVE)
            pos = write_move(
                buf,
                pos,
                rmove[r],
                rm_aux[r],
                k + 1,
                reg,
                geo,
                pool,
                poff,
                var_frag,
                var_hole,
                var_nseg,
                pos_buf,
                pos_len,
                key_buf,
                key_len,
            )
        pos = _frag(buf, pos, pool, poff, FR_S_META)
        pos = _piece(buf, pos, spool, soff, meta_pre[r])
        pos = _int(buf, pos, seed[r])
        pos = _piece(buf, pos, spool, soff, meta_post[r])
        pos = _frag(buf, pos, pool, poff, FR_EOL)
        line_end[r] = pos
    return buf, scratch, pos, spos
