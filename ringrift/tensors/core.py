"""One game -> the reference exporter's sample arrays (values, policy, meta).

``GameSpec`` names a recorded game (board, seats, rules options, the chosen
legal-move index at every engine step, optionally the policy targets recorded
at some steps); ``game_chunks`` encodes it in bounded chunks and
``game_arrays`` returns the whole game as the reference's ``samples_to_arrays``
would (used by the parity tests and small callers).

Values follow ``parallel_encoding._value_from_final_ranking`` /
``_compute_multi_player_values``: two players +1 / -1 from the winner; three
or four players (and ``values_mp`` for every player count) rank the seats by
(eliminated rings, territory spaces) in the final state, descending, ties kept
in seat order, value 1 - 2(rank - 1)/(n - 1). A game without a winner gives no
samples (the reference drops it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import layout as L
from ..engine.api import Rules
from .encode import BASE_CHANNELS, NUM_GLOBALS, encoder_kind, tables
from .game import encode_steps
from .policy import constants

HISTORY_LENGTH = 3
MAX_PLAYERS = L.MAX_PLAYERS


@dataclass
class GameSpec:
    game_id: str
    board_type: str
    num_players: int
    choices: np.ndarray  # int32, one legal-move index per engine step
    swap_rule: bool = False
    lps_rounds: int = 3
    # policy targets recorded at some steps (CSR over steps): the legal-move
    # indices and probabilities at step t are pidx/pprob[poff[t]:poff[t+1]]
    poff: np.ndarray | None = None
    pidx: np.ndarray | None = None
    pprob: np.ndarray | None = None


@dataclass(frozen=True)
class EncodeConfig:
    board_type: str
    encoder: str = "v2"  # hex: v2 / v3; square boards: the legacy encoder
    sample_every: int = 1
    history_length: int = HISTORY_LENGTH
    soft: bool = True

    @property
    def kind(self) -> int:
        return encoder_kind(self.board_type, self.encoder)

    @property
    def base_channels(self) -> int:
        return BASE_CHANNELS[self.kind]

    @property
    def channels(self) -> int:
        return self.base_channels * (self.history_length + 1)

    @property
    def size(self) -> int:
        return tables(self.board_type).size

    @property
    def encoder_version(self) -> str:
        # the reference records its requested encoder; square boards ignore it
        return "v3" if (self.encoder == "v3") else "v2"

    def sample_bytes(self) -> int:
        return self.channels * self.size * self.size * 4 + NUM_GLOBALS * 4


def final_values(final: np.ndarray, num_players: int):
    """(winner, per-seat values_mp (4,) float32, value of seat p -> float)."""
    winner = int(final[L.WINNER]) if int(final[L.STATUS]) == L.ST_COMPLETED else 0
    scores = [(int(final[L.ELIM + p]), int(final[L.TERR + p])) for p in range(1, num_players + 1)]
    order = sorted(range(num_players), key=lambda i: scores[i], reverse=True)
    rank = [0] * num_players
    for r, i in enumerate(order, start=1):
        rank[i] = r
    vmp = np.zeros(MAX_PLAYERS, dtype=np.float32)
    for i in range(num_players):
        vmp[i] = 1.0 - 2.0 * (rank[i] - 1) / (num_players - 1)
    if num_players == 2:
        seat_value = {p: (1.0 if winner == p else -1.0) for p in (1, 2)}
    else:
        seat_value = {p: float(vmp[p - 1]) for p in range(1, num_players + 1)}
    return winner, vmp, seat_value


class Chunk:
    """One chunk of a game's samples (arrays are views into reusable buffers)."""

    __slots__ = ("features", "globals", "meta", "pol_off", "pol_idx", "pol_val")

    def __init__(self, features, globals_, meta, pol_off, pol_idx, pol_val):
        self.features = features
        self.globals = globals_
        self.meta = meta
        self.pol_off = pol_off
        self.pol_idx = pol_idx
        self.pol_val = pol_val

    def __len__(self):
        return self.meta.shape[0]


