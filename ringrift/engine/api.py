"""Thin Python API over the jitted engine, for tools and tests.

    rules = Rules("square8", 2)
    s = rules.new_game()
    while not rules.is_over(s):
        moves = rules.legal(s)          # (k, MF) int32 records
        s = rules.apply(s, moves[0])
    rules.result(s)

AI players and self-play call ``rules.legal_moves_into`` / ``rules.apply_move``
(the jitted functions, with ``rules.geo``) without leaving Numba.
"""

from __future__ import annotations

import numpy as np

from . import layout as L
from .geometry import BOARD_TYPES, board, check_board_type
from .keys import move_key
from .rules import apply_move, legal_moves, legal_moves_into  # noqa: F401

VALID_PLAYER_COUNTS = tuple(range(2, L.MAX_PLAYERS + 1))


class IllegalMoveError(ValueError):
    pass


def _line_length(board_type: str, num_players: int) -> int:
    if board_type in ("square8", "hex8"):
        return 4 if num_players == 2 else 3
    return 4


def new_state(
    board_type: str, num_players: int, *, swap_rule: bool = False, lps_rounds: int = 3
) -> np.ndarray:
    check_board_type(board_type)
    if num_players not in VALID_PLAYER_COUNTS:
        raise ValueError(
            f"unsupported player count {num_players!r}; valid player counts: "
            + ", ".join(map(str, VALID_PLAYER_COUNTS))
        )
    b = board(board_type)
    n = b.ncell
    maxh = b.rings_per_player * num_players
    s = np.zeros(L.state_words(n, maxh), dtype=np.int32)
    s[L.NCELL] = n
    s[L.NDIR] = b.ndir
    s[L.NTDIR] = b.ntdir
    s[L.ISHEX] = int(b.is_hex)
    s[L.NP] = num_players
    s[L.MAXH] = maxh
    s[L.LINELEN] = _line_length(board_type, num_players)
    s[L.RPP] = b.rings_per_player
    # victoryThreshold = round(rpp * (2/3 + (n-1)/3)) = round(rpp * (n+1) / 3)
    s[L.VTHR] = (2 * b.rings_per_player * (num_players + 1) + 3) // 6
    # The reference leaves territoryVictoryMinimum unset in self-play and falls
    # back to the >50% threshold; the traces confirm it.
    s[L.TTHR] = n // 2 + 1
    s[L.PHASE] = L.PH_RING_PLACEMENT
    s[L.CUR] = 1
    s[L.STATUS] = L.ST_ACTIVE
    s[L.MUSTMOVE] = -1
    s[L.CHAIN] = -1
    s[L.LAST_TO] = -1
    s[L.SWAP_EN] = int(bool(swap_rule)) if num_players == 2 else 0
    s[L.LPS_REQ] = lps_rounds
    for p in range(1, num_players + 1):
        s[L.HAND + p] = b.rings_per_player
    return s


