"""Training tensors: the reference trainer's NPZ, bit-exact, from our games.

encode.py  feature planes / globals (Numba, from the engine state)
policy.py  move -> policy index (Numba)
game.py    replay + sampling + history frames (Numba, chunked)
core.py    one game -> the reference's sample arrays, values
export.py  Parquet parts/aggregates -> NPZ file or shards (streaming)
"""

from .core import EncodeConfig, GameEncoder, GameSpec, game_arrays

__all__ = ["EncodeConfig", "GameEncoder", "GameSpec", "game_arrays", "spec_from_trace"]


def spec_from_trace(rec: dict, game_id: str) -> GameSpec:
    """A reference trace record (shared/conformance/traces) -> GameSpec, by
    matching each step's chosen canonical key in our legal list."""
    import numpy as np

    from ..engine.api import Rules
    from ..engine.rules import apply_move

    rules = Rules(
        rec["board_type"],
        int(rec["num_players"]),
        swap_rule=bool(rec.get("swap_rule_enabled", False)),
    )
    s = rules.new_game()
    choices = []
    for step in rec["steps"]:
        moves = rules.legal(s)
        keys = [rules.key(s, m) for m in moves]
        i = keys.index(step["chosen"])
        choices.append(i)
        s = apply_move(rules.geo, s, moves[i])
    return GameSpec(
        game_id,
        rec["board_type"],
        int(rec["num_players"]),
        np.array(choices, dtype=np.int32),
        swap_rule=bool(rec.get("swap_rule_enabled", False)),
    )
