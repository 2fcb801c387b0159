"""Game seeds: which game a dataset's game index plays.

A game is a function of its seed (Numba's ``np.random.seed`` takes 32 bits;
seeds stay in version 1's range, below 2^31). Version 1 drew each game's
seed at random from (dataset seed, game index), so some pairs of a
dataset's games shared a seed and were the same game: ~n^2/2^32 pairs for n
games (100k games: ~2, and a 100k-game part had 3; 1M: ~230), and the
aggregate refused the dataset for its duplicate games. Version 2 maps the
game index through a bijection of [0, 2^31) keyed by the dataset seed:
every game index (int32) of a dataset has its own seed, and another dataset
seed gives other keys, so other seeds.

GAME_SEEDS is recorded in every part's settings, and the workflow passes it
to self-play, so a change replays older parts rather than mixing them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

GAME_SEEDS = 2
MASK = (1 << 31) - 1


def _mix(x: int) -> int:
    """A bijection of [0, 2^31): xor-shifts and odd multiplications mod 2^31
    (each invertible), mixing every bit into every other."""
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & MASK
    x ^= x >> 12
    x = (x * 0x297A2D39) & MASK
    x ^= x >> 15
    return x


@lru_cache(maxsize=64)
def dataset_keys(seed: int) -> tuple[int, int]:
    """The two 31-bit keys of a dataset seed's map."""
    k = np.random.SeedSequence([int(seed)]).generate_state(2, dtype=np.uint32)
    return int(k[0]) & MASK, int(k[1]) & MASK


def game_seed(seed: int, game_index: int) -> int:
    """The seed of game ``game_index`` (0 <= index < 2^31) of the dataset
    seeded ``seed``: distinct for distinct indices of one dataset."""
    if not 0 <= game_index <= MASK:
        raise ValueError(f"game index {game_index} outside 0..2^31-1")
    a, b = dataset_keys(seed)
    return _mix(_mix((game_index + a) & MASK) ^ b)
