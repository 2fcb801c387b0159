"""A digest of the rules' behaviour, so ENGINE_VERSION cannot go stale.

``behaviour_digest()`` plays a fixed set of seeded random games on every board
and player count (square8/hex8 with 2-4 players, square19/hexagonal with 2,
and each board with 2 players under the pie rule) and feeds SHA-256, step by
step, the whole legal-move list (the 8-int records in generator order) and the
chosen move, and per game the result: winner, end reason, move count, ranks
and every player's counters. Any change in what is legal, in move order, in
what a move does (it shows in the next lists) or in how a game ends changes the
digest; a refactor that keeps behaviour does not. (List order is behaviour:
samples store moves as indices into the legal list.) The dataset schema pins the
digest of the current ENGINE_VERSION (tests/test_engine_version.py checks it).

Random play still reaches every end reason and every rule (captures and chain
captures, lines, territory, forced elimination, recovery, last player
standing, the pie rule); ``Digest.coverage_table()`` shows how often.

    python -m ringrift.engine.fingerprint     # digest, timing, coverage
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from . import layout as L
from .api import final_ranks, new_state
from .geometry import board
from .rules import MAX_MOVES_BUFFER, apply_move, legal_moves_into

# Changing anything here (configs, game counts, the policy, the cap) changes
# the digest by design: re-pin ENGINE_DIGEST in the same commit.
FORMAT = b"ringrift behaviour digest v1"
CONFIGS = (  # (board type, players, pie rule)
    ("square8", 2, False),
    ("square8", 3, False),
    ("square8", 4, False),
    ("square8", 2, True),
    ("hex8", 2, False),
    ("hex8", 3, False),
    ("hex8", 4, False),
    ("hex8", 2, True),
    ("square19", 2, False),
    ("square19", 2, True),
    ("hexagonal", 2, False),
    ("hexagonal", 2, True),
)
# games per config by board; the large boards' games are ~5x longer, with
# ~5x longer legal lists
GAMES = {"square8": 100, "hex8": 100, "square19": 20, "hexagonal": 20}
MAX_MOVES = 10_000  # the self-play default; random games end far sooner
N_TYPES = len(L.MOVE_TYPE_NAMES)
N_CTX = len(L.CTX_NAMES)
N_RMODE = len(L.RMODE_NAMES)


@njit(cache=True)
def _splitmix64(x):
    """One step of SplitMix64 -> (new state, output). Our own generator rather
    than Numba's np.random, whose draws are not promised to stay the same
    across Numba versions: the digest must move only when the rules do."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x, z ^ (z >> np.uint64(31))


@njit(cache=True)
def _play_recorded(geo, s0, seed, max_moves, chosen):
    """Play one random game from s0. Returns (record, final state): per step
    [k, k legal-move records, chosen index, chosen record] as one int32 array.
    The move is uniform over the legal list, except that an offered pie-rule
    swap is taken half the time (uniformly it would almost never be).
    `chosen` counts the chosen move types, elimination contexts, recovery modes."""
    out = np.empty((MAX_MOVES_BUFFER, L.MF), dtype=np.int32)
    rec = np.empty(1 << 16, dtype=np.int32)
    n = 0
    x = np.uint64(seed)
    s = s0.copy()
    while s[L.STATUS] == L.ST_ACTIVE and s[L.MOVE_COUNT] < max_moves:
        k = legal_moves_into(geo, s, out)
        x, r = _splitmix64(x)
        if out[k - 1, L.F_TYPE] == L.MT_SWAP_SIDES and (r >> np.uint64(63)) == 1:
            i = k - 1
        else:
            i = np.int64(r % np.uint64(k))
        need = n + 2 + (k + 1) * L.MF
        if need > rec.size:
            grown = np.empty(max(2 * rec.size, need), dtype=np.int32)
            grown[:n] = rec[:n]
            rec = grown
        rec[n] = k
        n += 1
        rec[n : n + k * L.MF] = out[:k].ravel()
        n += k * L.MF
        rec[n] = i
        n += 1
        rec[n : n + L.MF] = out[i]
        n += L.MF
        t = out[i, L.F_TYPE]
        chosen[t] += 1
        if t == L.MT_ELIMINATE:
            chosen[N_TYPES + out[i, L.F_A]] += 1
        elif t == L.MT_RECOVERY_SLIDE:
            chosen[N_TYPES + N_CTX + out[i, L.F_A]] += 1
        s = apply_move(geo, s, out[i])
    return rec[:n], s


def _le(a) -> bytes:
    """int32 little-endian bytes, whatever the machine."""
    return np.ascontiguousarray(a, dtype="<i4").tobytes()


