"""A tuning run's settings and the names of its files."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..engine.geometry import check_board_type
from ..players.ladder import check_level

# level 2 (one-ply greedy with 10% random moves and weight noise) plays a game
# in a few ms and depends on nothing but the weights: the cheapest honest fitness
DEFAULTS = dict(level=2, population=12, generations=10, iterations=1,
                games_per_candidate=100, sigma=0.3, promote_threshold=0.55,
                confirm_games=400, validation_games=1000, max_moves=10_000,
                start_profile="")


@dataclass(frozen=True)
class Settings:
    board_type: str
    num_players: int
    seed: int
    level: int
    population: int
    generations: int          # per iteration
    iterations: int
    games_per_candidate: int
    sigma: float
    promote_threshold: float
    confirm_games: int
    validation_games: int
    max_moves: int
    start_profile: str        # "" = the board's shipped profile

    @property
    def total_generations(self) -> int:
        return self.generations * self.iterations

    def to_dict(self) -> dict:
        return asdict(self)


def make_settings(d: dict) -> Settings:
    """Settings from a dict (config entry); ValueError, one line, naming the
    first bad or unknown key."""
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown tuning setting {unknown[0]!r}; valid: {', '.join(sorted(known))}")
    merged = {**DEFAULTS, **d}
    missing = sorted(known - set(merged))
    if missing:
        raise ValueError(f"tuning setting {missing[0]!r} is required")
    check_board_type(merged["board_type"])
    check_level(merged["level"])
    if merged["level"] < 2:
        raise ValueError("tuning level must be 2-10: level 1 (random) ignores the weights")
    limits = {"num_players": (2, 4), "seed": (0, None), "population": (2, None),
              "generations": (1, None), "iterations": (1, None),
              "games_per_candidate": (1, None), "confirm_games": (0, None),
              "validation_games": (1, None), "max_moves": (1, None)}
    for key, (lo, hi) in limits.items():
        v = merged[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < lo or (hi is not None and v > hi):
            rng = f"{lo}-{hi}" if hi is not None else f">= {lo}"
            raise ValueError(f"tuning setting {key} must be an integer {rng}, got {v!r}")
    if not 0 < float(merged["sigma"]) <= 10:
        raise ValueError(f"tuning setting sigma must be in (0, 10], got {merged['sigma']!r}")
    if not 0 <= float(merged["promote_threshold"]) <= 1:
        raise ValueError("tuning setting promote_threshold must be in [0, 1], "
                         f"got {merged['promote_threshold']!r}")
    merged["sigma"] = float(merged["sigma"])
    merged["promote_threshold"] = float(merged["promote_threshold"])
    merged["start_profile"] = str(merged["start_profile"] or "")
    return Settings(**merged)


def iteration_of(s: Settings, gen: int) -> int:
    return gen // s.generations


def iteration_gens(s: Settings, it: int) -> range:
    return range(it * s.generations, (it + 1) * s.generations)


# file names relative to the run folder
def settings_file() -> str:
    return "settings.json"


def baseline_file(it: int) -> str:
    return f"iter_{it:02d}/baseline.json"


def candidates_file(gen: int) -> str:
    return f"gen_{gen:03d}/candidates.json"


def cand_file(gen: int, i: int) -> str:
    return f"gen_{gen:03d}/cand_{i:03d}.json"


def eval_file(gen: int, i: int) -> str:
    return f"gen_{gen:03d}/eval_{i:03d}.json"


def result_file(gen: int) -> str:
    return f"gen_{gen:03d}/result.json"


# seed streams: the search itself, evaluation games of a generation, promotion
# checks of an iteration, the final validation; disjoint, so no two share games
SEARCH, EVAL, CONFIRM, VALIDATE = 0, 1, 2, 3


def stream_seed(seed: int, purpose: int, index: int) -> int:
    ss = np.random.SeedSequence([int(seed), int(purpose), int(index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)