class GameEncoder:
    """Reusable buffers for encoding games of one board/encoder config."""

    def __init__(
        self, cfg: EncodeConfig, chunk_samples: int | None = None, chunk_bytes: int = 64 << 20
    ):
        self.cfg = cfg
        self.kind = cfg.kind
        self.tab = tables(cfg.board_type)
        self.pc = constants(cfg.board_type)
        H = self.tab.size
        C = cfg.base_channels
        cap = chunk_samples or max(1, chunk_bytes // cfg.sample_bytes())
        self.cap = cap
        self.feats = np.zeros((cap, cfg.channels, H, H), dtype=np.float32)
        self.glob = np.zeros((cap, NUM_GLOBALS), dtype=np.float32)
        self.meta = np.zeros((cap, 4), dtype=np.int32)
        self.pol_off = np.zeros(cap + 1, dtype=np.int64)
        self._pol_cap = cap * 8
        self.pol_idx = np.zeros(self._pol_cap, dtype=np.int64)
        self.pol_val = np.zeros(self._pol_cap, dtype=np.float32)
        self.ring = np.zeros((cfg.history_length, C, H, H), dtype=np.float32)
        self.cur = np.zeros((C, H, H), dtype=np.float32)
        self.g = np.zeros(NUM_GLOBALS, dtype=np.float32)
        self._rules = {}
        self._empty_i = np.zeros(1, dtype=np.int64)
        self._empty_f = np.zeros(0, dtype=np.float32)

    def _rules_for(self, spec: GameSpec) -> Rules:
        key = (spec.num_players, bool(spec.swap_rule), int(spec.lps_rounds))
        r = self._rules.get(key)
        if r is None:
            r = Rules(
                spec.board_type,
                spec.num_players,
                swap_rule=bool(spec.swap_rule),
                lps_rounds=int(spec.lps_rounds),
            )
            self._rules[key] = r
        return r

    def chunks(self, spec: GameSpec):
        """Yield Chunk objects (valid until the next one), then return the
        final state (as the generator's return value)."""
        if spec.board_type != self.cfg.board_type:
            raise ValueError(
                f"game {spec.game_id} is {spec.board_type}, encoder is {self.cfg.board_type}"
            )
        rules = self._rules_for(spec)
        s = rules.new_game()
        choices = np.ascontiguousarray(spec.choices, dtype=np.int32)
        soft = self.cfg.soft and spec.poff is not None
        if soft:
            poff = np.ascontiguousarray(spec.poff, dtype=np.int64)
            pidx = np.ascontiguousarray(spec.pidx, dtype=np.int32)
            pprob = np.ascontiguousarray(spec.pprob, dtype=np.float32)
            # a step's distribution can hold up to every legal move
            need = self.cap * max(8, int(np.diff(poff).max(initial=0)) + 1)
            if need > self._pol_cap:
                self._pol_cap = need
                self.pol_idx = np.zeros(need, dtype=np.int64)
                self.pol_val = np.zeros(need, dtype=np.float32)
        else:
            poff, pidx, pprob = self._empty_i, np.zeros(0, dtype=np.int32), self._empty_f
        step, nring, head = 0, 0, 0
        tab = self.tab
        while step < len(choices):
            s, step, nring, head, m, npol = encode_steps(
                rules.geo,
                s,
                step,
                choices,
                self.cfg.sample_every,
                self.kind,
                tab.row,
                tab.col,
                tab.nb,
                self.pc,
                tab.gx,
                tab.gy,
                self.ring,
                nring,
                head,
                poff,
                pidx,
                pprob,
                soft,
                self.feats,
                self.glob,
                self.meta,
                self.pol_off,
                self.pol_idx,
                self.pol_val,
                self.cur,
                self.g,
            )
            if m:
                yield Chunk(
                    self.feats[:m],
                    self.glob[:m],
                    self.meta[:m],
                    self.pol_off[: m + 1],
                    self.pol_idx[:npol],
                    self.pol_val[:npol],
                )
        return s


def game_arrays(spec: GameSpec, cfg: EncodeConfig, encoder: GameEncoder | None = None) -> dict:
    """The whole game as the reference's samples_to_arrays dict (policy arrays
    as the reference writes them in one-hot mode: (N, 1) object arrays;
    in soft mode: (N,) object arrays of int32 / float32 arrays). A game
    without a winner returns {} like the reference."""
    enc = encoder or GameEncoder(cfg)
    parts = []
    gen = enc.chunks(spec)
    while True:
        try:
            ch = next(gen)
        except StopIteration as stop:
            final = stop.value
            break
        parts.append(
            (
                ch.features.copy(),
                ch.globals.copy(),
                ch.meta.copy(),
                ch.pol_off.copy(),
                ch.pol_idx.copy(),
                ch.pol_val.copy(),
            )
        )
    winner, vmp, seat_value = final_values(final, spec.num_players)
    if not winner or not parts:
        return {}
    feats = np.concatenate([p[0] for p in parts])
    glob = np.concatenate([p[1] for p in parts])
    meta = np.concatenate([p[2] for p in parts])
    pols = csr_concat([(p[3], p[4], p[5]) for p in parts])
    return assemble(
        feats,
        glob,
        meta,
        pols,
        seat_value,
        vmp,
        len(spec.choices),
        spec.num_players,
        spec.game_id,
        soft=cfg.soft,
    )


def csr_concat(items):
    """[(offsets, indices, values)] -> one (offsets, indices, values)."""
    offs, idx, val = [np.zeros(1, dtype=np.int64)], [], []
    base = 0
    for off, i, v in items:
        offs.append(off[1:] - off[0] + base)
        idx.append(i[off[0] : off[-1]])
        val.append(v[off[0] : off[-1]])
        base += int(off[-1] - off[0])
    return (
        np.concatenate(offs),
        np.concatenate(idx) if idx else np.zeros(0, np.int64),
        np.concatenate(val) if val else np.zeros(0, np.float32),
    )


PHASE_NAMES = np.array(L.PHASE_NAMES, dtype=object)
MOVE_TYPE_NAMES = np.array(L.MOVE_TYPE_NAMES, dtype=object)


def policy_elements(off, flat, soft: bool, dtype):
    """One of the NPZ's two policy object arrays, element by element, from CSR
    (offsets, indices or values): one-hot mode gives the reference's Python
    scalars (its (N, 1) layout), soft mode ``dtype`` arrays per sample."""
    if not soft:
        return flat[off[:-1]].tolist()
    f = flat.astype(dtype)
    return [f[a:b] for a, b in zip(off[:-1], off[1:])]


def policy_shape(n: int, soft: bool) -> tuple:
    return (n,) if soft else (n, 1)


def policy_object_arrays(pols, soft: bool):
    """CSR policy -> the NPZ's object arrays (indices, values), whole."""
    off, idx, val = pols
    out = []
    for flat, dtype in ((idx, np.int32), (val, np.float32)):
        a = np.empty(policy_shape(len(off) - 1, soft), dtype=object)
        a.reshape(-1)[:] = policy_elements(off, flat, soft, dtype)
        out.append(a)
    return tuple(out)


def assemble(
    feats, glob, meta, pols, seat_value, vmp, total_moves, num_players, game_id, soft: bool
) -> dict:
    n = len(meta)
    players = meta[:, 1].astype(np.int32)
    pi, pv = policy_object_arrays(pols, soft)
    return {
        "features": feats,
        "globals": glob,
        "values": np.array([seat_value[int(p)] for p in players], dtype=np.float32),
        "values_mp": np.repeat(vmp[None, :], n, axis=0),
        "policy_indices": pi,
        "policy_values": pv,
        "move_numbers": meta[:, 0].astype(np.int32),
        "total_game_moves": np.full(n, total_moves, dtype=np.int32),
        "phases": PHASE_NAMES[meta[:, 2]],
        "num_players": np.full(n, num_players, dtype=np.int32),
        "player_numbers": players,
        "game_ids": np.array([game_id] * n, dtype=object),
        "move_types": MOVE_TYPE_NAMES[meta[:, 3]],
    }