def game_seed(seed: int, config_index: int, game: int) -> int:
    # SeedSequence's output is fixed by NumPy's stability policy
    ss = np.random.SeedSequence([int(seed), int(config_index), int(game)])
    return int(ss.generate_state(1, dtype=np.uint64)[0])


@dataclass
class Digest:
    hexdigest: str
    games: int
    steps: int
    legal_moves: int  # legal-move records hashed, over all steps
    seconds: float
    end_reasons: dict = field(default_factory=dict)  # config label -> Counter
    # chosen moves by type, and by elimination context and recovery mode
    chosen: Counter = field(default_factory=Counter)

    def coverage_table(self) -> str:
        reasons = list(L.END_REASON_NAMES[1:])
        head = ["config", "games"] + reasons
        rows = [
            [label, str(sum(c.values()))] + [str(c.get(r, 0)) for r in reasons]
            for label, c in self.end_reasons.items()
        ]
        total = Counter()
        for c in self.end_reasons.values():
            total.update(c)
        rows.append(["total", str(self.games)] + [str(total.get(r, 0)) for r in reasons])
        width = [max(len(x) for x in col) for col in zip(head, *rows)]
        lines = ["  ".join(x.rjust(w) for x, w in zip(r, width)) for r in [head] + rows]
        moves = ", ".join(f"{k} {v}" for k, v in sorted(self.chosen.items()))
        return "\n".join(lines) + f"\nchosen moves: {moves}"


def behaviour_digest(
    games_per_config: dict | int | None = None, seed: int = 0, configs=CONFIGS, lps_rounds: int = 3
) -> Digest:
    """Play the fixed game set and hash it (see the module docstring). The
    defaults are what ENGINE_DIGEST pins; other arguments exist to show the
    digest's sensitivity and to explore."""
    if games_per_config is None:
        games_per_config = GAMES
    t0 = time.perf_counter()
    h = hashlib.sha256(FORMAT)
    chosen = np.zeros(N_TYPES + N_CTX + N_RMODE, dtype=np.int64)
    end_reasons = {}
    games = steps = nlegal = 0
    for ci, (board_type, n_players, swap) in enumerate(configs):
        ngames = (
            games_per_config if isinstance(games_per_config, int) else games_per_config[board_type]
        )
        label = f"{board_type} {n_players}p" + (" pie" if swap else "")
        h.update(f"{label} games={ngames} seed={seed} lps={lps_rounds} cap={MAX_MOVES}\n".encode())
        geo = board(board_type).geo
        s0 = new_state(board_type, n_players, swap_rule=swap, lps_rounds=lps_rounds)
        reasons = end_reasons.setdefault(label, Counter())
        for g in range(ngames):
            rec, s = _play_recorded(geo, s0, np.uint64(game_seed(seed, ci, g)), MAX_MOVES, chosen)
            h.update(_le(rec))
            players = range(1, n_players + 1)
            h.update(
                _le(
                    [
                        s[L.STATUS],
                        s[L.WINNER],
                        s[L.END_REASON],
                        s[L.MOVE_COUNT],
                        s[L.TOTAL_ELIM],
                        *final_ranks(s),
                        *(
                            s[base + p]
                            for base in (L.HAND, L.ELIM, L.TERR, L.ELIMTURN)
                            for p in players
                        ),
                    ]
                )
            )
            reasons[L.END_REASON_NAMES[int(s[L.END_REASON])] or "max_moves"] += 1
            games += 1
            st, nl = _count_steps(rec)
            steps += st
            nlegal += nl
    names = (
        list(L.MOVE_TYPE_NAMES)
        + [f"eliminate({c})" for c in L.CTX_NAMES]
        + [f"recovery({m})" for m in L.RMODE_NAMES]
    )
    return Digest(
        h.hexdigest(),
        games,
        steps,
        nlegal,
        time.perf_counter() - t0,
        end_reasons,
        Counter({names[i]: int(v) for i, v in enumerate(chosen) if v}),
    )


@njit(cache=True)
def _count_steps(rec):
    """(steps, legal-move records) in one game's record."""
    steps = n = i = 0
    while i < rec.size:
        k = rec[i]
        steps += 1
        n += k
        i += 2 + (k + 1) * L.MF
    return steps, n


if __name__ == "__main__":
    behaviour_digest(1, configs=CONFIGS[:1])  # compile (or load) the jitted code
    d = behaviour_digest()
    print(f"digest {d.hexdigest}")
    print(
        f"{d.games} games, {d.steps:,} steps, {d.legal_moves:,} legal-move records "
        f"hashed in {d.seconds:.2f} s"
    )
    print(d.coverage_table())
