"""Our flat engine state -> the reference's full ``GameState`` JSON.

``state_to_json(rules, s, history_moves, game_id=...)`` writes every field of
the reference's pydantic ``GameState`` in its declaration order, snake_case
(how the seed's samples store it) or, with ``camel=True``, with the model's
aliases (how the reference's trace ``states`` store it).

Rules fields, all reproduced exactly from the state (the export tests compare
them at every step of every recorded reference game): the board (stacks in the
reference's insertion order, rings bottom first, markers, collapsed spaces,
eliminated rings keyed by the credited player), the players' counters, phase,
player to move, status, winner, thresholds, ring totals, chain-capture state,
must-move stack, pending line reward, the last-player-standing fields and the
rules options.

Volatile fields (bookkeeping, never rules data; they may differ from what the
reference would write):

* ``id`` -- the game id we are given (the reference writes "self-play");
* ``created_at``, ``last_move_at`` and every move's ``timestamp`` -- wall-clock
  times in the reference; here a fixed placeholder so exports are
  byte-reproducible;
* ``zobrist_hash`` -- the reference's own position hash (null before the first
  move); here null before the first move, then a 64-bit digest of our state,
  which is a position hash too but not the reference's value;
* every move's ``id`` (see move_json).

Fixed fields the reference's self-play always writes the same way: rng_seed
null, time_control 600/0/"blitz", spectators [], is_rated false, players
"p<n>"/"AI <n>"/"ai"/difficulty 10/ready/600 s, board formed_lines [] and
territories {}, territory_victory_minimum null.

``history_moves`` is the game's move list up to ``s``: either move JSON dicts
(as made by ``move_to_json``, in either case) or ``(state_before, move)``
pairs, which are converted here. The chain-capture state is rebuilt from the
trailing capture moves of that history.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..engine import layout as L
from .json_common import EPOCH, cap_of, pos, stack_rings, stacks_in_order, to_camel
from .move_json import move_to_json

_CAPTURES = ("overtaking_capture", "continue_capture_segment")


def _m(mv: dict, snake: str, camel: str):
    return mv[snake] if snake in mv else mv.get(camel)


def _history_dicts(rules, history_moves, camel: bool) -> list[dict]:
    out = []
    for i, item in enumerate(history_moves):
        if isinstance(item, dict):
            snake_form = "move_number" in item
            if camel and snake_form:
                item = to_camel(item)
            elif not camel and not snake_form:
                raise ValueError("history move dicts must be snake_case for camel=False")
            out.append(item)
        else:
            s_before, mv = item
            out.append(move_to_json(rules, s_before, mv, i + 1, camel=camel))
    return out


def chain_capture_state(s: np.ndarray, moves: list[dict]):
    """The reference's ChainCaptureState (snake_case), or None outside a chain.

    A chain is open while our CHAIN cell is set: in the chain_capture phase,
    and also when the capture that could have continued the chain ended the
    game (the reference keeps the chain state in that final state)."""
    if int(s[L.CHAIN]) < 0:
        return None
    p = int(s[L.CUR])
    chain = []
    for mv in reversed(moves):
        if mv["type"] not in _CAPTURES or mv["player"] != p:
            break
        chain.append(mv)
        if mv["type"] == "overtaking_capture":
            break
    chain.reverse()
    if not chain:
        return None
    segs = []
    for mv in chain:
        segs.append(
            {
                "from_pos": _m(mv, "from_pos", "from"),
                "target": _m(mv, "capture_target", "captureTarget"),
                "landing": mv["to"],
                "captured_cap_height": 0,
            }
        )

    def key(q):
        return f"{q['x']},{q['y']}" if q.get("z") is None else f"{q['x']},{q['y']},{q['z']}"

    return {
        "player_number": p,
        "start_position": segs[0]["from_pos"],
        "current_position": segs[-1]["landing"],
        "segments": segs,
        "available_moves": [],
        "visited_positions": [key(sg["from_pos"]) for sg in segs],
    }


def lps_actor_mask(s: np.ndarray) -> dict:
    """{"p": acted?} for the players seen so far this round, in the order they
    were recorded (from the round's first player on, seat order)."""
    np_ = int(s[L.NP])
    known = int(s[L.LPS_MASK_KNOWN])
    val = int(s[L.LPS_MASK_VAL])
    first = int(s[L.LPS_FIRST]) or 1
    out = {}
    for j in range(np_):
        p = (first - 1 + j) % np_ + 1
        if (known >> p) & 1:
            out[str(p)] = bool((val >> p) & 1)
    return out


def _zobrist(s: np.ndarray) -> int:
    return int.from_bytes(
        hashlib.blake2b(np.ascontiguousarray(s).tobytes(), digest_size=8).digest(), "little"
    )


def _players(s: np.ndarray) -> list[dict]:
    np_ = int(s[L.NP])
    ident = list(range(1, np_ + 1))
    if np_ >= 2 and int(s[L.SWAP_DONE]):
        ident[0], ident[1] = ident[1], ident[0]
    return [
        {
            "id": f"p{ident[p - 1]}",
            "username": f"AI {ident[p - 1]}",
            "type": "ai",
            "player_number": p,
            "is_ready": True,
            "time_remaining": 600,
            "ai_difficulty": 10,
            "rings_in_hand": int(s[L.HAND + p]),
            "eliminated_rings": int(s[L.ELIM + p]),
            "territory_spaces": int(s[L.TERR + p]),
        }
        for p in range(1, np_ + 1)
    ]


def _board(rules, s: np.ndarray) -> dict:
    board = rules.board
    keys = board.keys
    stacks = {}
    for c in stacks_in_order(s):
        rings = stack_rings(s, c)
        stacks[keys[c]] = {
            "position": pos(board, c),
            "rings": rings,
            "stack_height": len(rings),
            "cap_height": cap_of(rings),
            "controlling_player": rings[-1],
        }
    mk = L.block(s, L.o_marker)
    markers = {
        keys[c]: {"player": int(mk[c]), "position": pos(board, c), "type": "regular"}
        for c in np.flatnonzero(mk)
    }
    col = L.block(s, L.o_collapsed)
    collapsed = {keys[c]: int(col[c]) for c in np.flatnonzero(col)}
    elim = {
        str(p): int(s[L.ELIM + p]) for p in range(1, int(s[L.NP]) + 1) if int(s[L.ELIM + p]) > 0
    }
    return {
        "type": rules.board_type,
        "size": board.size,
        "stacks": stacks,
        "markers": markers,
        "collapsed_spaces": collapsed,
        "eliminated_rings": elim,
        "formed_lines": [],
        "territories": {},
    }


def state_to_json(
    rules,
    s: np.ndarray,
    history_moves,
    *,
    game_id: str,
    camel: bool = False,
    created_at: str = EPOCH,
) -> dict:
    s = np.asarray(s)
    moves = _history_dicts(rules, history_moves, camel)
    np_ = int(s[L.NP])
    active = int(s[L.STATUS]) == L.ST_ACTIVE

    def opt(v):
        v = int(v)
        return v if v else None

    ccs = chain_capture_state(s, moves)  # reads either spelling
    must = int(s[L.MUSTMOVE])
    last_ts = moves[-1].get("timestamp", created_at) if moves else created_at
    out = {
        "id": game_id,
        "board_type": rules.board_type,
        "rng_seed": None,
        "board": _board(rules, s),
        "players": _players(s),
        "current_phase": L.PHASE_NAMES[int(s[L.PHASE])],
        "current_player": int(s[L.CUR]),
        "move_history": [],
        "time_control": {"initial_time": 600, "increment": 0, "type": "blitz"},
        "spectators": [],
        "game_status": "active" if active else "completed",
        "winner": opt(s[L.WINNER]),
        "created_at": created_at,
        "last_move_at": last_ts or created_at,
        "is_rated": False,
        "max_players": np_,
        "total_rings_in_play": int(s[L.RPP]) * np_,
        "total_rings_eliminated": int(s[L.TOTAL_ELIM]),
        "victory_threshold": int(s[L.VTHR]),
        "territory_victory_threshold": int(s[L.TTHR]),
        "territory_victory_minimum": None,
        "chain_capture_state": ccs,
        "must_move_from_stack_key": rules.board.keys[must] if must >= 0 else None,
        "zobrist_hash": _zobrist(s) if moves else None,
        "lps_round_index": int(s[L.LPS_ROUND]),
        "lps_current_round_actor_mask": lps_actor_mask(s),
        "lps_exclusive_player_for_completed_round": opt(s[L.LPS_EXCL_DONE]),
        "lps_current_round_first_player": opt(s[L.LPS_FIRST]),
        "lps_consecutive_exclusive_rounds": int(s[L.LPS_CONSEC]),
        "lps_rounds_required": int(s[L.LPS_REQ]),
        "lps_consecutive_exclusive_player": opt(s[L.LPS_CONSEC_P]),
        # the reference sets the pie-rule option only in 2-player games
        "rules_options": {"swapRuleEnabled": bool(s[L.SWAP_EN])} if np_ == 2 else None,
        "pending_line_reward_elimination": bool(s[L.PENDLINE]),
    }
    if camel:
        out = to_camel(out)
        out["moveHistory"] = moves
    else:
        out["move_history"] = moves
    return out
