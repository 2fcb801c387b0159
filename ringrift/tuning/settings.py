"""A tuning run's settings and the names of its files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from importlib import resources

import numpy as np

from ..engine.geometry import check_board_type
from ..players.ladder import check_level
from .files import (  # noqa: F401 - the run's file names, used as S.*_file
    baseline_file,
    cand_file,
    candidates_file,
    eval_file,
    result_file,
    settings_file,
)


# Defaults and limits live in the workflow's config schema (tuning entries), the
# one place they are written; the package ships it as ringrift/config.schema.yaml
# (a link to workflow/schemas/config.schema.yaml). The default level 2 (one-ply
# greedy with 10% random moves and weight noise) plays a game in a few ms and
# depends on nothing but the weights: the cheapest honest fitness.
@lru_cache(maxsize=1)
def schema() -> dict:
    """The schema of one tuning run's settings: {key: {type, default, minimum, ...}}."""
    import yaml

    doc = yaml.safe_load(resources.files("ringrift").joinpath("config.schema.yaml").read_text())
    return doc["properties"]["tuning"]["additionalProperties"]["properties"]


def defaults() -> dict:
    return {k: v["default"] for k, v in schema().items() if "default" in v}


@dataclass(frozen=True)
class Settings:
    board_type: str
    num_players: int
    seed: int
    level: int
    population: int
    generations: int  # per iteration
    iterations: int
    games_per_candidate: int
    sigma: float
    promote_threshold: float
    confirm_games: int
    validation_games: int
    max_moves: int
    start_profile: str  # "" = the board's shipped profile

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
        raise ValueError(
            f"unknown tuning setting {unknown[0]!r}; valid: {', '.join(sorted(known))}"
        )
    merged = {**defaults(), **d}
    missing = sorted(known - set(merged))
    if missing:
        raise ValueError(f"tuning setting {missing[0]!r} is required")
    check_board_type(merged["board_type"])
    check_level(merged["level"])
    if merged["level"] < 2:
        raise ValueError("tuning level must be 2-10: level 1 (random) ignores the weights")
    for key, rule in schema().items():
        _check(key, merged[key], rule)
    merged["sigma"] = float(merged["sigma"])
    merged["promote_threshold"] = float(merged["promote_threshold"])
    merged["start_profile"] = str(merged["start_profile"] or "")
    return Settings(**merged)


def _check(key, v, rule: dict) -> None:
    """v against the schema's type and bounds for key (one line if not)."""
    lo, hi = rule.get("minimum", rule.get("exclusiveMinimum")), rule.get("maximum")
    if rule.get("type") == "integer":
        if (
            not isinstance(v, int)
            or isinstance(v, bool)
            or (lo is not None and v < lo)
            or (hi is not None and v > hi)
        ):
            rng = f"{lo}-{hi}" if hi is not None else f">= {lo}"
            raise ValueError(f"tuning setting {key} must be an integer {rng}, got {v!r}")
    elif rule.get("type") == "number":
        low_ok = float(v) > lo if "exclusiveMinimum" in rule else float(v) >= lo
        if not (low_ok and float(v) <= hi):
            rng = f"{'(' if 'exclusiveMinimum' in rule else '['}{lo:g}, {hi:g}]"
            raise ValueError(f"tuning setting {key} must be in {rng}, got {v!r}")


def iteration_of(s: Settings, gen: int) -> int:
    return gen // s.generations


def iteration_gens(s: Settings, it: int) -> range:
    return range(it * s.generations, (it + 1) * s.generations)


# seed streams: the search itself, evaluation games of a generation, promotion
# checks of an iteration, the final validation; disjoint, so no two share games
SEARCH, EVAL, CONFIRM, VALIDATE = 0, 1, 2, 3


def stream_seed(seed: int, purpose: int, index: int) -> int:
    ss = np.random.SeedSequence([int(seed), int(purpose), int(index)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)
