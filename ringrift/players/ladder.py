"""The difficulty ladder (levels 1-10), engine modes and difficulty bands.

    level 1      random
    level 2      heuristic: one-ply greedy (randomness 0.1, weight noise 0.1)
    level 3      minimax depth 2, beam 4, 80 nodes (randomness 0.05, noise 0.05)
    level 4      minimax depth 2, beam 8, 250 nodes (randomness 0.02)
    level 5-10   MCTS, PUCT with heuristic priors and progressive widening,
                 64 * 2**(level - 5) visits (64 ... 2048); weight noise 0.05 and
                 visit-proportional sampling in the first 8 engine steps keep
                 self-play games apart. A search starts from the subtree the
                 game's last search grew for the moves played since, when it
                 was the same seat's (tree reuse), so the root's visits cost
                 fewer new simulations.
                 The reference's neural tiers map here; ONNX networks play
                 in engine mode neural (below).

Depth 2 is the mover's whole place-then-move turn; a third step (the next
player's placement) costs a full placement scan and barely changes the static
value, so budgets buy width (beam) rather than depth. Every level's weights
come from the board's profile in profiles/*.json.

Engine modes pick the level of every seat for one game (``seat_levels``):

    mixed      each seat draws a level uniformly from the band
    random     every seat plays level 1
    heuristic  every seat plays level 2
    mcts       every seat draws an MCTS level from the band (the light band has
               none, so it uses the cheapest, level 5)
    diverse    seats get distinct levels from the band where possible, so no
               two seats play the same way
    neural     every seat plays an ONNX network (NEURAL_LEVEL, recorded as level
               11; the dataset names the model, ringrift/neural/)

Bands: ``light`` = levels 1-4 (cheap: bulk self-play), ``full`` = 1-10.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from ..engine.geometry import check_board_type
from . import params as P

ENGINE_MODES = ("mixed", "random", "heuristic", "mcts", "diverse", "neural")
NEURAL_MODE = "neural"
NEURAL_LEVEL = 11  # seat_levels of a neural seat (its settings are the dataset's)
BANDS = {"light": (1, 2, 3, 4), "full": tuple(range(1, 11))}
LEVELS = tuple(range(1, 11))
MCTS_LEVELS = (5, 6, 7, 8, 9, 10)
# A level's play version: bumped when its games change (so a dataset's bytes
# do). Version 2: MCTS tree reuse. A dataset that can seat a level above
# version 1 records the highest in its game settings (players_version), so
# its parts from older players are replayed, never mixed with new ones.
LEVEL_VERSION = {lv: 2 if lv in MCTS_LEVELS else 1 for lv in LEVELS}

# level -> (kind, iparams by slot, fparams by slot); tree memory for MCTS is
# bounded by I_MAX_NODES (about 140 bytes a node)
_LADDER = {
    1: (P.K_RANDOM, {}, {}),
    2: (P.K_HEURISTIC, {}, {P.F_RANDOMNESS: 0.1, P.F_NOISE: 0.1}),
    3: (
        P.K_MINIMAX,
        {P.I_DEPTH: 2, P.I_NODES: 80, P.I_BEAM: 4},
        {P.F_RANDOMNESS: 0.05, P.F_NOISE: 0.05},
    ),
    4: (P.K_MINIMAX, {P.I_DEPTH: 2, P.I_NODES: 250, P.I_BEAM: 8}, {P.F_RANDOMNESS: 0.02}),
}
_MCTS_VISITS = {5: 64, 6: 128, 7: 256, 8: 512, 9: 1024, 10: 2048}
for _lv, _v in _MCTS_VISITS.items():
    _LADDER[_lv] = (
        P.K_MCTS,
        {
            P.I_VISITS: _v,
            P.I_ROLLOUT_LEN: 0,
            P.I_ROLLOUT_KIND: P.ROLLOUT_RANDOM,
            P.I_PRIORS: 1,
            P.I_MAX_NODES: min(1 << 19, 160 * _v + 8192),
            P.I_TEMP_STEPS: 8,
            P.I_REUSE: 1,
        },
        {
            P.F_CPUCT: 1.5,
            P.F_PRIOR_TEMP: 8.0,
            P.F_VALUE_SCALE: 30.0,
            P.F_NOISE: 0.05,
            P.F_TEMPERATURE: 1.0,
            P.F_WIDEN: 0.5,
        },
    )


def check_mode_and_band(mode: str, band: str) -> None:
    """Raise ValueError (one line, listing the valid values) for an unknown
    engine mode or difficulty band."""
    if mode not in ENGINE_MODES:
        raise ValueError(
            f"unknown engine mode {mode!r}; valid engine modes: {', '.join(ENGINE_MODES)}"
        )
    if band not in BANDS:
        raise ValueError(
            f"unknown difficulty band {band!r}; valid difficulty bands: {', '.join(BANDS)}"
        )


def seatable_levels(engine_mode: str, band: str) -> tuple[int, ...]:
    """The ladder levels seat_levels can draw for a mode and band (none for
    neural seats, whose play is the model's)."""
    check_mode_and_band(engine_mode, band)
    if engine_mode == "random":
        return (1,)
    if engine_mode == "heuristic":
        return (2,)
    if engine_mode == NEURAL_MODE:
        return ()
    if engine_mode == "mcts":
        return tuple(lv for lv in BANDS[band] if lv in MCTS_LEVELS) or (MCTS_LEVELS[0],)
    return BANDS[band]


def players_version(engine_mode: str, band: str) -> int:
    """The highest play version (LEVEL_VERSION) of the levels a mode and band
    can seat (1 when none)."""
    return max((LEVEL_VERSION[lv] for lv in seatable_levels(engine_mode, band)), default=1)


def check_level(level: int) -> None:
    if level not in _LADDER:
        raise ValueError(f"unknown ladder level {level!r}; valid levels: 1-10")


def seat_levels(
    engine_mode: str, band: str, num_players: int, rng: np.random.Generator
) -> list[int]:
    """The ladder level of each seat (seat 1 first) for one game."""
    check_mode_and_band(engine_mode, band)
    levels = BANDS[band]
    if engine_mode == "random":
        return [1] * num_players
    if engine_mode == "heuristic":
        return [2] * num_players
    if engine_mode == NEURAL_MODE:
        return [NEURAL_LEVEL] * num_players
    if engine_mode == "mcts":
        pool = seatable_levels(engine_mode, band)
        return [int(pool[rng.integers(len(pool))]) for _ in range(num_players)]
    if engine_mode == "diverse":
        out: list[int] = []
        while len(out) < num_players:
            take = min(len(levels), num_players - len(out))
            out += [int(x) for x in rng.choice(levels, size=take, replace=False)]
        return out
    return [int(levels[rng.integers(len(levels))]) for _ in range(num_players)]


def parse_profile(text: str, name: str, board_type: str | None = None) -> tuple[float, ...]:
    """Weights (WEIGHT_NAMES order) of a profile's JSON text; ValueError (one
    line, naming the profile) when it is malformed or for another board."""
    try:
        doc = json.loads(text)
        data = doc["weights"]
        if not isinstance(data, dict):
            raise TypeError("'weights' is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"heuristic profile {name}: not a weight profile ({exc})") from None
    missing = [n for n in P.WEIGHT_NAMES if n not in data]
    unknown = [n for n in data if n not in P.WEIGHT_NAMES]
    if missing or unknown:
        raise ValueError(
            f"heuristic profile {name}: missing weights {missing}, unknown weights {unknown}"
        )
    bad = [
        n
        for n in P.WEIGHT_NAMES
        if not isinstance(data[n], (int, float))
        or isinstance(data[n], bool)
        or not np.isfinite(data[n])
    ]
    if bad:
        raise ValueError(f"heuristic profile {name}: weights {bad} are not finite numbers")
    own = doc.get("board_type")
    if board_type is not None and own is not None and own != board_type:
        raise ValueError(f"heuristic profile {name} is for board {own!r}, not {board_type!r}")
    return tuple(float(data[n]) for n in P.WEIGHT_NAMES)


@lru_cache(maxsize=None)
def profile_weights(board_type: str) -> tuple[float, ...]:
    """Heuristic weights of the board's shipped profile, in WEIGHT_NAMES order."""
    check_board_type(board_type)
    text = resources.files(__package__).joinpath("profiles", f"{board_type}.json").read_text()
    return parse_profile(text, f"{board_type}.json", board_type)


def load_profile(uri: str, board_type: str) -> tuple[float, ...]:
    """Weights of a profile file (local path or s3:// / gs:// URI), e.g. the
    output of a tuning run; errors are one line naming the file."""
    import fsspec

    from ..storage import redact_text, redact_uri

    name = redact_uri(uri)  # errors may be logged: no credentials or signed query
    try:
        with fsspec.open(uri, "r") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ValueError(f"no such heuristic profile: {name}") from None
    except (OSError, ValueError, ImportError) as exc:
        raise ValueError(f"cannot read heuristic profile {name}: {redact_text(str(exc))}") from None
    return parse_profile(text, name, board_type)


def weights_digest(weights) -> str:
    """Short digest of a weight vector (exact float64 bytes): what a dataset's
    settings and a part's provenance record of a heuristic profile."""
    import hashlib

    raw = np.asarray(weights, dtype=np.float64).tobytes()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def player_params(level: int, board_type: str, weights=None):
    """(kind, iparams int64, fparams float64, weights float64) for a level;
    ``weights`` overrides the board's shipped heuristic profile."""
    check_level(level)
    kind, ip, fp = _LADDER[level]
    iparams = np.zeros(P.NI, dtype=np.int64)
    fparams = np.zeros(P.NF, dtype=np.float64)
    for slot, v in ip.items():
        iparams[slot] = v
    for slot, v in fp.items():
        fparams[slot] = v
    if weights is None:
        weights = profile_weights(board_type)
    weights = np.array(weights, dtype=np.float64)
    return kind, iparams, fparams, weights


def describe_level(level: int) -> str:
    check_level(level)
    kind, ip, fp = _LADDER[level]
    name = P.KIND_NAMES[kind]
    if kind == P.K_MINIMAX:
        return f"{name} depth {ip[P.I_DEPTH]} beam {ip[P.I_BEAM]} nodes {ip[P.I_NODES]}"
    if kind == P.K_MCTS:
        return f"{name} {ip[P.I_VISITS]} visits"
    return name


__all__ = [
    "BANDS",
    "ENGINE_MODES",
    "LEVELS",
    "MCTS_LEVELS",
    "NEURAL_LEVEL",
    "NEURAL_MODE",
    "check_mode_and_band",
    "describe_level",
    "load_profile",
    "parse_profile",
    "player_params",
    "players_version",
    "profile_weights",
    "seat_levels",
    "seatable_levels",
]