class Rules:
    """One board type and player count; holds the geometry table."""

    def __init__(
        self, board_type: str, num_players: int = 2, *, swap_rule: bool = False, lps_rounds: int = 3
    ):
        check_board_type(board_type)
        if num_players not in VALID_PLAYER_COUNTS:
            raise ValueError(
                f"unsupported player count {num_players!r}; valid player counts: "
                + ", ".join(map(str, VALID_PLAYER_COUNTS))
            )
        self.board_type = board_type
        self.num_players = num_players
        self.swap_rule = swap_rule
        self.lps_rounds = lps_rounds
        self.board = board(board_type)
        self.geo = self.board.geo

    def new_game(self) -> np.ndarray:
        return new_state(
            self.board_type, self.num_players, swap_rule=self.swap_rule, lps_rounds=self.lps_rounds
        )

    # -- queries ---------------------------------------------------------
    def legal(self, s: np.ndarray) -> np.ndarray:
        return legal_moves(self.geo, s)

    def keys(self, s: np.ndarray) -> list[str]:
        return [move_key(self.board, s, m) for m in self.legal(s)]

    def key(self, s: np.ndarray, mv) -> str:
        return move_key(self.board, s, mv)

    def move_from_key(self, s: np.ndarray, key: str) -> np.ndarray:
        for m in self.legal(s):
            if move_key(self.board, s, m) == key:
                return m
        raise IllegalMoveError(
            f"illegal move {key!r} in phase {phase_name(s)} for player {int(s[L.CUR])}"
        )

    def is_over(self, s: np.ndarray) -> bool:
        return int(s[L.STATUS]) != L.ST_ACTIVE

    def current_player(self, s: np.ndarray) -> int:
        return int(s[L.CUR])

    def phase(self, s: np.ndarray) -> str:
        return phase_name(s)

    # -- transitions -------------------------------------------------------
    def apply(self, s: np.ndarray, mv) -> np.ndarray:
        """Apply a legal move; an illegal one raises and leaves s unchanged."""
        mv = np.asarray(mv, dtype=np.int32)
        legal = self.legal(s)
        if not (legal == mv).all(axis=1).any():
            raise IllegalMoveError(
                f"illegal move {describe(mv)} in phase {phase_name(s)} for player {int(s[L.CUR])}"
            )
        return apply_move(self.geo, s, mv)

    def apply_key(self, s: np.ndarray, key: str) -> np.ndarray:
        return apply_move(self.geo, s, self.move_from_key(s, key))

    def result(self, s: np.ndarray) -> dict:
        n = self.num_players
        return {
            "status": "active" if s[L.STATUS] == L.ST_ACTIVE else "completed",
            "winner": int(s[L.WINNER]) or None,
            "end_reason": L.END_REASON_NAMES[int(s[L.END_REASON])],
            "move_count": int(s[L.MOVE_COUNT]),
            "ranks": final_ranks(s),
            "players": [
                {
                    "playerNumber": p,
                    "ringsInHand": int(s[L.HAND + p]),
                    "eliminatedRings": int(s[L.ELIM + p]),
                    "territorySpaces": int(s[L.TERR + p]),
                }
                for p in range(1, n + 1)
            ],
        }


def final_ranks(s: np.ndarray) -> list[int]:
    """Rank per seat (R175-R179): the winner first, then territory spaces,
    eliminated rings, own markers on the board, and the turn a seat lost its
    last ring (never beats any turn, later beats earlier). Full ties share a
    rank and the next rank is skipped (1-2-2-4); seat order never decides."""
    n = int(s[L.NP])
    markers = L.block(s, L.o_marker)
    winner = int(s[L.WINNER])

    def score(p):
        gone = int(s[L.ELIMTURN + p])
        return (
            p == winner,
            int(s[L.TERR + p]),
            int(s[L.ELIM + p]),
            int((markers == p).sum()),
            gone == 0,
            gone,
        )

    scores = {p: score(p) for p in range(1, n + 1)}
    return [1 + sum(scores[q] > scores[p] for q in scores) for p in range(1, n + 1)]


def stack_rings(s: np.ndarray, c: int) -> np.ndarray:
    """Ring owners of the stack on cell c, bottom first (a view; empty if none)."""
    n = int(s[L.NCELL])
    base = L.o_pool(n) + int(s[L.o_start(n) + c])
    return s[base : base + int(s[L.o_height(n) + c])]


def set_stacks(s: np.ndarray, stacks: dict) -> None:
    """Put stacks {cell: ring owners bottom first} on the board of s, in place
    of whatever stacks it had (stamps are left to the caller)."""
    n, m = int(s[L.NCELL]), int(s[L.MAXH])
    height = np.zeros(n, dtype=np.int32)
    for c, rings in stacks.items():
        height[c] = len(rings)
    if int(height.sum()) > m:
        raise ValueError(f"{int(height.sum())} rings on the board, the game has {m}")
    L.block(s, L.o_height)[:] = height
    starts = L.block(s, L.o_start)
    starts[:] = np.cumsum(height) - height
    pool = L.pool(s)
    pool[:] = 0
    for c in sorted(stacks):
        start = int(starts[c])
        pool[start : start + len(stacks[c])] = stacks[c]


def phase_name(s: np.ndarray) -> str:
    return L.PHASE_NAMES[int(s[L.PHASE])]


def describe(mv) -> str:
    t = int(mv[L.F_TYPE])
    name = L.MOVE_TYPE_NAMES[t] if 0 <= t < len(L.MOVE_TYPE_NAMES) else f"type {t}"
    return f"{name} by p{int(mv[L.F_PLAYER])} (from={int(mv[L.F_FROM])}, to={int(mv[L.F_TO])})"


__all__ = [
    "BOARD_TYPES",
    "IllegalMoveError",
    "Rules",
    "final_ranks",
    "new_state",
    "phase_name",
    "set_stacks",
    "stack_rings",
]
