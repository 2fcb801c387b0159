"""Uniformly random play inside Numba (benchmarks, smoke runs)."""

import numpy as np
from numba import njit

from .layout import MF, MOVE_COUNT, ST_ACTIVE, STATUS
from .rules import MAX_MOVES_BUFFER, apply_in_place, legal_moves_into


@njit(cache=True)
def play_random_games(geo, s0, n_games, seed, max_moves):
    """Play n_games from s0 choosing uniformly among the full legal list at
    every step. Returns (total steps, games that hit max_moves)."""
    np.random.seed(seed)
    out = np.empty((MAX_MOVES_BUFFER, MF), dtype=np.int32)
    steps = 0
    capped = 0
    for _ in range(n_games):
        s = s0.copy()
        while s[STATUS] == ST_ACTIVE:
            if s[MOVE_COUNT] >= max_moves:
                capped += 1
                break
            k = legal_moves_into(geo, s, out)
            apply_in_place(geo, s, out[np.random.randint(k)])
            steps += 1
    return steps, capped
